import Foundation
import Testing
import TidemarkCore
import TidemarkHosts
import TidemarkTestSupport

@Suite struct RPMQAListTests {
    @Test func parsesWorkerPackagesList() throws {
        let text = """
            perl-Mojo-IOLoop-ReadWriteProcess-0.340.0-1.1.noarch
            glibc-2.38-9.1.x86_64
            kernel-default-6.7.4-1.1.x86_64

            kernel-default-6.7.5-1.1.x86_64
            gpg-pubkey-29b700a4-62b07e22
            libfoo-1:2.0-lp155.3.2.i586\r
            """
        let pkgs = try RPMQAList.parse(text, file: "worker_packages.txt")
        #expect(pkgs.count == 6)
        #expect(pkgs[0].package.name == "perl-Mojo-IOLoop-ReadWriteProcess")
        #expect(pkgs[0].package.evr == EVR(version: "0.340.0", release: "1.1") && pkgs[0].package.arch == "noarch")
        #expect(pkgs[4].package.name == "gpg-pubkey" && pkgs[4].package.arch == "" && pkgs[4].package.evr.release == "62b07e22")
        #expect(pkgs[5].package.evr == EVR(epoch: 1, version: "2.0", release: "lp155.3.2") && pkgs[5].package.arch == "i586")
        #expect(pkgs.allSatisfy { $0.package.format == .rpm && $0.package.digest == nil && $0.installTime == nil })
    }

    @Test func aBadLineFailsTheWholeImportNamingFileAndLine() {
        do {
            _ = try RPMQAList.parse("glibc-2.38-9.1.x86_64\n\nnot a package\n", file: "list.txt")
            Issue.record("accepted a bad line")
        } catch {
            #expect(error.code == .invalidInput)
            #expect(error.message.hasPrefix("list.txt:3: 'not a package'"))
        }
        #expect(throws: TidemarkError.self) { try RPMQAList.parse("justaname\n", file: "l") }
    }

    @Test func agreesWithRealRpmQA() throws {
        // A real rpm database: `rpm -qa` output read back must be the installed NEVRAs.
        let tmp = try TemporaryDirectory("rpmqa")
        defer { tmp.remove() }
        let builder = try RPMBuilder(directory: tmp.path("build"))
        var files: [String] = []
        files += try builder.build(RPMSpec(name: "alpha", version: "1.0", release: "3.1"))
        files += try builder.build(RPMSpec(name: "beta-tools", epoch: 2, version: "0.9~rc1", release: "1", arch: "x86_64"))
        let root = try RPMRoot(path: tmp.path("root"))
        try root.rpmInstall(files, nodeps: true)
        let qa = try root.rpmQuery("%{NAME}-%{EPOCH}:%{VERSION}-%{RELEASE}.%{ARCH}\\n")
            .replacingOccurrences(of: "-(none):", with: "-")
        let pkgs = try RPMQAList.parse(qa, file: "rpm -qa")
        let expected = try root.rpmQA().map { "\($0.package.name)|\($0.package.evr)|\($0.package.arch)" }
        #expect(Set(pkgs.map { "\($0.package.name)|\($0.package.evr)|\($0.package.arch)" }) == Set(expected))
        #expect(pkgs.contains { $0.package.evr.epoch == 2 && $0.package.evr.version == "0.9~rc1" })
    }
}

@Suite struct SaltPackagesTests {
    @Test func plainFormOneDocumentPerMinion() throws {
        // What `salt --out=json '*' pkg.list_pkgs` prints for two minions: two objects.
        let text = """
            {
                "worker1": {
                    "perl-Mojo-IOLoop-ReadWriteProcess": "0.340.0-1.1",
                    "kernel-default": "6.7.4-1.1,6.7.5-1.1",
                    "gpg-pubkey": "29b700a4-62b07e22"
                }
            }
            {
                "worker2": "Minion did not return. [No response]"
            }
            {"worker3": {"openQA-worker": "1:4.6-2"}}
            """
        let r = try SaltPackages.parse(text, file: "salt.json")
        #expect(r.minions.map(\.minion) == ["worker1", "worker3"])
        let w1 = r.minions[0].packages
        #expect(w1.count == 4)
        #expect(w1.filter { $0.package.name == "kernel-default" }.map(\.package.evr.version).sorted() == ["6.7.4", "6.7.5"])
        #expect(w1.allSatisfy { $0.package.arch == "" && $0.package.format == .rpm })
        #expect(r.minions[1].packages[0].package.evr == EVR(epoch: 1, version: "4.6", release: "2"))
        #expect(r.issues.count == 1)
        #expect(r.issues[0].minion == "worker2" && r.issues[0].message.contains("Minion did not return"))
    }

