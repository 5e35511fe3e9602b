import Foundation
import Testing
import TidemarkCore
import TidemarkHosts
import TidemarkTestSupport

/// `tidemark bisect` end to end: real rpm roots whose steps real zypper installs from the
/// archive, the real `tidemark` binary, and test commands that judge the installed files.
@Suite(.serialized) struct BisectTests {
    static let t0 = "2026-11-20T08:00:00Z", t1 = "2026-11-20T10:00:00Z"
    static let eight = ["pkg-a", "pkg-b", "pkg-c", "pkg-d", "pkg-e", "pkg-f", "pkg-g", "pkg-h"]

    /// What `bisect … --json` prints (the CLI's view of a session).
    struct View: Decodable {
        var session: BisectSession
        var runs: [BisectStepRecord]
        var bound: Int
        var culprits: [BisectGroup]

        /// The position of a source package's group: groups follow the order the host changed
        /// them, which zypper's one-rpm-call-per-package commit and the clock decide, not the name.
        func group(_ source: String) -> Int { session.groups.firstIndex { $0.source == source } ?? -1 }
    }

    /// A root of the lab's packages at 1.0 (recorded at t0), then all at 2.0 in one zypper
    /// transaction (recorded at t1): 8 groups in name order.
    static func updatedRoot(_ lab: PackageLab, host: String = "lab1") throws -> RPMRoot {
        let root = try lab.root(host)
        try lab.tm.check(["snapshot", "--root", root.path, "--host", host, "--at", t0])
        try root.install(lab.names.map { "\($0)-2.0" })
        try lab.tm.check(["snapshot", "--root", root.path, "--host", host, "--at", t1])
        return root
    }

    static func view(_ r: Subprocess.Result) throws -> View {
        try JSONDecoder().decode(View.self, from: Data(r.stdoutText.utf8))
    }

    static func binaries(_ root: RPMRoot) throws -> Set<Package> { Set(try root.rpmQA().map(\.package)) }

    /// The lab's packages in the order the root installed them (rpm's INSTALLTIME, seconds; one
    /// second's ties by name): the order a bisection's groups must follow.
    static func changeOrder(_ root: RPMRoot, _ names: [String]) throws -> [String] {
        let times = Dictionary(try root.rpmQA().map { ($0.package.name, $0.installTime ?? 0) }, uniquingKeysWith: max)
        return names.sorted { (times[$0] ?? 0, $0) < (times[$1] ?? 0, $1) }
    }

