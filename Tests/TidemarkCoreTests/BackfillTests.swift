import Testing
import TidemarkCore

/// The reconstruction rules of `Backfill`, on hand-made logs (the integration test with real
/// zypper and dpkg is in TidemarkHostsTests).
@Suite struct BackfillTests {
    func evr(_ s: String) -> EVR { RPMVersion.parseEVR(s) }

    func cur(_ name: String, _ v: String, arch: String = "x86_64", digest: String? = nil, format: PackageFormat = .rpm) -> InstalledPackage {
        InstalledPackage(
            Package(format: format, name: name, evr: format == .rpm ? evr(v) : DebianVersion.parse(v)!, arch: arch,
                    digest: digest ?? "sig-\(name)-\(v)", vendor: "Vendor"),
            installTime: 1)
    }

    func inst(_ name: String, _ v: String, arch: String = "x86_64") -> LoggedPackageChange {
        LoggedPackageChange(action: .install, name: name, arch: arch, evr: evr(v))
    }

    func rm(_ name: String, _ v: String, arch: String = "x86_64") -> LoggedPackageChange {
        LoggedPackageChange(action: .remove, name: name, arch: arch, evr: evr(v))
    }

    func t(_ s: Int64, _ changes: LoggedPackageChange...) -> LoggedTransaction {
        LoggedTransaction(at: Timestamp(seconds: s), changes: changes, origin: "history:\(s)")
    }

    /// name-version.arch set of a state.
    func names(_ ps: [InstalledPackage]) -> Set<String> { Set(ps.map(\.package.nevra)) }

