/// One candidate of a bisection: the changes of one source package between the good and the
/// bad state (every binary package built from it moves together).
public struct BisectGroup: Sendable, Hashable, Codable {
    public var source: String
    /// Packages of the good state this group replaces or removes.
    public var removed: [Package]
    /// Packages of the bad state this group brings.
    public var added: [Package]
    /// When the group's change happened on the bad ref's host, when known (the search order).
    public var changedAt: Timestamp?

    public init(source: String, removed: [Package], added: [Package], changedAt: Timestamp?) {
        self.source = source
        self.removed = removed
        self.added = added
        self.changedAt = changedAt
    }

    /// `perl-Mojo-IOLoop-ReadWriteProcess 0.34-1.1 → 0.35-1.1` (every package of the group).
    public var text: String {
        var parts: [String] = []
        let old = Dictionary(removed.map { ("\($0.name)|\($0.arch)", $0) }, uniquingKeysWith: { a, _ in a })
        var seen: Set<String> = []
        for p in added.sorted(by: { $0.name < $1.name }) {
            let k = "\(p.name)|\(p.arch)"
            seen.insert(k)
            parts.append("\(p.name) \(old[k]?.evr.description ?? "(new)") → \(p.evr.description)")
        }
        for p in removed.sorted(by: { $0.name < $1.name }) where !seen.contains("\(p.name)|\(p.arch)") {
            parts.append("\(p.name) \(p.evr.description) → (removed)")
        }
        return parts.joined(separator: ", ")
    }

    /// The changes from `good` to `bad` grouped by source package, in the order they happened
    /// (`times`: install times by `Package.identityKey` on the bad ref's host; unknown ones
    /// last), ties by name: the order a prefix bisection walks.
    public static func between(good: [Package], bad: [Package], times: [String: Int64] = [:]) -> [BisectGroup] {
        let g = Set(good), b = Set(bad)
        var groups: [String: BisectGroup] = [:]
        for p in good where !b.contains(p) {
            groups[p.sourceName, default: BisectGroup(source: p.sourceName, removed: [], added: [], changedAt: nil)].removed.append(p)
        }
        for p in bad where !g.contains(p) {
            var x = groups[p.sourceName, default: BisectGroup(source: p.sourceName, removed: [], added: [], changedAt: nil)]
            x.added.append(p)
            if let t = times[p.identityKey] { x.changedAt = max(x.changedAt ?? Timestamp(seconds: t), Timestamp(seconds: t)) }
            groups[p.sourceName] = x
        }
        return groups.values.sorted { a, b in
            switch (a.changedAt, b.changedAt) {
            case let (x?, y?) where x != y: return x < y
            case (_?, nil): return true
            case (nil, _?): return false
            default: return a.source < b.source
            }
        }
    }

    /// The packages of good with the given groups applied: what a step installs.
    public static func apply(_ groups: [BisectGroup], to good: [Package]) -> [Package] {
        let removed = Set(groups.flatMap(\.removed))
        return good.filter { !removed.contains($0) } + groups.flatMap(\.added)
    }
}

/// Where a bisection installs its steps.
public enum BisectTarget: Sendable, Hashable, Codable, CustomStringConvertible {
    /// A root directory on this machine (`rpm --root`, `zypper --root`).
    case root(String)

    public var description: String {
        switch self {
        case .root(let r): return r == "/" ? "this machine (/)" : "root \(r)"
        }
    }
}

/// A bisection as started: everything needed to resume it after an interruption.
public struct BisectSession: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable {
        /// Steps remain (or the last run was interrupted).
        case running
        /// The search ended; the report is stored.
        case finished
        /// The test command asked to abort (exit above 127) or a step could not run.
        case aborted
        /// `bisect reset`: the target was put back; the session is kept as history.
        case reset
    }

    public var id: Int64
    public var good: String
    public var bad: String
    public var goodState: StateID
    public var badState: StateID
    public var host: String
    public var target: BisectTarget
    /// The state the target was in when the bisection started (`reset` returns to it).
    public var original: StateID
    public var test: String
    /// Seconds one test run may take.
    public var timeout: Int
    public var options: BisectOptions
    public var groups: [BisectGroup]
    public var status: Status
    public var createdAt: Timestamp
    public var report: BisectReport?
    /// Why it aborted.
    public var message: String?

    public init(
        id: Int64 = 0, good: String, bad: String, goodState: StateID, badState: StateID, host: String, target: BisectTarget, original: StateID, test: String,
        timeout: Int, options: BisectOptions, groups: [BisectGroup], status: Status = .running, createdAt: Timestamp, report: BisectReport? = nil, message: String? = nil
    ) {
        self.id = id
        self.good = good
        self.bad = bad
        self.goodState = goodState
        self.badState = badState
        self.host = host
        self.target = target
        self.original = original
        self.test = test
        self.timeout = timeout
        self.options = options
        self.groups = groups
        self.status = status
        self.createdAt = createdAt
        self.report = report
        self.message = message
    }
}

/// One test run of a bisection, as recorded (the search replays these to resume).
public struct BisectStepRecord: Sendable, Hashable, Codable {
    public var session: Int64
    public var seq: Int
    public var groups: [Int]
    public var purpose: BisectRequest.Purpose
    public var outcome: BisectOutcome
    /// The test command's exit status (nil when the step was skipped before it ran).
    public var exitStatus: Int32?
    /// The state the target was in when the test ran.
    public var state: StateID?
    public var startedAt: Timestamp
    public var finishedAt: Timestamp
    /// Why it was skipped, or the last lines of the test's output.
    public var note: String

    public init(session: Int64, seq: Int, groups: [Int], purpose: BisectRequest.Purpose, outcome: BisectOutcome, exitStatus: Int32?, state: StateID?, startedAt: Timestamp, finishedAt: Timestamp, note: String) {
        self.session = session
        self.seq = seq
        self.groups = groups
        self.purpose = purpose
        self.outcome = outcome
        self.exitStatus = exitStatus
        self.state = state
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.note = note
    }

    public var run: BisectRun { BisectRun(groups: groups, purpose: purpose, outcome: outcome) }
}

/// `git bisect run`'s convention for the test command's exit status.
public enum BisectExit: Sendable, Hashable {
    case outcome(BisectOutcome)
    /// Above 127 (or killed by a signal): stop the bisection.
    case abort

    public init(status: Int32) {
        switch status {
        case 0: self = .outcome(.good)
        case 125: self = .outcome(.skip)
        case 1...127: self = .outcome(.bad)
        default: self = .abort
        }
    }
}
