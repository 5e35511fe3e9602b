import Foundation
import Testing
import TidemarkCore
import TidemarkHosts
import TidemarkTestSupport

/// Backfill against the real tools: a root is driven through installs, upgrades, downgrades and
/// removals with real zypper (or dpkg), its inventory collected after every step; then the
/// history is reconstructed from the final inventory and the log alone and compared with what
/// was collected at each step.
@Suite(.serialized) struct HostBackfillIntegrationTests {
    static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }

    /// name-evr-arch of the installed (not dpkg `config-files`) packages.
    static func nevras(_ ps: [InstalledPackage]) -> Set<String> {
        Set(ps.filter { p in
            guard let s = p.package.status else { return true }
            return !s.hasSuffix("config-files") && !s.hasSuffix("not-installed")
        }.map(\.package.nevra))
    }

    struct Step {
        var label: String
        var start: Int64
        var end: Int64
        var inventory: HostInventory
    }

    /// Every reconstructed package that claims a full identity (a digest, for rpm) must be
    /// exactly the binary collected at that step.
    static func expectIdentitiesTrue(_ state: [InstalledPackage], _ collected: [InstalledPackage], _ label: String) {
        let exact = Set(collected.map(\.package))
        for p in state where p.package.digest != nil {
            #expect(exact.contains(p.package), "\(label): \(p.package.nevra) has an identity that was not collected")
        }
    }

    @Test func zypperHistoryRoundTrip() throws {
        let tmp = try TemporaryDirectory("backfill-zypp")
        defer { tmp.remove() }
        let zone = "Europe/Berlin"
        let builder = try RPMBuilder(directory: tmp.path("build"))
        var rpms: [String] = []
        for v in ["1.0", "2.0", "3.0"] { rpms += try builder.build(RPMSpec(name: "foo", version: v, vendor: "Tidemark")) }
        rpms += try builder.build(RPMSpec(name: "bar", version: "1.0"))
        for v in ["6.1", "6.2"] {
            rpms += try builder.build(RPMSpec(name: "kernel-default", version: v, provides: ["multiversion(kernel)"]))
        }
        let base = try builder.build(RPMSpec(name: "base", version: "5", vendor: "Installer"))
        let repo = try RPMRepository(path: tmp.path("repo"), rpms: rpms)

        let root = try RPMRoot(path: tmp.path("root"))
        try root.setTimeZone(zone)
        // zypper --root takes its configuration from the root: make kernels multiversion there,
        // as openSUSE's default zypp.conf does.
        try FileSystem.write("[main]\nmultiversion = provides:multiversion(kernel)\n", to: root.path + "/etc/zypp/zypp.conf")
        // Installed before the log began (as by the installer): must be present throughout.
        try root.rpmInstall(base)
        try root.addRepo(alias: "test", url: repo.url)
        try root.refresh()

        // zypper writes the host's local time: run it in the root's zone.
        func zypper(_ args: [String]) throws(TidemarkError) {
            try Subprocess.check("zypper", ["--root", root.path, "--non-interactive"] + args, environment: ["TZ": zone])
        }
        var steps: [Step] = []
        func step(_ label: String, _ args: [String]) throws {
            if !steps.isEmpty { Thread.sleep(forTimeInterval: 1.1) }  // distinct timestamps
            let start = Self.now()
            try zypper(args)
            let end = Self.now()
            steps.append(Step(label: label, start: start, end: end, inventory: try HostCollector.collect(root: root.path)))
        }
        try step("install", ["install", "foo=1.0", "bar"])
        try step("upgrade", ["update"])
        try step("downgrade", ["install", "--oldpackage", "foo=2.0"])
        try step("remove", ["remove", "bar"])
        // logrotate: the history so far moves to a dated, xz-compressed file.
        try FileManager.default.moveItem(atPath: root.zyppHistory, toPath: root.zyppHistory + "-20250101")
        try Subprocess.check("xz", [root.zyppHistory + "-20250101"])
        try step("kernel 6.1", ["install", "kernel-default=6.1"])
        try step("kernel 6.2 beside it", ["install", "kernel-default=6.2"])
        try step("purge old kernel", ["remove", "kernel-default=6.1"])

        // The collected truth matches the plan (so the comparison below means something).
        #expect(Self.nevras(steps[0].inventory.packages) == ["base-5-1.noarch", "foo-1.0-1.noarch", "bar-1.0-1.noarch"])
        #expect(Self.nevras(steps[1].inventory.packages) == ["base-5-1.noarch", "foo-3.0-1.noarch", "bar-1.0-1.noarch"])
        #expect(Self.nevras(steps[2].inventory.packages) == ["base-5-1.noarch", "foo-2.0-1.noarch", "bar-1.0-1.noarch"])
        #expect(Self.nevras(steps[5].inventory.packages).contains("kernel-default-6.1-1.noarch"))
        #expect(Self.nevras(steps[5].inventory.packages).contains("kernel-default-6.2-1.noarch"))

        let final = steps.last!.inventory
        let r = try HostBackfill.reconstruct(root: root.path, current: final, at: Timestamp(seconds: Self.now()), logTimeZone: nil)
        #expect(r.issues.isEmpty)
        #expect(r.filesRead.map { ($0 as NSString).lastPathComponent } == ["history-20250101.xz", "history"])
        #expect(r.linesRead > 0)
        #expect(r.notes.count == 1 && r.notes[0].contains("Europe/Berlin"), "\(r.notes)")
        try #require(r.states.count == steps.count, "\(r.states.map(\.at))")

        let baseNow = final.packages.first { $0.package.name == "base" }!
        for (i, s) in steps.enumerated() {
            let state = r.states[i]
            #expect(Self.nevras(state.packages) == Self.nevras(s.inventory.packages), "after \(s.label)")
            #expect(state.at.seconds >= s.start && state.at.seconds <= s.end, "after \(s.label): \(state.at) not in the step's time")
            // Never touched by the log: the very binary collected now, with its digest.
            #expect(state.packages.contains(baseNow), "after \(s.label)")
            #expect(baseNow.package.digest != nil)
            Self.expectIdentitiesTrue(state.packages, s.inventory.packages, s.label)
        }
        // Since its downgrade, foo is the current binary; before, only the log knew it.
        let fooNow = final.packages.first { $0.package.name == "foo" }!
        #expect(r.states[2].packages.contains(fooNow))
        #expect(r.states[1].packages.first { $0.package.name == "foo" }?.package.digest == nil)
        // The kernel kept since step 5 keeps its identity from then on.
        let k62 = final.packages.first { $0.package.name == "kernel-default" }!
        #expect(r.states[5].packages.contains(k62))

        // The streaming variant gives the same states, newest first.
        var streamed: [(at: Timestamp, packages: [InstalledPackage])] = []
        let w = try HostBackfill.walkBack(root: root.path, current: final, at: Timestamp(seconds: Self.now()), logTimeZone: nil) {
            streamed.append((at: $0, packages: $1))
        }
        #expect(w.states.isEmpty && w.notes == r.notes && w.linesRead == r.linesRead)
        #expect(streamed.reversed().map(\.at) == r.states.map(\.at))
        #expect(streamed.reversed().map(\.packages) == r.states.map(\.packages))
    }

    @Test func rpmUsedBehindZyppersBackIsNoted() throws {
        let tmp = try TemporaryDirectory("backfill-rpm")
        defer { tmp.remove() }
        let builder = try RPMBuilder(directory: tmp.path("build"))
        let foo1 = try builder.build(RPMSpec(name: "foo", version: "1.0"))
        let foo3 = try builder.build(RPMSpec(name: "foo", version: "3.0"))
        let repo = try RPMRepository(path: tmp.path("repo"), rpms: foo1)
        let root = try RPMRoot(path: tmp.path("root"))
        try root.addRepo(alias: "test", url: repo.url)
        try root.refresh()
        try root.install(["foo"])
        try root.rpmUpgrade(foo3)  // not logged by zypp

        let current = try HostCollector.collect(root: root.path)
        let r = try HostBackfill.reconstruct(
            root: root.path, current: current, at: Timestamp(seconds: Self.now() + 1), logTimeZone: TimeZone.current)
        #expect(r.notes.contains { $0.contains("installs foo-1.0-1.noarch") && $0.contains("foo-3.0-1.noarch") }, "\(r.notes)")
        // Reconstructed anyway, trusting the current state.
        #expect(r.states.count == 1)
        #expect(Self.nevras(r.states[0].packages) == ["foo-3.0-1.noarch"])
    }

    @Test func dpkgLogRoundTrip() throws {
        let tmp = try TemporaryDirectory("backfill-dpkg")
        defer { tmp.remove() }
        let zone = "America/New_York"
        let builder = try DebBuilder(directory: tmp.path("debs"))
        let a1 = try builder.build(DebSpec(package: "alpha", version: "1.0-1"))
        let a2 = try builder.build(DebSpec(package: "alpha", version: "1:2.0-1"))
        let b1 = try builder.build(DebSpec(package: "beta", version: "1.0", architecture: "amd64",
                                           files: [PackageFile("/etc/beta.conf", contents: "x", isConfig: true)]))
        let base = try builder.build(DebSpec(package: "base", version: "5"))

        let root = try DpkgRoot(path: tmp.path("root"))
        try FileSystem.write(zone + "\n", to: root.path + "/etc/timezone")
        func dpkg(_ args: [String]) throws(TidemarkError) {
            try Subprocess.check("dpkg", ["--root=\(root.path)", "--log=\(root.logFile)"] + args,
                                 environment: ["TZ": zone])
        }
        // Installed before the log began: its record is rotated away and gone.
        try dpkg(["--install", base])
        try FileManager.default.removeItem(atPath: root.logFile)

        var steps: [Step] = []
        func step(_ label: String, _ args: [String]) throws {
            if !steps.isEmpty { Thread.sleep(forTimeInterval: 1.1) }
            let start = Self.now()
            try dpkg(args)
            let end = Self.now()
            steps.append(Step(label: label, start: start, end: end, inventory: try HostCollector.collect(root: root.path)))
        }
        try step("install", ["--install", a1, b1])
        try step("upgrade", ["--install", a2])
        try step("downgrade", ["--install", a1])
        // logrotate: dpkg.log.1.gz
        try FileManager.default.moveItem(atPath: root.logFile, toPath: root.logFile + ".1")
        try Subprocess.check("gzip", [root.logFile + ".1"])
        try step("remove (config-files stay)", ["--remove", "beta"])
        try step("reinstall over config-files", ["--install", b1])
        try step("purge", ["--purge", "beta"])

        #expect(steps.allSatisfy { $0.inventory.format == .deb })
        #expect(Self.nevras(steps[1].inventory.packages) == ["base_5_all", "alpha_1:2.0-1_all", "beta_1.0_amd64"])
        #expect(Self.nevras(steps[3].inventory.packages) == ["base_5_all", "alpha_1.0-1_all"])

        let final = steps.last!.inventory
        let r = try HostBackfill.reconstruct(root: root.path, current: final, at: Timestamp(seconds: Self.now()), logTimeZone: nil)
        #expect(r.issues.isEmpty)
        #expect(r.filesRead.map { ($0 as NSString).lastPathComponent } == ["dpkg.log.1.gz", "dpkg.log"])
        #expect(r.notes.count == 1 && r.notes[0].contains(zone), "\(r.notes)")
        try #require(r.states.count == steps.count, "\(r.states.map(\.at))")
        let baseNow = final.packages.first { $0.package.name == "base" }!
        for (i, s) in steps.enumerated() {
            let state = r.states[i]
            #expect(Self.nevras(state.packages) == Self.nevras(s.inventory.packages), "after \(s.label)")
            #expect(state.at.seconds >= s.start && state.at.seconds <= s.end, "after \(s.label): \(state.at) not in the step's time")
            #expect(state.packages.contains(baseNow), "after \(s.label)")
        }
        // Since the downgrade (step 3), alpha is the package collected now, field for field.
        let alphaNow = final.packages.first { $0.package.name == "alpha" }!
        #expect(r.states[2].packages.contains(alphaNow))
        #expect(r.states[1].packages.first { $0.package.name == "alpha" }?.package.evr == DebianVersion.parse("1:2.0-1"))
    }
}
