import ArgumentParser
import Foundation
import TidemarkArchive
import TidemarkClient
import TidemarkCore
import TidemarkCulprits
import TidemarkStore

/// The store, the source and the runner a bisection command works with. A bisection runs here,
/// on a root of this machine, and its session lives in the local `--db`; refs and package files
/// come from that store and `--archive`, or from `--server` (on a host, which has neither).
struct BisectAccess: ParsableArguments {
    @OptionGroup var store: StoreOptions
    @OptionGroup var archive: ArchiveOptions
    @OptionGroup var remote: ServerOptions

    func with<T>(json: Bool = false, _ body: (BisectRunner, any CulpritStore) async throws -> T) async throws -> T {
        let client = try remote.client()
        do {
            let r = try await store.with { s in
                let culprits = SQLCulpritStore(backend: s.backend)
                let source: any BisectSource = client.map { RemoteBisectSource(client: $0) }
                    ?? LocalBisectSource(queries: StoreOptions.queries(s), archive: archive.open(on: s))
                // progress goes to stderr when stdout carries JSON
                let runner = BisectRunner(history: s, culprits: culprits, source: source, now: { Clock.now() }, log: { line in json ? Output.warn(line) : Output.line(line) })
                return try await body(runner, culprits)
            }
            await client?.shutdown()
            return r
        } catch {
            await client?.shutdown()
            throw error
        }
    }

    /// The session `id` names, or the newest one (running ones first when `running`).
    static func session(_ id: Int64?, in culprits: any CulpritStore, running: Bool = false) async throws -> BisectSession {
        if let id {
            guard let s = try await culprits.bisect(id: id) else { throw TidemarkError(.notFound, "no bisection with id \(id) (`tidemark bisect list` shows them)") }
            return s
        }
        if running, let s = try await culprits.bisects(activeOnly: true).first { return s }
        guard let s = try await culprits.bisects(activeOnly: false).first else {
            throw TidemarkError(.notFound, "no bisection yet: `tidemark bisect start --good REF --bad REF --root DIR --test CMD` starts one")
        }
        return s
    }
}