    @Test func versionsAsListAndAttrFormsWithStatic() throws {
        // --static: one object with every minion.
        let text = """
            {"a": {"vim": ["9.0-1.1", "9.1-1.1"]},
             "b": {"glibc": [{"version": "2.38", "release": "9.1", "arch": "x86_64", "epoch": null,
                              "install_date_time_t": 1706000000}],
                   "glibc-32bit.i586": [{"version": "2.38", "release": "9.1", "arch": "i586", "epoch": "1"}],
                   "kernel-default": [{"version": "6.7.4", "release": "1.1", "arch": "x86_64"},
                                      {"version": "6.7.5", "release": "1.1", "arch": "x86_64"}]},
             "c": {"bad": [{"release": "1"}], "good": "1-1"}}
            """
        let r = try SaltPackages.parse(text, file: "static.json")
        #expect(r.minions.map(\.minion) == ["a", "b"])
        #expect(r.minions[0].packages.map(\.package.evr.version) == ["9.0", "9.1"])
        let b = r.minions[1].packages
        let glibc = b.first { $0.package.name == "glibc" }!
        #expect(glibc.package.arch == "x86_64" && glibc.package.evr == EVR(version: "2.38", release: "9.1") && glibc.installTime == 1706000000)
        let g32 = b.first { $0.package.arch == "i586" }!
        #expect(g32.package.name == "glibc-32bit" && g32.package.evr.epoch == 1)
        #expect(b.filter { $0.package.name == "kernel-default" }.count == 2)
        // Minion c has one unreadable package: skipped whole, nothing partial stored.
        #expect(r.issues.map(\.minion) == ["c"])
        #expect(r.issues[0].message.contains("bad"))
    }

    @Test func debianMinions() throws {
        let text = #"{"deb1": {"libc6": "2.36-9+deb12u4", "libc6:i386": "2.36-9+deb12u4", "tzdata": "2024a-0+deb12u1", "x": "1:2.0~rc1"}}"#
        let r = try SaltPackages.parse(text, file: "deb.json", format: .deb)
        let p = r.minions[0].packages
        #expect(p.count == 4 && p.allSatisfy { $0.package.format == .deb })
        #expect(p.contains { $0.package.name == "libc6" && $0.package.arch == "i386" })
        #expect(p.first { $0.package.name == "x" }?.package.evr == EVR(epoch: 1, version: "2.0~rc1", release: ""))
        let bad = try SaltPackages.parse(#"{"deb2": {"a": "1:"}}"#, file: "deb.json", format: .deb)
        #expect(bad.minions.isEmpty && bad.issues.count == 1)
    }

    @Test func notSaltJSONIsAnError() {
        #expect(throws: TidemarkError.self) { try SaltPackages.parse("worker1:\n    ----------\n", file: "x") }
        #expect(throws: TidemarkError.self) { try SaltPackages.parse("{\"a\": {\"b\": \"1-1\"}", file: "x") }
        #expect(throws: TidemarkError.self) { try SaltPackages.parse("[1, 2]", file: "x") }
        #expect(throws: TidemarkError.self) { try SaltPackages.parse("  \n", file: "x") }
        do {
            _ = try SaltPackages.parse("{}\nnoise\n", file: "out.json")
        } catch {
            #expect(error.message.hasPrefix("out.json:2: "))
        }
    }
}
