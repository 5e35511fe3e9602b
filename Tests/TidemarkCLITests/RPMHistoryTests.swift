import Foundation
import Testing
import TidemarkCore
import TidemarkHosts
import TidemarkTestSupport

/// The foundation end to end with real tools: RPMs built by rpmbuild, a repository made by
/// createrepo_c, a host root changed by real zypper (install, upgrade, --oldpackage downgrade,
/// remove), recorded by the real `tidemark` binary. At every step what Tidemark recorded must
/// equal what `rpm -qa` reports, and a backfill from zypp history alone must reproduce the states
/// captured at each step, at the right UTC times although the log is in local time.
@Suite(.serialized) struct RPMHistoryTests {
    let zone = "America/New_York"

    struct Fixture {
        let dir: TemporaryDirectory
        let repo: RPMRepository
        let root: RPMRoot
        let builder: RPMBuilder
        let tidemark: TidemarkExecutable
        var rpms: [String: [String]] = [:]
    }

    func fixture() throws -> Fixture {
        let dir = try TemporaryDirectory("cli-rpm")
        let builder = try RPMBuilder(directory: try dir.makeDirectory("build"))
        var rpms: [String: [String]] = [:]
        let specs = [
            RPMSpec(name: "perl-Mojo-IOLoop-ReadWriteProcess", version: "0.34", release: "1.1", vendor: "obs://build.opensuse.org/devel:languages:perl",
                    disturl: "obs://build.opensuse.org/devel:languages:perl/openSUSE_Tumbleweed/abc-perl-Mojo-IOLoop-ReadWriteProcess",
                    changelog: [ChangelogEntry(time: 1_737_000_000, author: "Perl Packager <perl@example.com>", text: "- release 0.34")]),
            RPMSpec(name: "perl-Mojo-IOLoop-ReadWriteProcess", version: "0.34", release: "1.2", vendor: "obs://build.opensuse.org/devel:openQA",
                    changelog: [ChangelogEntry(time: 1_737_100_000, author: "openQA Packager <qa@example.com>", text: "- patch for pidfd handling"),
                                ChangelogEntry(time: 1_737_000_000, author: "Perl Packager <perl@example.com>", text: "- release 0.34")]),
            RPMSpec(name: "os-autoinst", epoch: 1, version: "4.6", release: "1", arch: "x86_64", vendor: "openSUSE",
                    subpackages: [RPMSubpackage(name: "os-autoinst-devel", summary: "devel")]),
            RPMSpec(name: "os-autoinst", epoch: 1, version: "4.6", release: "2", arch: "x86_64", vendor: "openSUSE",
                    subpackages: [RPMSubpackage(name: "os-autoinst-devel", summary: "devel")]),
            RPMSpec(name: "openQA-worker", version: "5.1", release: "1", requires: ["perl-Mojo-IOLoop-ReadWriteProcess"]),
        ]
        for s in specs { rpms["\(s.name)-\(s.version)-\(s.release)"] = try builder.build(s) }
        let repo = try RPMRepository(path: try dir.makeDirectory("repo"), rpms: rpms.values.flatMap { $0 })
        let root = try RPMRoot(path: dir.path("hosts/worker14"))
        try root.setTimeZone(zone)
        return Fixture(dir: dir, repo: repo, root: root, builder: builder, tidemark: try TidemarkExecutable(db: dir.path("tidemark.sqlite")), rpms: rpms)
    }

    /// zypper writes its history in the local time of the zypper process: run it in the host's zone.
    func zypper(_ root: RPMRoot, _ args: [String]) throws {
        try Subprocess.check("zypper", ["--root", root.path, "--non-interactive", "--gpg-auto-import-keys"] + args, environment: ["TZ": zone])
    }

    /// `show --json` compared field by field with `rpm --root -qa --qf`.
    func expectRecordedEqualsRPM(_ f: Fixture, host: String, db: TidemarkExecutable? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let shown = try (db ?? f.tidemark).json(ShowResult.self, ["show", host])
        let rpm = try f.root.rpmQA()
        func key(_ name: String, _ arch: String, _ evr: String) -> String { "\(name).\(arch) \(evr)" }
        let recorded = Dictionary(uniqueKeysWithValues: shown.packages.map { (key($0.name, $0.arch, $0.evr), $0) })
        #expect(recorded.count == rpm.count, sourceLocation: sourceLocation)
        for r in rpm {
            let p = r.package
            guard let s = recorded[key(p.name, p.arch, p.evr.description)] else {
                Issue.record("\(p.nevra) is installed but not recorded", sourceLocation: sourceLocation)
                continue
            }
            #expect(s.epoch == p.evr.epoch && s.version == p.evr.version && s.release == p.evr.release, sourceLocation: sourceLocation)
            #expect(s.digest == p.digest, "SIGMD5 of \(p.name)", sourceLocation: sourceLocation)
            #expect(s.vendor == p.vendor && s.source == p.source && s.disturl == p.disturl, "provenance of \(p.name)", sourceLocation: sourceLocation)
            #expect(s.buildTime?.seconds == p.buildTime, sourceLocation: sourceLocation)
            #expect(s.installTime?.seconds == r.installTime, "install time of \(p.name)", sourceLocation: sourceLocation)
        }
    }

