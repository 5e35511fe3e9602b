import Foundation
import TidemarkArchive
import TidemarkCore
import TidemarkHosts
import TidemarkRollouts
import TidemarkStore

/// Runs a bisection on a root: each step puts the target in the good state plus a subset of the
/// changes (exactly, with zypper, from the archive: `HostRollback`), runs the test command, and
/// records the run before asking `BisectSearch` for the next step. A step zypper cannot install
/// is a skip, not a failure. Everything is recorded as it happens, so a killed bisection resumes
/// where it was (the interrupted step runs again).
public struct BisectRunner: Sendable {
    /// Where the session and its runs are kept (and the states it installs, so that it resumes
    /// and resets without asking anyone).
    public let history: any HistoryStore
    public let culprits: any CulpritStore
    /// Where refs are resolved and package files come from.
    public let source: any BisectSource
    /// Progress lines, as they happen.
    public let log: @Sendable (String) -> Void
    public let now: @Sendable () -> Timestamp

    public init(history: any HistoryStore, culprits: any CulpritStore, source: any BisectSource, now: @escaping @Sendable () -> Timestamp, log: @escaping @Sendable (String) -> Void) {
        self.history = history
        self.culprits = culprits
        self.source = source
        self.now = now
        self.log = log
    }

    /// Resolves the refs, groups the changes between them, checks that every package a step may
    /// need is archived, and stores the session (nothing is installed yet).
    public func start(
        good: String, bad: String, root: String, host: String?, test: String, timeout: Int, flaky: Bool, flakeRate: Double?, confidence: Double?
    ) async throws -> BisectSession {
        guard !test.trimmed.isEmpty else { throw TidemarkError(.invalidArgument, "--test: the command is empty") }
        guard timeout > 0 else { throw TidemarkError(.invalidArgument, "--timeout: must be at least 1 second") }
        if let r = flakeRate, !(r > 0 && r < 1) { throw TidemarkError(.invalidArgument, "--flaky \(r): the flake rate must be between 0 and 1 (exclusive)") }
        if let c = confidence, !(c > 0.5 && c < 1) { throw TidemarkError(.invalidArgument, "--confidence \(c): must be above 0.5 and below 1") }
        let g = try await source.show(good), b = try await source.show(bad)
        let goodState = PackageState(g.packages.map { $0.package(format: .rpm) }), badPackages = b.packages.map { $0.package(format: .rpm) }
        var times: [String: Int64] = [:]
        for (p, shown) in zip(badPackages, b.packages) { if let t = shown.installTime { times[p.identityKey] = t.seconds } }
        let groups = BisectGroup.between(good: goodState.packages, bad: badPackages, times: times)
        guard !groups.isEmpty else {
            throw TidemarkError(.invalidArgument, "--good \(good) and --bad \(bad) are the same state (\(g.state.state.short)): nothing to bisect")
        }
        // every file a step may install, before the root is touched
        try await source.requireArchived(groups.flatMap { $0.added + $0.removed })
        let inventory = try HostCollector.collect(root: root)
        guard inventory.format == .rpm else {
            throw TidemarkError(.invalidArgument, "\(root): bisection installs its steps with zypper, but this root's packages are \(inventory.format.rawValue) packages")
        }
        let original = PackageState(inventory.packages.map(\.package))
        try await history.storeStates([goodState, original], bases: [nil, nil])
        var options = BisectOptions(groups: groups.count, flaky: flaky, flakeRate: flakeRate)
        if let confidence { options.confidence = confidence }
        let session = BisectSession(
            good: good, bad: bad, goodState: goodState.id, badState: b.state.state, host: host ?? b.state.host ?? g.state.host ?? "bisect", target: .root(root), original: original.id, test: test,
            timeout: timeout, options: options, groups: groups, createdAt: now())
        return try await culprits.createBisect(session)
    }

    /// Runs the session's remaining steps to its end (or an abort) and returns it as stored then.
    public func run(_ session: BisectSession) async throws -> BisectSession {
        guard session.status == .running else { return session }
        guard case .root(let root) = session.target else { throw TidemarkError(.invalidArgument, "bisection \(session.id): unknown target") }
        guard let good = try await history.packages(of: session.goodState) else {
            throw TidemarkError(.notFound, "bisection \(session.id): the store has no packages for the good state \(session.goodState.short)")
        }
        var runs = try await culprits.bisectRuns(session: session.id)
        if !runs.isEmpty { log("resuming bisection \(session.id) after \(runs.count) run\(runs.count == 1 ? "" : "s")") }
        while true {
            switch BisectSearch.next(session.options, runs: runs.map(\.run)) {
            case .done(let report):
                try await culprits.setBisectStatus(id: session.id, .finished, report: report, message: nil, now: now())
                return try await culprits.bisect(id: session.id) ?? session
            case .test(let request, let progress):
                let seq = (runs.last?.seq ?? 0) + 1
                log(Self.describe(request, progress: progress, seq: seq, session: session))
                let result = try await step(session, request, seq: seq, root: root, good: good)
                switch result {
                case .recorded(let record):
                    try await culprits.recordBisectRun(record)
                    runs.append(record)
                    log("  step \(seq): \(record.outcome.rawValue)\(record.exitStatus.map { " (exit \($0))" } ?? "")\(record.note.isEmpty ? "" : ": " + record.note)")
                case .abort(let message):
                    try await culprits.setBisectStatus(id: session.id, .aborted, report: nil, message: message, now: now())
                    log("  step \(seq): aborted: \(message)")
                    return try await culprits.bisect(id: session.id) ?? session
                }
            }
        }
    }