    /// A step zypper cannot resolve (pkg-d 2.0 and pkg-e 2.0 each conflict with the other's 1.0,
    /// so no state has one updated without the other) is skipped, not failed; the search routes
    /// around it and still names the culprit, with at most one test run more than the
    /// ceil(log2 8) + 1 = 4 a search without skips needs; `reset` puts the root back exactly.
    @Test func theCulpritIsFoundAroundAnUnresolvableStepAndResetRestoresTheRoot() throws {
        let lab = try PackageLab("bisect-skip", names: Self.eight, conflicts: ["pkg-d-2.0": ["pkg-e < 2.0"], "pkg-e-2.0": ["pkg-d < 2.0"]])
        let root = try Self.updatedRoot(lab)
        let before = try Self.binaries(root)
        let order = try Self.changeOrder(root, Self.eight)
        // the first step (the first four groups) splits pkg-d from pkg-e whichever zypper installed first
        try #require(Set(order[3...4]) == ["pkg-d", "pkg-e"], "zypper installed them in this order: \(order)")
        let test = PackageLab.test(broken: [("pkg-g", "2.0")])
        let r = try lab.tm.run(["bisect", "start", "--good", "lab1@" + Self.t0, "--bad", "lab1@" + Self.t1, "--root", root.path, "--test", test, "--json"] + lab.archive)
        #expect(r.status == 0, "\(r.stderrText)")
        let v = try Self.view(r)
        #expect(v.session.groups.map(\.source) == order, "one group per source package, in the order they changed")
        #expect(v.session.report?.verdict == .culprit)
        #expect(v.culprits.map(\.source) == ["pkg-g"])
        #expect(v.culprits.first?.text == "pkg-g 1.0-1.1 → 2.0-1.1")
        #expect(v.bound == 4)
        #expect(v.session.report!.runs <= v.bound + 1, "\(v.runs.map { ($0.groups, $0.purpose.rawValue, $0.outcome.rawValue) })")
        let skipped = v.runs.filter { $0.outcome == .uninstallable }
        #expect(skipped.count >= 1, "the step with one of pkg-d and pkg-e was tried and skipped")
        let d = v.group("pkg-d"), e = v.group("pkg-e")
        #expect(v.runs.allSatisfy { ($0.groups.contains(d) != $0.groups.contains(e)) == ($0.outcome == .uninstallable) }, "exactly the steps that split them")
        #expect(skipped.allSatisfy { $0.exitStatus == nil && $0.note.contains("not installable") })
        #expect(v.runs.filter { $0.outcome.ran }.allSatisfy { $0.state != nil })
        // progress went to stderr as it ran
        #expect(r.stderrText.contains("step 1 (search)"), "\(r.stderrText)")

        // the human report, from the stored session
        let status = try lab.tm.check(["bisect", "status"] + lab.archive)
        #expect(status.contains("culprit: pkg-g: pkg-g 1.0-1.1 → 2.0-1.1"), "\(status)")
        let log = try lab.tm.check(["bisect", "log"] + lab.archive)
        #expect(log.contains("uninstallable"), "\(log)")

        // the root is in the last step's state; reset puts it back exactly as it was
        #expect(try Self.binaries(root) != before)
        try lab.tm.check(["bisect", "reset"] + lab.archive)
        #expect(try Self.binaries(root) == before)
        let list = try lab.tm.check(["bisect", "list"] + lab.archive)
        #expect(list.contains("reset") && list.contains("culprit: pkg-g"), "\(list)")
    }

    /// The bisection is killed (kill -9) in the middle of a step; `bisect run` resumes it from its
    /// stored runs, repeats the interrupted step, and ends with the same culprit.
    @Test func aKilledBisectionResumesWhereItWas() throws {
        let lab = try PackageLab("bisect-resume", names: Self.eight)
        let root = try Self.updatedRoot(lab)
        let counter = lab.dir.path("runs")
        // the second test run kills the bisecting process (its parent), then carries on as usual
        let test = #"n=$(cat "\#(counter)" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "\#(counter)"; if [ $n -eq 2 ]; then kill -9 $PPID; fi; "#
            + PackageLab.test(broken: [("pkg-c", "2.0")])
        let killed = try lab.tm.run(["bisect", "start", "--good", "lab1@" + Self.t0, "--bad", "lab1@" + Self.t1, "--root", root.path, "--test", test] + lab.archive)
        #expect(killed.status != 0)
        let stored = try JSONDecoder().decode(View.self, from: Data(try lab.tm.check(["bisect", "status", "--json"] + lab.archive).utf8))
        #expect(stored.session.status == .running)
        #expect(stored.runs.count == 1, "the first run was stored; the killed one was not")
        // another bisection on the same root is refused while this one is unfinished
        let second = try lab.tm.run(["bisect", "start", "--good", "lab1@" + Self.t0, "--bad", "lab1@" + Self.t1, "--root", root.path, "--test", "true"] + lab.archive)
        #expect(second.status == 1 && second.stderrText.contains("is still running"), "\(second.stderrText)")

        let resumed = try lab.tm.run(["bisect", "run", "--json"] + lab.archive)
        #expect(resumed.status == 0, "\(resumed.stderrText)")
        let v = try Self.view(resumed)
        #expect(v.culprits.map(\.source) == ["pkg-c"])
        #expect(v.runs.map(\.seq) == Array(1...v.runs.count), "every step recorded once, in order")
        #expect(v.session.report!.runs <= v.bound)
        #expect(resumed.stderrText.contains("resuming bisection \(v.session.id) after 1 run"), "\(resumed.stderrText)")
    }

