import Foundation
import Testing
import TidemarkCore
import TidemarkHosts
import TidemarkTestSupport

/// DpkgDatabase against the real thing: .debs built by dpkg-deb, installed, upgraded,
/// downgraded, removed and purged by the real dpkg in a root, with `dpkg-query -W` as the oracle
/// after every step.
@Suite struct DpkgDatabaseTests {
    /// Asserts DpkgDatabase lists exactly what dpkg-query lists (as a set: dpkg-query sorts by
    /// name, the reader keeps file order) and returns it.
    @discardableResult
    static func expectMatchesDpkgQuery(_ root: DpkgRoot, _ step: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [InstalledPackage] {
        let records = try root.dpkgQuery()
        let oracle = records.compactMap(\.installedPackage)
        #expect(oracle.count == records.count, "\(step): dpkg-query printed a version DebianVersion cannot parse", sourceLocation: sourceLocation)
        let native = try DpkgDatabase.read(root: root.path)
        #expect(native.count == oracle.count, "\(step): count", sourceLocation: sourceLocation)
        #expect(Set(native) == Set(oracle), "\(step): DpkgDatabase differs from dpkg-query", sourceLocation: sourceLocation)
        if !native.isEmpty {
            let inv = try HostCollector.collect(root: root.path)
            #expect(inv.format == .deb, sourceLocation: sourceLocation)
            #expect(Set(inv.packages) == Set(native), sourceLocation: sourceLocation)
        }
        return native
    }

    static func find(_ pkgs: [InstalledPackage], _ name: String, arch: String? = nil) -> Package? {
        pkgs.first { $0.package.name == name && (arch == nil || $0.package.arch == arch) }?.package
    }

    @Test func followsDpkgInstallUpgradeDowngradeRemovePurge() throws {
        let tmp = try TemporaryDirectory("dpkg-steps")
        defer { tmp.remove() }
        let b = try DebBuilder(directory: tmp.path("debs"))
        let conf = PackageFile("/etc/foo.conf", contents: "x=1\n", isConfig: true)
        let foo1 = try b.build(DebSpec(package: "foo", version: "1.0-1", architecture: "amd64", source: "foosrc (1.0-0)", files: [conf, PackageFile("/usr/share/foo/1")]))
        let foo2 = try b.build(DebSpec(package: "foo", version: "1:2.0~rc1-3", architecture: "amd64", source: "foosrc", files: [conf, PackageFile("/usr/share/foo/2")]))
        let bar = try b.build(DebSpec(package: "bar", version: "20240101", description: "bar\nlonger text\n\nafter an empty line", multiArch: "foreign"))
        let baz = try b.build(DebSpec(package: "baz", version: "0.1+dfsg-2", architecture: "i386", depends: ["bar"]))
        let multi64 = try b.build(DebSpec(package: "libmulti", version: "5-1", architecture: "amd64", multiArch: "same", files: [PackageFile("/usr/share/doc/libmulti/same")]))
        let multi32 = try b.build(DebSpec(package: "libmulti", version: "5-1", architecture: "i386", multiArch: "same", files: [PackageFile("/usr/share/doc/libmulti/same")]))

        let root = try DpkgRoot(path: tmp.path("root"))
        var p = try Self.expectMatchesDpkgQuery(root, "empty")
        #expect(p.isEmpty)

        try root.addArchitecture("i386")
        try root.install([foo1, bar])
        try root.install([baz, multi64, multi32])
        p = try Self.expectMatchesDpkgQuery(root, "install")
        #expect(p.count == 5)
        let f1 = try #require(Self.find(p, "foo"))
        #expect(f1.evr == EVR(epoch: 0, version: "1.0", release: "1"))
        #expect(f1.source == "foosrc (1.0-0)")
        #expect(f1.status == "install ok installed")
        #expect(f1.format == .deb && f1.digest == nil)
        #expect(Self.find(p, "bar")?.evr == EVR(version: "20240101", release: ""))
        #expect(Self.find(p, "bar")?.source == nil)
        #expect(Self.find(p, "baz")?.arch == "i386")
        #expect(Set(p.filter { $0.package.name == "libmulti" }.map(\.package.arch)) == ["amd64", "i386"])

        try root.install([foo2])
        p = try Self.expectMatchesDpkgQuery(root, "upgrade")
        #expect(Self.find(p, "foo")?.evr == EVR(epoch: 1, version: "2.0~rc1", release: "3"))
        #expect(Self.find(p, "foo")?.source == "foosrc")

        // a downgrade across an epoch: dpkg only warns
        try root.install([foo1])
        p = try Self.expectMatchesDpkgQuery(root, "downgrade")
        #expect(Self.find(p, "foo") == f1)

        // remove keeps the conffile: the package stays listed as config-files
        try root.remove(["foo", "libmulti:i386"])
        p = try Self.expectMatchesDpkgQuery(root, "remove")
        #expect(Self.find(p, "foo")?.status == "deinstall ok config-files")
        #expect(Self.find(p, "libmulti", arch: "i386") == nil)

        try root.purge(["foo"])
        p = try Self.expectMatchesDpkgQuery(root, "purge")
        #expect(Self.find(p, "foo") == nil)

        // a selected but not installed package ("install ok not-installed") is not listed
        try root.dpkg(["--record-avail", foo2])
        try Subprocess.check("dpkg", ["--root=\(root.path)", "--set-selections"], input: Data("foo install\n".utf8))
        let status = String(decoding: try FileSystem.read(root.statusFile), as: UTF8.self)
        #expect(status.contains("Status: install ok not-installed"))
        p = try Self.expectMatchesDpkgQuery(root, "selected, not installed")
        #expect(Self.find(p, "foo") == nil)
        #expect(p.count == 3)

        // dpkg logged into the root, not into this machine's log
        let log = String(decoding: try FileSystem.read(root.logFile), as: UTF8.self)
        #expect(log.contains(" upgrade foo:amd64 1.0-1 1:2.0~rc1-3"))
    }

    /// This machine's own status file is a large real one (hundreds of packages written by
    /// apt and dpkg over time): the reader must agree with dpkg-query on it too.
    @Test func readsThisMachinesStatusFileLikeDpkgQuery() throws {
        let oracle = try DpkgRoot.dpkgQuery(adminDir: "/var/lib/dpkg")
        let native = try DpkgDatabase.read(root: "/")
        #expect(native.count > 50)
        #expect(Set(native) == Set(oracle.compactMap { (r: DpkgQueryRecord) in r.installedPackage }))
        #expect(native.count == oracle.count)
    }

    static func parseError(_ text: String) -> TidemarkError? {
        caughtError { _ = try DpkgDatabase.parse(Array(text.utf8), file: "/x/status") }
    }

    @Test func malformedStatusFilesAreErrorsWithLineNumbers() throws {
        let good = "Package: a\nStatus: install ok installed\nVersion: 1.0\nArchitecture: all\nDescription: x\n more\n .\n"
        #expect(try DpkgDatabase.parse(Array((good + "\n\n" + good.replacingOccurrences(of: "Package: a", with: "Package: b")).utf8), file: "f").count == 2)
        // field names are case-insensitive, blank lines around stanzas do not matter
        #expect(try DpkgDatabase.parse(Array(("\n\npackage: a\nSTATUS: install ok installed\nversion: 1\n\n\n").utf8), file: "f").count == 1)

        let cases: [(String, String)] = [
            (" continuation first\n", "/x/status:1: continuation line outside of a field"),
            (good + "\nPackage: b\nno colon here\n", "/x/status:10: line is neither"),
            (good + "\nPackage: b\nStatus: install ok installed\nStatus: install ok installed\n", "/x/status:11: duplicate field 'Status'"),
            ("Status: install ok installed\nVersion: 1\n", "/x/status:1: stanza has no Package field"),
            ("Package: a\nVersion: 1\n", "/x/status:1: package 'a' has no Status field"),
            ("Package: a\nStatus: install ok sleeping\nVersion: 1\n", "/x/status:2: package 'a' has invalid Status 'install ok sleeping'"),
            ("Package: a\nStatus: install ok\nVersion: 1\n", "/x/status:2: package 'a' has invalid Status"),
            ("Package: a\nStatus: install ok installed\nVersion: 1:\n", "/x/status:3: package 'a' has invalid Version '1:'"),
            ("Package: a\nStatus: install ok installed\n", "/x/status:1: package 'a' (installed) has no Version field"),
            ("Package: a\nStatus: install ok installed\nVersion: 1\nArchitecture:\n", "/x/status:4: empty Architecture field"),
            (": value\n", "/x/status:1: invalid field name"),
        ]
        for (text, want) in cases {
            let e = Self.parseError(text)
            #expect(e?.code == .corrupt, "\(want)")
            #expect(e?.message.hasPrefix(want) == true, "got: \(e?.message ?? "no error"), want: \(want)")
        }
        // a not-installed stanza needs no version and is not listed
        #expect(try DpkgDatabase.parse(Array("Package: gone\nStatus: purge ok not-installed\n".utf8), file: "f").isEmpty)

        // the error names the real file
        let tmp = try TemporaryDirectory("dpkg-bad")
        defer { tmp.remove() }
        let root = try DpkgRoot(path: tmp.path("root"))
        try FileSystem.write("Package: a\nStatus: bogus\n", to: root.statusFile)
        let e = caughtError { _ = try DpkgDatabase.read(root: root.path) }
        #expect(e?.message.hasPrefix(root.statusFile + ":2:") == true)
        let e2 = caughtError { _ = try HostCollector.collect(root: root.path) }
        #expect(e2?.message.hasPrefix(root.statusFile + ":2:") == true)
    }

    /// Both databases in one root: the one with more packages wins, rpm on a tie.
    @Test func collectorPrefersTheDatabaseWithMorePackages() throws {
        let tmp = try TemporaryDirectory("collect-both")
        defer { tmp.remove() }
        let rootPath = tmp.path("root")
        let rpmRoot = try RPMRoot(path: rootPath)
        let dpkgRoot = try DpkgRoot(path: rootPath)
        // empty rpm db + empty dpkg db: rpm (tie)
        #expect(try HostCollector.collect(root: rootPath).format == .rpm)
        let debs = try DebBuilder(directory: tmp.path("debs"))
        try dpkgRoot.install([try debs.build(DebSpec(package: "only-deb", version: "1"))])
        #expect(try HostCollector.collect(root: rootPath).format == .deb)
        let rpms = try RPMBuilder(directory: tmp.path("rpms")).buildMany(prefix: "r", count: 2)
        try rpmRoot.rpmInstall(rpms)
        let inv = try HostCollector.collect(root: rootPath)
        #expect(inv.format == .rpm)
        #expect(inv.packages == (try rpmRoot.rpmQA()))
    }
}