    func nevras(_ packages: [ShownPackage]) -> Set<String> { Set(packages.map { "\($0.name)-\($0.evr).\($0.arch)" }) }

    @Test func everyStepEqualsRpmQAAndBackfillReproducesTheSteps() throws {
        let f = try fixture()
        try zypper(f.root, ["addrepo", "-G", "-p", "90", "-k", "file://" + f.repo.path, "devel_openQA"])
        try zypper(f.root, ["refresh"])

        var captured: [(at: Timestamp, packages: Set<String>)] = []
        func step(_ args: [String]) throws {
            Thread.sleep(forTimeInterval: 1.1)  // zypp history has whole seconds
            try zypper(f.root, args)
            let out = try f.tidemark.json(SnapshotReport.self, ["snapshot", "--root", f.root.path, "--host", "worker14"])
            try expectRecordedEqualsRPM(f, host: "worker14")
            let shown = try f.tidemark.json(ShowResult.self, ["show", "worker14"])
            captured.append((out.at, nevras(shown.packages)))
        }
        try step(["install", "openQA-worker", "os-autoinst-devel=1:4.6-1", "perl-Mojo-IOLoop-ReadWriteProcess=0.34-1.1"])
        try step(["dist-upgrade"])  // as the workers' timer does; takes the patched build across vendors
        try step(["install", "--oldpackage", "perl-Mojo-IOLoop-ReadWriteProcess=0.34-1.1"])  // the incident's rollback
        try step(["remove", "--clean-deps", "os-autoinst-devel"])

        // repositories recorded beside the packages
        let shown = try f.tidemark.json(ShowResult.self, ["show", "worker14"])
        let repo = try #require(shown.repositories?.first)
        #expect(repo.alias == "devel_openQA" && repo.priority == 90 && repo.keepPackages == true && repo.enabled)

        // history: one entry per step, with the package changes
        let history = try f.tidemark.json(HistoryResult.self, ["history", "worker14"])
        try #require(history.entries.count == 4)
        let upgrade = history.entries[1].changes
        #expect(upgrade.contains { $0.name == "perl-Mojo-IOLoop-ReadWriteProcess" && $0.kind == .upgraded && $0.from == "0.34-1.1" && $0.to == "0.34-1.2" })
        #expect(upgrade.contains { $0.name == "os-autoinst-devel" && $0.kind == .upgraded && $0.from == "1:4.6-1" && $0.to == "1:4.6-2" && $0.source == "os-autoinst" }, "\(upgrade)")
        #expect(history.entries[2].changes.map(\.kind) == [.downgraded])
        #expect(history.entries[3].changes.allSatisfy { $0.kind == .removed })

        // a fresh store learns the same past from zypp history alone
        let fresh = try TidemarkExecutable(db: f.dir.path("backfilled.sqlite"))
        let report = try fresh.json(SnapshotReport.self, ["snapshot", "--root", f.root.path, "--host", "worker14", "--backfill"])
        #expect(report.backfill?.malformedLines == 0)
        #expect(report.backfill?.timeZone == zone)
        let backfilled = try fresh.json(HistoryResult.self, ["history", "worker14"])
        let past = backfilled.entries.filter { $0.source == .backfill }
        try #require(past.count == captured.count)
        for (b, c) in zip(past, captured) {
            let state = try fresh.json(ShowResult.self, ["show", "state:" + b.state.hex])
            #expect(nevras(state.packages) == c.packages, "backfilled state at \(b.at) vs captured at \(c.at)")
            // zypper's local New York time became the right UTC instant: just before the snapshot
            #expect(b.at <= c.at && c.at.seconds - b.at.seconds < 30, "backfilled \(b.at) vs snapshot \(c.at)")
        }
        // packages that did not change since keep their full identity (digest) in backfilled states
        let first = try fresh.json(ShowResult.self, ["show", "state:" + past[0].state.hex])
        #expect(first.packages.first { $0.name == "openQA-worker" }?.digest != nil)
        try expectRecordedEqualsRPM(f, host: "worker14", db: fresh)

        // where, at a past moment and now
        let during = captured[1].at
        let w = try f.tidemark.json(WhereResult.self, ["where", "perl-Mojo-IOLoop-ReadWriteProcess", "--at", during.iso8601])
        #expect(w.versions == [WhereResult.Version(evr: "0.34-1.2", arch: "noarch", hosts: ["worker14"])])
        let now = try f.tidemark.json(WhereResult.self, ["where", "perl-Mojo-IOLoop-ReadWriteProcess"])
        #expect(now.versions.map(\.evr) == ["0.34-1.1"])
        let gone = try f.tidemark.json(WhereResult.self, ["where", "os-autoinst-devel"])
        #expect(gone.versions.isEmpty && gone.absent == ["worker14"])

        // diff between two refs, with changelog entries between the versions
        let d = try f.tidemark.json(DiffResult.self, ["diff", "worker14@\(captured[0].at.iso8601)", "worker14@\(captured[1].at.iso8601)", "--changelog"])
        let mojo = try #require(d.changes.first { $0.name == "perl-Mojo-IOLoop-ReadWriteProcess" })
        #expect(mojo.kind == .upgraded && mojo.changelog?.map(\.text) == ["- patch for pidfd handling"])
    }