    @Test func upgradeDowngradeRemoveWalkBack() {
        // Log: foo 1.0 installed, bar 1 installed; foo up to 2.0; foo down to 1.0; bar removed.
        let log = [
            t(100, inst("foo", "1.0-1"), inst("bar", "1-1")),
            t(200, inst("foo", "2.0-1")),
            t(300, inst("foo", "1.0-1")),
            t(400, rm("bar", "1-1")),
        ]
        let current = [cur("foo", "1.0-1"), cur("base", "5-1")]
        let r = Backfill.reconstruct(format: .rpm, current: current, currentAt: Timestamp(seconds: 500), transactions: log)
        #expect(r.notes.isEmpty)
        #expect(r.states.map(\.at.seconds) == [100, 200, 300, 400])
        #expect(names(r.states[0].packages) == ["base-5-1.x86_64", "foo-1.0-1.x86_64", "bar-1-1.x86_64"])
        #expect(names(r.states[1].packages) == ["base-5-1.x86_64", "foo-2.0-1.x86_64", "bar-1-1.x86_64"])
        #expect(names(r.states[2].packages) == ["base-5-1.x86_64", "foo-1.0-1.x86_64", "bar-1-1.x86_64"])
        #expect(names(r.states[3].packages) == ["base-5-1.x86_64", "foo-1.0-1.x86_64"])

        // Untouched packages keep their identity; foo since its downgrade at 300 is the current
        // binary; before that, versions known only from the log have no digest.
        let base = current[1]
        for s in r.states { #expect(s.packages.contains(base)) }
        #expect(r.states[2].packages.contains(current[0]))
        #expect(r.states[3].packages.contains(current[0]))
        let foo0 = r.states[0].packages.first { $0.package.name == "foo" }!
        #expect(foo0.package.digest == nil && foo0.package.vendor == nil && foo0.installTime == 100)
        let bar = r.states[0].packages.first { $0.package.name == "bar" }!
        #expect(bar.package.digest == nil && bar.package.evr == evr("1-1"))
    }

    @Test func packagesBeforeTheLogAreAssumedPresentAndFirstInstallsAbsent() {
        // "old" was installed before the log began and never mentioned: present throughout.
        // "up" is upgraded in the first record: what it was before is unknowable → absent.
        let log = [t(100, inst("up", "2-1")), t(200, inst("new", "1-1"))]
        let current = [cur("old", "1-1"), cur("up", "2-1"), cur("new", "1-1")]
        let r = Backfill.reconstruct(format: .rpm, current: current, currentAt: Timestamp(seconds: 300), transactions: log)
        #expect(r.notes.isEmpty)
        #expect(names(r.states[0].packages) == ["old-1-1.x86_64", "up-2-1.x86_64"])
        #expect(names(r.states[1].packages) == ["old-1-1.x86_64", "up-2-1.x86_64", "new-1-1.x86_64"])
        #expect(r.states.allSatisfy { $0.packages.contains(current[0]) })
    }

    @Test func multiversionKernelsAreInstalledSideBySide() {
        // Kernel 6.1 before the log, 6.2 and 6.3 installed, then purge-kernels removes 6.1 and 6.2.
        let log = [
            t(100, inst("kernel-default", "6.2-1")),
            t(200, inst("kernel-default", "6.3-1")),
            t(300, rm("kernel-default", "6.1-1"), rm("kernel-default", "6.2-1")),
        ]
        let current = [cur("kernel-default", "6.3-1")]
        let r = Backfill.reconstruct(format: .rpm, current: current, currentAt: Timestamp(seconds: 400), transactions: log)
        #expect(r.notes.isEmpty)
        #expect(names(r.states[2].packages) == ["kernel-default-6.3-1.x86_64"])
        #expect(names(r.states[1].packages) == ["kernel-default-6.1-1.x86_64", "kernel-default-6.2-1.x86_64", "kernel-default-6.3-1.x86_64"])
        #expect(names(r.states[0].packages) == ["kernel-default-6.1-1.x86_64", "kernel-default-6.2-1.x86_64"])
        #expect(Backfill.isMultiversion(name: "kernel-default"))
        #expect(!Backfill.isMultiversion(name: "kernel-firmware-intel"))
        #expect(!Backfill.isMultiversion(name: "kernelshark"))
    }

    @Test func severalVersionsNowMakeAPackageMultiversion() {
        // Not named kernel-*, but two versions installed now: installs add, no inconsistency.
        let log = [t(100, inst("libfoo", "2-1"))]
        let current = [cur("libfoo", "1-1"), cur("libfoo", "2-1")]
        let r = Backfill.reconstruct(format: .rpm, current: current, currentAt: Timestamp(seconds: 200), transactions: log)
        #expect(r.notes.isEmpty)
        #expect(r.states.count == 1)
        // The state before the install is not emitted (one state per transaction), but the
        // state after it keeps both binaries with their identity.
        #expect(Set(r.states[0].packages) == Set(current))
    }

    @Test func removedThenReinstalledAndReinstallOfSameVersion() {
        let log = [
            t(100, inst("foo", "1-1")),
            t(200, rm("foo", "1-1")),
            t(300, inst("foo", "1-1")),
            t(400, inst("foo", "1-1")),  // zypper in -f: same version again
        ]
        let current = [cur("foo", "1-1")]
        let r = Backfill.reconstruct(format: .rpm, current: current, currentAt: Timestamp(seconds: 500), transactions: log)
        #expect(r.notes.isEmpty)
        #expect(r.states.map { names($0.packages) } == [["foo-1-1.x86_64"], [], ["foo-1-1.x86_64"], ["foo-1-1.x86_64"]])
        // Only after the last reinstall is it the current binary.
        #expect(r.states[3].packages == current)
        #expect(r.states[2].packages.first?.package.digest == nil)
    }

    @Test func contradictionsAreNotedAndTheCurrentStateWins() {
        // The log removes bar last, but bar is installed now (rpm -i by hand); the log installs
        // baz 2, but baz 1 is installed now (rpm -U --oldpackage by hand).
        let log = [
            t(100, inst("bar", "1-1"), inst("baz", "1-1")),
            t(200, rm("bar", "1-1")),
            t(300, inst("baz", "2-1")),
        ]
        let current = [cur("bar", "1-1"), cur("baz", "1-1")]
        let r = Backfill.reconstruct(format: .rpm, current: current, currentAt: Timestamp(seconds: 400), transactions: log)
        #expect(r.notes.count == 2)
        #expect(r.notes.contains { $0.contains("removes bar-1-1.x86_64") && $0.contains("history:200") })
        #expect(r.notes.contains { $0.contains("installs baz-2-1.x86_64") && $0.contains("history:300") })
        #expect(r.states.count == 3)
        // The current state is trusted after each contradicting transaction.
        #expect(Set(r.states[2].packages) == Set(current))
        #expect(names(r.states[1].packages) == ["bar-1-1.x86_64", "baz-1-1.x86_64"])
        #expect(names(r.states[0].packages) == ["bar-1-1.x86_64", "baz-1-1.x86_64"])
    }

    @Test func laterTransactionsIgnoredSameTimeMergedClockJumpsRaised() {
        let log = [
            t(100, inst("a", "1-1")),
            t(100, inst("b", "1-1")),
            t(90, inst("c", "1-1")),  // clock set back
            t(900, inst("d", "1-1")),  // after the snapshot
        ]
        let current = [cur("a", "1-1"), cur("b", "1-1"), cur("c", "1-1")]
        let r = Backfill.reconstruct(format: .rpm, current: current, currentAt: Timestamp(seconds: 500), transactions: log)
        #expect(r.states.count == 1)
        #expect(r.states[0].at.seconds == 100)
        #expect(Set(r.states[0].packages) == Set(current))
        #expect(r.notes.contains { $0.contains("later than the snapshot") })
        #expect(r.notes.contains { $0.contains("clock was set back") })
    }

    @Test func archChangeFromNoarchRestoresTheOldArch() {
        let log = [t(100, inst("tool", "1-1", arch: "noarch")), t(200, inst("tool", "2-1", arch: "x86_64"))]
        let current = [cur("tool", "2-1", arch: "x86_64")]
        let r = Backfill.reconstruct(format: .rpm, current: current, currentAt: Timestamp(seconds: 300), transactions: log)
        #expect(r.notes.isEmpty)
        #expect(names(r.states[0].packages) == ["tool-1-1.noarch"])
        #expect(names(r.states[1].packages) == ["tool-2-1.x86_64"])
    }

    @Test func dpkgExplicitVersionsAndConfigFiles() {
        func d(_ a: LoggedPackageChange.Action, _ n: String, _ v: String, _ prev: LoggedPackageChange.Previous = .unknown) -> LoggedPackageChange {
            LoggedPackageChange(action: a, name: n, arch: "amd64", evr: DebianVersion.parse(v)!, previous: prev)
        }
        // A (not in the log before) upgraded 1 → 2, B installed fresh, C removed (config-files now).
        let log = [
            t(100, d(.install, "a", "2", .version(DebianVersion.parse("1")!)), d(.install, "b", "1:1.0-1", .none)),
            t(200, d(.remove, "c", "3")),
        ]
        var c = cur("c", "3", arch: "amd64", digest: nil, format: .deb)
        c.package.status = "deinstall ok config-files"
        let current = [cur("a", "2", arch: "amd64", digest: nil, format: .deb), cur("b", "1:1.0-1", arch: "amd64", digest: nil, format: .deb), c]
        let r = Backfill.reconstruct(format: .deb, current: current, currentAt: Timestamp(seconds: 300), transactions: log)
        #expect(r.notes.isEmpty)
        #expect(Set(r.states[1].packages) == Set(current))
        // Before the removal c was installed (log-only identity, no config-files entry).
        let s0 = r.states[0].packages
        #expect(names(s0) == ["a_2_amd64", "b_1:1.0-1_amd64", "c_3_amd64"])
        #expect(s0.first { $0.package.name == "c" }?.package.status == nil)
    }
}