    enum StepResult {
        case recorded(BisectStepRecord)
        case abort(String)
    }

    func step(_ session: BisectSession, _ request: BisectRequest, seq: Int, root: String, good: [Package]) async throws -> StepResult {
        let chosen = request.groups.map { session.groups[$0] }
        let target = PackageState(BisectGroup.apply(chosen, to: good))
        let started = now()
        let work = FileManager.default.temporaryDirectory.path + "/tidemark-bisect-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: work) }
        let (report, _) = try await HostRollback.run(
            root: root, host: session.host, target: target.packages, targetID: target.id, dryRun: false, work: work, source: .snapshot, now: now,
            repository: { packages, dir in try await source.repository(for: packages, in: dir, now: now()) })
        func record(_ outcome: BisectOutcome, _ status: Int32?, _ note: String) -> StepResult {
            .recorded(BisectStepRecord(
                session: session.id, seq: seq, groups: request.groups, purpose: request.purpose, outcome: outcome, exitStatus: status,
                state: report.after ?? report.before, startedAt: started, finishedAt: now(), note: note))
        }
        if report.status == .failed {
            let why = report.message.split(separator: "\n").first.map(String.init) ?? "zypper failed"
            return record(.uninstallable, nil, "not installable: \(why)")
        }
        var env = ProcessInfo.processInfo.environment
        env["TIDEMARK_BISECT_SESSION"] = String(session.id)
        env["TIDEMARK_BISECT_STEP"] = String(seq)
        env["TIDEMARK_BISECT_PURPOSE"] = request.purpose.rawValue
        env["TIDEMARK_BISECT_STATE"] = target.id.hex
        env["TIDEMARK_BISECT_GROUPS"] = chosen.map(\.source).joined(separator: ",")
        env["TIDEMARK_BISECT_COUNT"] = String(chosen.count)
        env["TIDEMARK_ROOT"] = root
        env["TIDEMARK_HOST"] = session.host
        let ending = await CommandCheckRunner().execute(session.test, environment: env, timeout: session.timeout)
        guard let status = ending.status else {
            if ending.timedOut {
                return .abort("the test ran longer than \(session.timeout) s; `tidemark bisect resume` runs this step again (raise --timeout when starting)")
            }
            return .abort(ending.output)
        }
        switch BisectExit(status: status) {
        case .outcome(let o): return record(o, status, ending.output)
        case .abort: return .abort("the test exited \(status) (above 127: abort, as git bisect run does): \(ending.output)")
        }
    }

    /// Puts the target back into the state it was in when the session started and ends it.
    public func reset(_ session: BisectSession) async throws -> RollbackReport {
        guard case .root(let root) = session.target else { throw TidemarkError(.invalidArgument, "bisection \(session.id): unknown target") }
        guard let original = try await history.packages(of: session.original) else {
            throw TidemarkError(.notFound, "bisection \(session.id): the store has no packages for the original state \(session.original.short)")
        }
        let work = FileManager.default.temporaryDirectory.path + "/tidemark-bisect-reset-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: work) }
        let (report, _) = try await HostRollback.run(
            root: root, host: session.host, target: original, targetID: session.original, dryRun: false, work: work, source: .snapshot, now: now,
            repository: { packages, dir in try await source.repository(for: packages, in: dir, now: now()) })
        if report.status != .failed {
            try await culprits.setBisectStatus(id: session.id, .reset, report: session.report, message: session.message, now: now())
        }
        return report
    }

    static func describe(_ r: BisectRequest, progress p: BisectProgress, seq: Int, session: BisectSession) -> String {
        let what: String
        switch r.purpose {
        case .search:
            let last = r.groups.max().map { session.groups[$0].source } ?? "-"
            what = "the first \(r.groups.count) of \(session.groups.count) changes (through \(last))"
        case .verify: what = "\(r.groups.map { session.groups[$0].source }.joined(separator: ", ")) alone"
        case .confirm: what = "all \(r.groups.count) changes (the bad state)"
        case .minimize: what = "\(r.groups.count) changes: \(r.groups.map { session.groups[$0].source }.joined(separator: ", "))"
        }
        var line = "step \(seq) (\(r.purpose.rawValue)): testing \(what)"
        var about: [String] = []
        about.append("\(p.candidates.count) candidate\(p.candidates.count == 1 ? "" : "s") left")
        if let l = p.leading, let prob = p.probability, session.options.flaky { about.append("leading \(session.groups[l].source) at \(String(format: "%.3f", prob))") }
        if let f = p.flakeEstimate { about.append("flake rate ≈ \(String(format: "%.2f", f))") }
        line += " [" + about.joined(separator: ", ") + "]"
        return line
    }
}