    /// The failure needs two changes together: no single group fails alone, delta debugging
    /// finds exactly the pair and says so.
    @Test func aFailureThatNeedsTwoChangesIsMinimizedToThePair() throws {
        let names = Array(Self.eight.prefix(6))
        let lab = try PackageLab("bisect-pair", names: names)
        let root = try Self.updatedRoot(lab)
        let test = PackageLab.test(broken: [("pkg-b", "2.0"), ("pkg-e", "2.0")], together: true)
        let r = try lab.tm.run(["bisect", "start", "--good", "lab1@" + Self.t0, "--bad", "lab1@" + Self.t1, "--root", root.path, "--test", test, "--json"] + lab.archive)
        #expect(r.status == 0, "\(r.stderrText)")
        let v = try Self.view(r)
        #expect(v.session.report?.verdict == .combination)
        #expect(v.culprits.map(\.source) == ["pkg-b", "pkg-e"])
        #expect(v.runs.contains { $0.purpose == .minimize })
        // proven by the runs themselves: the pair fails, each without the other passes
        let both: Set = [v.group("pkg-b"), v.group("pkg-e")]
        let pair = v.runs.filter { Set($0.groups).isSuperset(of: both) }, lone = v.runs.filter { Set($0.groups).intersection(both).count == 1 }
        #expect(pair.allSatisfy { $0.outcome == .bad } && lone.allSatisfy { $0.outcome == .good } && !lone.isEmpty)
        let text = try lab.tm.check(["bisect", "status"] + lab.archive)
        #expect(text.contains("no single change fails alone"), "\(text)")
    }

    /// A test that fails good states one run in five: the flake-aware search re-runs, estimates
    /// the rate, and names the culprit at the requested confidence.
    @Test func aFlakyTestStillNamesTheCulpritWithItsConfidence() throws {
        let lab = try PackageLab("bisect-flaky", names: Self.eight)
        let root = try Self.updatedRoot(lab)
        let counter = lab.dir.path("runs")
        // every fifth run, the first among them, fails whatever is installed (a deterministic 20% flake)
        let test = #"n=$(cat "\#(counter)" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "\#(counter)"; if [ $((n % 5)) -eq 1 ]; then echo flake; exit 1; fi; "#
            + PackageLab.test(broken: [("pkg-f", "2.0")])
        let r = try lab.tm.run(["bisect", "start", "--good", "lab1@" + Self.t0, "--bad", "lab1@" + Self.t1, "--root", root.path, "--test", test, "--flaky", "--confidence", "0.99", "--json"] + lab.archive)
        #expect(r.status == 0, "\(r.stderrText)")
        let v = try Self.view(r)
        #expect(v.culprits.map(\.source) == ["pkg-f"])
        let report = try #require(v.session.report)
        #expect(report.confidence >= 0.99)
        #expect(report.flakeEstimate != nil)
        #expect(v.session.options.flaky && v.session.options.flakeRate == nil)
        // the flakes really happened, on states without the culprit, and did not mislead it
        #expect(v.runs.contains { $0.outcome == .bad && !$0.groups.contains(v.group("pkg-f")) }, "\(v.runs.map { ($0.groups, $0.purpose.rawValue, $0.outcome.rawValue) })")
        #expect(r.stderrText.contains("flake rate"), "\(r.stderrText)")
    }