/// `tidemark bisect`: which change between a good and a bad state breaks the test, proven by
/// installing states between them.
struct BisectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bisect",
        abstract: "Find the package change that breaks a test by installing states between a good and a bad one.",
        discussion: """
            The candidates are the changes between --good and --bad grouped by source package, in \
            the order they happened. Each step installs exactly the good state plus some of them on \
            the root with zypper from the archive (a step zypper cannot resolve is skipped, not \
            failed), then runs the test command: exit 0 good, 125 skip, 1-127 bad, above 127 \
            abort (`git bisect run`'s convention). The command gets TIDEMARK_ROOT, TIDEMARK_HOST, \
            TIDEMARK_BISECT_STATE, TIDEMARK_BISECT_GROUPS (the source packages applied) and \
            TIDEMARK_BISECT_STEP. Without --flaky a failure is trusted and the search needs at most \
            ceil(log2 N) + 1 runs for N groups; with --flaky a failure may be a flake: a Bayesian \
            search re-runs where it is most informative, estimates the flake rate, and stops at \
            --confidence. When no single change fails alone but the whole set does, delta \
            debugging finds a minimal failing combination. Every run is stored as it happens: an \
            interrupted bisection continues with `tidemark bisect run`.

            The session is kept in the local --db. Refs and package files come from that store \
            and --archive, or, with --server, from a Tidemark server: on a worker, `tidemark \
            bisect start --server URL --host WORKER …` bisects the worker itself.
            """,
        subcommands: [Start.self, Run.self, Status.self, Log.self, Reset.self, List.self])

    /// `--flaky` alone, or `--flaky RATE`: ArgumentParser has no option with an optional value,
    /// so a bare `--flaky` becomes `--flaky=auto` before parsing.
    static func normalize(_ arguments: [String]) -> [String] {
        guard arguments.first == "bisect" else { return arguments }
        var out: [String] = []
        for (i, a) in arguments.enumerated() {
            if a == "--flaky", i + 1 == arguments.count || Double(arguments[i + 1]) == nil {
                out.append("--flaky=auto")
            } else {
                out.append(a)
            }
        }
        return out
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start a bisection and run it to its end (or --no-run: only store it).")
        @OptionGroup var access: BisectAccess
        @OptionGroup var output: OutputOptions
        @Option(help: ArgumentHelp("A state the test passes on: HOST@TIME, HOST, state:ID or file:PATH.", valueName: "ref")) var good: String
        @Option(help: ArgumentHelp("A state the test fails on.", valueName: "ref")) var bad: String
        @Option(help: ArgumentHelp("The root directory to install the steps on (rpm --root); it is put back with `bisect reset`.", valueName: "dir")) var root: String?
        @Option(help: ArgumentHelp("Bisect on this machine itself (/), which must be HOST; without --root.", valueName: "host")) var host: String?
        @Option(help: ArgumentHelp("The test command (/bin/sh -c), exit codes as `git bisect run`.", valueName: "command")) var test: String
        @Option(help: ArgumentHelp("The test may fail good states now and then: flake-aware search; optionally your guess of the rate (0.2).", valueName: "rate")) var flaky: String?
        @Option(help: ArgumentHelp("With --flaky: stop when the culprit's probability reaches this (default 0.99).", valueName: "p")) var confidence: Double?
        @Option(help: ArgumentHelp("Longest one test run may take (30m, 90s).", valueName: "duration")) var timeout: String = "30m"
        @Flag(help: "Store the session without running it (`tidemark bisect run` runs it).") var noRun = false

        func run() async throws {
            try await reportingErrors {
                guard (root == nil) != (host == nil) else { throw TidemarkError(.invalidArgument, "give exactly one of --root DIR and --host HOST") }
                if let host {
                    try Observation.validateHostName(host)
                    let me = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "localhost"
                    guard host == me else {
                        throw TidemarkError(.invalidArgument, "--host \(host): bisection installs its steps on this machine (\(me)); run it on \(host) (with --server URL), or use --root DIR for a root of \(host) mounted here")
                    }
                }
                var flakeRate: Double?
                if let flaky, flaky != "auto" {
                    guard let r = Double(flaky) else { throw TidemarkError(.invalidArgument, "--flaky \(flaky): expected a flake rate such as 0.2, or nothing") }
                    flakeRate = r
                }
                guard let seconds = DurationText.parse(timeout), seconds > 0 else { throw TidemarkError(.invalidArgument, "--timeout \(timeout): not a duration (30m, 90s)") }
                if confidence != nil, flaky == nil { throw TidemarkError(.invalidArgument, "--confidence applies to a flaky search: add --flaky") }
                try await access.with(json: output.json) { runner, culprits in
                    let session = try await runner.start(
                        good: good, bad: bad, root: root ?? "/", host: host, test: test, timeout: seconds, flaky: flaky != nil, flakeRate: flakeRate, confidence: confidence)
                    if !output.json {
                        Output.line("bisection \(session.id): \(session.groups.count) group\(session.groups.count == 1 ? "" : "s") of changes between \(session.goodState.short) and \(session.badState.short) on \(session.target)\(session.options.flaky ? " (flake-aware, confidence \(session.options.confidence))" : "; at most \(BisectSearch.bound(groups: session.groups.count)) test runs")")
                        for (i, g) in session.groups.enumerated() { Output.line("  \(i + 1). \(g.source): \(g.text)") }
                    }
                    if noRun {
                        if output.json { try Output.json(try await BisectView.of(session, culprits)) }
                        return
                    }
                    try await BisectCommand.finish(try await runner.run(session), culprits, json: output.json)
                }
            }
        }
    }

    /// Prints the end of a run and exits non-zero unless it named a culprit or combination.
    static func finish(_ session: BisectSession, _ culprits: any CulpritStore, json: Bool) async throws {
        let view = try await BisectView.of(session, culprits)
        if json { try Output.json(view) } else { BisectPrinter.report(view) }
        switch (session.status, session.report?.verdict) {
        case (.finished, .culprit?), (.finished, .combination?): return
        default: throw ExitCode(1)
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Continue a stored bisection (after an interruption, or one started with --no-run).")
        @OptionGroup var access: BisectAccess
        @OptionGroup var output: OutputOptions
        @Argument(help: "The bisection id (default: the newest running one).") var id: Int64?

        func run() async throws {
            try await reportingErrors {
                try await access.with(json: output.json) { runner, culprits in
                    var session = try await BisectAccess.session(id, in: culprits, running: true)
                    if session.status == .aborted {
                        // an abort (a test that timed out or exited above 127) may be run again
                        try await culprits.setBisectStatus(id: session.id, .running, report: nil, message: nil, now: Clock.now())
                        session.status = .running
                    }
                    guard session.status == .running else {
                        throw TidemarkError(.conflict, "bisection \(session.id) is \(session.status.rawValue): nothing to run (`tidemark bisect status \(session.id)`)")
                    }
                    try await BisectCommand.finish(try await runner.run(session), culprits, json: output.json)
                }
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Where a bisection stands: candidates, runs so far, or its report.")
        @OptionGroup var access: BisectAccess
        @OptionGroup var output: OutputOptions
        @Argument(help: "The bisection id (default: the newest).") var id: Int64?

        func run() async throws {
            try await reportingErrors {
                try await access.with { _, culprits in
                    let view = try await BisectView.of(try await BisectAccess.session(id, in: culprits), culprits)
                    if output.json { return try Output.json(view) }
                    BisectPrinter.report(view)
                }
            }
        }
    }

    struct Log: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every step of a bisection: what was installed, what the test said.")
        @OptionGroup var access: BisectAccess
        @OptionGroup var output: OutputOptions
        @Argument(help: "The bisection id (default: the newest).") var id: Int64?

        func run() async throws {
            try await reportingErrors {
                try await access.with { _, culprits in
                    let view = try await BisectView.of(try await BisectAccess.session(id, in: culprits), culprits)
                    if output.json { return try Output.json(view.runs) }
                    BisectPrinter.log(view)
                }
            }
        }
    }

    struct Reset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Put the root back into the state it was in when the bisection started, and end it.")
        @OptionGroup var access: BisectAccess
        @OptionGroup var output: OutputOptions
        @Argument(help: "The bisection id (default: the newest running one).") var id: Int64?

        func run() async throws {
            try await reportingErrors {
                try await access.with(json: output.json) { runner, culprits in
                    let session = try await BisectAccess.session(id, in: culprits, running: true)
                    guard session.status != .reset else { throw TidemarkError(.conflict, "bisection \(session.id) was reset already") }
                    let report = try await runner.reset(session)
                    if output.json { try Output.json(report) } else {
                        RollbackCommand.print(report)
                        if report.status != .failed { Output.line("bisection \(session.id) reset: \(session.target) is back in state \(session.original.short)") }
                    }
                    if report.status == .failed { throw ExitCode(1) }
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every bisection, newest first.")
        @OptionGroup var access: BisectAccess
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await reportingErrors {
                try await access.with { _, culprits in
                    let all = try await culprits.bisects(activeOnly: false)
                    if output.json { return try Output.json(all) }
                    var t = Table("ID", "STATUS", "TARGET", "GROUPS", "STARTED", "RESULT")
                    for s in all {
                        t.add(String(s.id), s.status.rawValue, s.target.description, String(s.groups.count), s.createdAt.short,
                              s.report.map { BisectPrinter.verdict($0, groups: s.groups) } ?? (s.message ?? ""))
                    }
                    t.print()
                }
            }
        }
    }
}

/// A session with its runs, as `status` and `log` show it.
struct BisectView: Encodable {
    var session: BisectSession
    var runs: [BisectStepRecord]
    /// The most test runs a deterministic search may use (ceil(log2 N) + 1).
    var bound: Int
    /// The culprit groups, named (when it ended with one).
    var culprits: [BisectGroup]
    /// Where the search stands (running sessions).
    var next: BisectRequest?
    var progress: BisectProgress?

    static func of(_ session: BisectSession, _ store: any CulpritStore) async throws -> BisectView {
        let runs = try await store.bisectRuns(session: session.id)
        var view = BisectView(
            session: session, runs: runs, bound: BisectSearch.bound(groups: session.groups.count),
            culprits: (session.report?.culprits ?? []).compactMap { session.groups.indices.contains($0) ? session.groups[$0] : nil })
        if session.status == .running, case .test(let request, let progress) = BisectSearch.next(session.options, runs: runs.map(\.run)) {
            view.next = request
            view.progress = progress
        }
        return view
    }
}

enum BisectPrinter {
    static func names(_ indices: [Int], _ groups: [BisectGroup]) -> String {
        indices.map { groups.indices.contains($0) ? groups[$0].source : "#\($0)" }.joined(separator: ", ")
    }

    static func verdict(_ r: BisectReport, groups: [BisectGroup]) -> String {
        switch r.verdict {
        case .culprit: return "culprit: \(names(r.culprits, groups))"
        case .combination: return "combination: \(names(r.culprits, groups))"
        case .undecided: return "undecided between \(names(r.candidates, groups))"
        case .noFailure: return "the bad state does not fail the test"
        }
    }

    static func report(_ v: BisectView) {
        let s = v.session
        Output.line("bisection \(s.id) (\(s.status.rawValue)) on \(s.target): --good \(s.good) (\(s.goodState.short)) --bad \(s.bad) (\(s.badState.short))")
        Output.line("test: \(s.test)\(s.options.flaky ? " (flaky\(s.options.flakeRate.map { ", guessed rate \($0)" } ?? ""); confidence \(s.options.confidence))" : "")")
        let ran = v.runs.filter { $0.outcome.ran }.count
        Output.line("\(s.groups.count) group\(s.groups.count == 1 ? "" : "s"); \(ran) test run\(ran == 1 ? "" : "s")\(s.status == .running ? " so far" : "")\(s.options.flaky ? "" : " (at most \(v.bound) without skips)")")
        if let m = s.message { Output.line("stopped: \(m)") }
        if let p = v.progress, let n = v.next {
            Output.line("next: \(n.purpose.rawValue) with \(n.groups.count) group\(n.groups.count == 1 ? "" : "s"); \(p.candidates.count) candidate\(p.candidates.count == 1 ? "" : "s") left: \(names(Array(p.candidates.prefix(10)), s.groups))\(p.candidates.count > 10 ? ", …" : "")")
        }
        guard let r = s.report else { return }
        Output.line()
        switch r.verdict {
        case .culprit:
            let g = s.groups[r.culprits[0]]
            Output.line("culprit: \(g.source): \(g.text)")
        case .combination:
            Output.line("no single change fails alone; this combination does (removing any one of them makes the failure go away):")
            for i in r.culprits { Output.line("  \(s.groups[i].source): \(s.groups[i].text)") }
        case .undecided:
            Output.line("undecided: the runs cannot separate \(names(r.candidates, s.groups)) (steps between them could not be installed or tested)")
        case .noFailure:
            Output.line("no failure: the bad state passes the test\(s.options.flaky ? " (its failures are explained by flakes alone)" : ""): nothing to find")
        }
        Output.line("confidence \(String(format: "%.4f", r.confidence)); \(r.runs) test run\(r.runs == 1 ? "" : "s")\(r.uninstallable > 0 ? ", \(r.uninstallable) step\(r.uninstallable == 1 ? "" : "s") not installable" : "")\(r.flakeEstimate.map { String(format: "; flake rate ≈ %.2f", $0) } ?? "")")
        if !r.evidence.isEmpty {
            Output.line("evidence:")
            for i in r.evidence where v.runs.indices.contains(i) { Output.line("  " + line(v.runs[i], s.groups)) }
        }
    }

    static func line(_ run: BisectStepRecord, _ groups: [BisectGroup]) -> String {
        let what: String
        if run.groups.isEmpty {
            what = "the good state"
        } else if run.groups == Array(0..<groups.count) {
            what = "the bad state (all \(groups.count) groups)"
        } else if let last = run.groups.last, run.groups == Array(0...last), run.groups.count > 2 {
            what = "good + the first \(run.groups.count) groups (through \(groups[last].source))"
        } else {
            what = "good + \(names(run.groups, groups))"
        }
        return "step \(run.seq) [\(run.purpose.rawValue)] \(what): \(run.outcome.rawValue)\(run.exitStatus.map { " (exit \($0))" } ?? "")"
    }

    static func log(_ v: BisectView) {
        var t = Table("STEP", "PURPOSE", "STATE", "OUTCOME", "EXIT", "STARTED", "SECONDS", "GROUPS")
        for r in v.runs {
            t.add(String(r.seq), r.purpose.rawValue, r.state?.short ?? "-", r.outcome.rawValue, r.exitStatus.map(String.init) ?? "-", r.startedAt.short,
                  String(r.finishedAt.seconds - r.startedAt.seconds), r.groups.count == v.session.groups.count ? "all" : names(r.groups, v.session.groups))
        }
        t.print()
        for r in v.runs where !r.note.isEmpty && r.outcome != .good {
            Output.line("step \(r.seq): \(r.note.trimmed.split(separator: "\n").suffix(3).joined(separator: " | "))")
        }
    }
}