    @Test func refsThatCannotBeResolvedSayWhy() throws {
        let f = try fixture()
        try zypper(f.root, ["addrepo", "-G", "file://" + f.repo.path, "devel_openQA"])
        try zypper(f.root, ["install", "openQA-worker"])
        try f.tidemark.check(["snapshot", "--root", f.root.path, "--host", "worker14", "--at", "2025-01-21T10:00:00Z"])
        try f.tidemark.check(["snapshot", "--root", f.root.path, "--host", "worker15", "--at", "2025-01-21T10:00:00Z"])

        let before = try f.tidemark.run(["show", "worker14@2025-01-20"])
        #expect(before.status != 0 && before.stderrText.contains("first observed at 2025-01-21T10:00:00Z"))
        let unknown = try f.tidemark.run(["show", "worker99"])
        #expect(unknown.status != 0 && unknown.stderrText.contains("unknown host 'worker99'") && unknown.stderrText.contains("worker14"))
        let missing = try f.tidemark.run(["show", "state:0000"])
        #expect(missing.status != 0 && missing.stderrText.contains("no state id starts with '0000'"))
        let badTime = try f.tidemark.run(["where", "bash", "--at", "tuesday"])
        #expect(badTime.status != 0)
        // identical states are stored once: both hosts point at the same state
        let hosts = try f.tidemark.json([HostSummary].self, ["hosts"])
        #expect(hosts.count == 2 && hosts[0].state == hosts[1].state)
        let prefix = String(hosts[0].state.hex.prefix(6))
        #expect(try f.tidemark.json(ShowResult.self, ["show", "state:" + prefix]).packages.count == hosts[0].packages)
    }

    @Test func aMissingRootOrCorruptDatabaseStoresNothing() throws {
        let f = try fixture()
        let missing = try f.tidemark.run(["snapshot", "--root", f.dir.path("nope"), "--host", "h"])
        #expect(missing.status != 0 && missing.stderrText.contains(f.dir.path("nope")))

        try zypper(f.root, ["addrepo", "-G", "file://" + f.repo.path, "devel_openQA"])
        try zypper(f.root, ["install", "openQA-worker"])
        let dbFile = try #require(f.root.databaseFile)
        var bytes = try FileSystem.read(dbFile)
        for i in stride(from: 100, to: min(bytes.count, 40_000), by: 7) { bytes[i] ^= 0x5a }
        try FileSystem.write(bytes, to: dbFile)
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: dbFile + suffix) }
        let corrupt = try f.tidemark.run(["snapshot", "--root", f.root.path, "--host", "h"])
        #expect(corrupt.status != 0 && corrupt.stderrText.contains(dbFile), "\(corrupt.stderrText)")
        #expect(try f.tidemark.json([HostSummary].self, ["hosts"]).isEmpty)
    }
}

/// The JSON `tidemark snapshot --json` prints (decoded by tests only).
struct SnapshotReport: Decodable {
    struct Backfill: Decodable {
        var states: Int
        var recorded: Int
        var malformedLines: Int
        var timeZone: String
    }
    var host: String
    var at: Timestamp
    var state: StateID
    var packages: Int
    var backfill: Backfill?
}