    /// A host has neither the history nor the archive: it bisects through the server (refs from
    /// `/api/v1/show`, package files from its archive), keeping only the session in its own store.
    @Test func aHostBisectsThroughTheServer() throws {
        let lab = try PackageLab("bisect-remote", names: Self.eight)
        let root = try Self.updatedRoot(lab)
        let before = try Self.binaries(root)
        let reader = lab.dir.path("reader.token")
        try FileSystem.write(try lab.tm.check(["token", "create", "--role", "reader"]).trimmed + "\n", to: reader)
        let server = try ServerProcess(lab.tm, db: lab.tm.db, log: lab.dir.path("server.log"), archive: lab.dir.path("archive"), arguments: ["--mirror-interval", "0", "--rollout-interval", "0"])
        try server.start()
        defer { _ = server.stop() }
        // the host's own store: empty, and no archive beside it
        let local = ["--server", server.url, "--token-file", reader, "--db", lab.dir.path("host.sqlite"), "--archive", lab.dir.path("host-archive")]
        let test = PackageLab.test(broken: [("pkg-e", "2.0")])
        let r = try Subprocess.run(lab.tm.path, ["bisect", "start", "--good", "lab1@" + Self.t0, "--bad", "lab1@" + Self.t1, "--root", root.path, "--test", test, "--json"] + local)
        #expect(r.status == 0, "\(r.stderrText)")
        let v = try Self.view(r)
        #expect(v.culprits.map(\.source) == ["pkg-e"])
        #expect(v.session.report!.runs <= v.bound)
        #expect(!FileManager.default.fileExists(atPath: lab.dir.path("host-archive")), "nothing archived on the host")
        let reset = try Subprocess.run(lab.tm.path, ["bisect", "reset"] + local)
        #expect(reset.status == 0, "\(reset.stderrText)")
        #expect(try Self.binaries(root) == before)
        // the server's store has no bisection: it lives on the host
        #expect(try lab.tm.check(["bisect", "list"] + lab.archive).split(separator: "\n").count == 1)
    }

    /// Refusals before anything is touched: bad flags, the same state twice, a package the
    /// archive lacks.
    @Test func refusalsNameWhatIsWrong() throws {
        let lab = try PackageLab("bisect-refuse", names: ["pkg-a", "pkg-b"], unarchived: ["pkg-b-1.0"])
        let root = try Self.updatedRoot(lab)
        let before = try Self.binaries(root)
        func fails(_ args: [String], _ text: String) throws {
            let r = try lab.tm.run(["bisect", "start"] + args + lab.archive)
            #expect(r.status != 0 && r.stderrText.contains(text), "\(args): \(r.stderrText)")
        }
        let base = ["--good", "lab1@" + Self.t0, "--bad", "lab1@" + Self.t1]
        try fails(base + ["--test", "true"], "give exactly one of --root DIR and --host HOST")
        try fails(base + ["--root", root.path, "--host", "x", "--test", "true"], "give exactly one of --root DIR and --host HOST")
        try fails(base + ["--host", "not-this-machine", "--test", "true"], "installs its steps on this machine")
        try fails(base + ["--root", root.path, "--test", "true", "--flaky", "1.5"], "between 0 and 1")
        try fails(base + ["--root", root.path, "--test", "true", "--confidence", "0.9"], "add --flaky")
        try fails(["--good", "lab1@" + Self.t1, "--bad", "lab1@" + Self.t1, "--root", root.path, "--test", "true"], "are the same state")
        try fails(["--good", "nosuchhost", "--bad", "lab1", "--root", root.path, "--test", "true"], "nosuchhost")
        try fails(base + ["--root", root.path, "--test", "  "], "--test: the command is empty")
        // the archive lacks pkg-b 1.0, which the steps need: refused before the root is touched
        let missing = try lab.tm.run(["bisect", "start"] + base + ["--root", root.path, "--test", "true"] + lab.archive)
        #expect(missing.status != 0 && missing.stderrText.contains("not in the archive") && missing.stderrText.contains("pkg-b-1.0-1.1.noarch"), "\(missing.stderrText)")
        #expect(try Self.binaries(root) == before)
        let list = try lab.tm.check(["bisect", "list"] + lab.archive)
        #expect(list.split(separator: "\n").count == 1, "nothing stored but the header: \(list)")
    }
}
