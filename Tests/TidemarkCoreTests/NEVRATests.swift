import Testing
import TidemarkCore

@Suite struct NEVRATests {
    /// (rpm -qa line, name, epoch, version, release, arch)
    static let good: [(String, String, Int, String, String, String)] = [
        ("perl-Mojo-IOLoop-ReadWriteProcess-0.34-1.1.noarch", "perl-Mojo-IOLoop-ReadWriteProcess", 0, "0.34", "1.1", "noarch"),
        ("libstdc++6-devel-gcc13-13.3.0+git8781-1.1.x86_64", "libstdc++6-devel-gcc13", 0, "13.3.0+git8781", "1.1", "x86_64"),
        ("gpg-pubkey-3dbdc284-53674dd4", "gpg-pubkey", 0, "3dbdc284", "53674dd4", ""),
        ("gpg-pubkey-3dbdc284-53674dd4.(none)", "gpg-pubkey", 0, "3dbdc284", "53674dd4", "(none)"),
        ("python3.11-foo-1.0-1.x86_64", "python3.11-foo", 0, "1.0", "1", "x86_64"),
        ("kernel-default-6.4.0-150600.23.7.3.x86_64", "kernel-default", 0, "6.4.0", "150600.23.7.3", "x86_64"),
        ("glibc-2.38-16.fc39.i686", "glibc", 0, "2.38", "16.fc39", "i686"),
        ("bash-5.2.15-1.1.2", "bash", 0, "5.2.15", "1.1.2", ""),
        ("vim-8.2-1.mga9", "vim", 0, "8.2", "1.mga9", ""),
        ("name-1:2.0-3.x86_64", "name", 1, "2.0", "3", "x86_64"),
        ("shim-15.8-1.aarch64", "shim", 0, "15.8", "1", "aarch64"),
        ("libfoo1-1.0~rc1^git2-0.ppc64le", "libfoo1", 0, "1.0~rc1^git2", "0", "ppc64le"),
        ("foo-1.0-1.src", "foo", 0, "1.0", "1", "src"),
        ("foo-1.0-1.armv7hl", "foo", 0, "1.0", "1", "armv7hl"),
        ("foo-1.0-1.s390x", "foo", 0, "1.0", "1", "s390x"),
        ("foo-1.0-1.riscv64", "foo", 0, "1.0", "1", "riscv64"),
        ("foo-1.0-1.hppa1.1", "foo", 0, "1.0", "1", "hppa1.1"),
        ("  bash-5.2-1.x86_64\n", "bash", 0, "5.2", "1", "x86_64"),
    ]

    @Test func parsesRpmQaLines() throws {
        for (line, name, epoch, version, release, arch) in Self.good {
            let n = try #require(NEVRA.parse(line), "\(line.debugDescription) should parse")
            #expect(n.name == name, "name of \(line)")
            #expect(n.evr == EVR(epoch: epoch, version: version, release: release), "EVR of \(line)")
            #expect(n.arch == arch, "arch of \(line)")
        }
    }

    @Test func roundTripsThroughDescription() throws {
        for (line, _, _, _, _, _) in Self.good {
            let n = try #require(NEVRA.parse(line))
            #expect(NEVRA.parse(n.description) == n, "\(line)")
        }
        #expect(NEVRA.parse("name-1:2.0-3.x86_64")?.description == "name-1:2.0-3.x86_64")
        #expect(NEVRA.parse("gpg-pubkey-3dbdc284-53674dd4")?.description == "gpg-pubkey-3dbdc284-53674dd4")
    }

    @Test func rejectsWhatLacksNameVersionOrRelease() {
        let bad = ["", "bash", "bash-5.2", "bash-5.2.x86_64", "-5.2-1.x86_64", "bash--1.x86_64",
                   "bash-5.2-.x86_64", "name-x:1-1.noarch", "name-:1-1.noarch", "name-1:-1.noarch", ".x86_64",
                   "name-99999999999999999999:1-1.noarch"]
        for s in bad { #expect(NEVRA.parse(s) == nil, "\(s.debugDescription) should not parse") }
    }

    @Test func epochAndOrderComeFromRPM() throws {
        let old = try #require(NEVRA.parse("foo-1.0~rc1-1.x86_64"))
        let new = try #require(NEVRA.parse("foo-1.0-1.x86_64"))
        #expect(EVR.compare(old.evr, new.evr, format: .rpm) == -1)
    }
}
