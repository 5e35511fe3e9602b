/// What `rollout create` asks for.
public struct RolloutRequest: Sendable, Hashable, Codable {
    /// The policy file's text (YAML), and its name for error messages.
    public var policy: String
    public var policyName: String?
    /// One state for every host (`--target REF`) …
    public var target: String?
    /// … or what this repository offers each host now (`--updates-from URL`).
    public var updatesFrom: String?
    /// Name patterns or labels (`--hosts`); none: every host.
    public var hosts: [String]?
    /// Plan and show, store nothing.
    public var dryRun: Bool?

    public init(policy: String, policyName: String? = nil, target: String? = nil, updatesFrom: String? = nil, hosts: [String]? = nil, dryRun: Bool? = nil) {
        self.policy = policy
        self.policyName = policyName
        self.target = target
        self.updatesFrom = updatesFrom
        self.hosts = hosts
        self.dryRun = dryRun
    }
}

/// A rollout as `rollout status` shows it: waves with each host's transaction and jobs, every
/// check with its evidence and the waiver that passed it, and where the rollout stands.
public struct RolloutStatus: Sendable, Hashable, Codable {
    public struct Host: Sendable, Hashable, Codable {
        public var host: String
        public var from: StateID
        public var to: StateID
        /// `install`, `upgrade` … counts of the transaction, for people: "2 upgrade, 1 install".
        public var changes: String
        public var jobs: [HostJob]
    }
    public struct Wave: Sendable, Hashable, Codable {
        public var index: Int
        /// `pending`, `applying`, `soaking`, `analyzing`, `done`, `rolled-back` …
        public var state: String
        public var hosts: [Host]
    }

    public var id: Int64
    public var target: String
    public var createdAt: Timestamp
    public var createdBy: String
    public var phase: RolloutProgress.Phase
    public var wave: Int
    public var since: Timestamp
    public var paused: Bool
    public var outcome: String?
    public var waves: [Wave]
    public var unchanged: [String]
    /// Every check of the policy in policy order; one never evaluated yet is pending.
    public var checks: [GateVerdict]
    public var waivers: [Waiver]
    public var packagesToFetch: Int
    /// Set by `explain --at`: the moment this view is of.
    public var at: Timestamp?

    public static func make(_ r: Rollout, progress: RolloutProgress, jobs: [HostJob], waivers: [Waiver], at: Timestamp?) -> RolloutStatus {
        let waves = r.plan.waves.enumerated().map { i, plans in
            Wave(index: i, state: waveState(i, progress), hosts: plans.map { p in
                let counts = Dictionary(grouping: p.transaction.steps, by: { $0.action.rawValue }).map { "\($0.value.count) \($0.key)" }.sorted()
                return Host(host: p.host, from: p.from, to: p.to, changes: counts.joined(separator: ", "),
                            jobs: jobs.filter { $0.host == p.host })
            })
        }
        let checks = r.policy.checkNames.map { name in
            progress.verdicts[name] ?? GateVerdict(result: CheckResult(check: name, status: .pending, evidence: "not evaluated yet", at: progress.since), status: .pending, waiver: nil)
        }
        return RolloutStatus(
            id: r.id, target: r.target, createdAt: r.createdAt, createdBy: r.createdBy, phase: progress.phase, wave: progress.wave,
            since: progress.since, paused: progress.paused, outcome: progress.outcome, waves: waves, unchanged: r.plan.unchanged,
            checks: checks, waivers: waivers, packagesToFetch: r.plan.packagesToFetch.count, at: at)
    }

    static func waveState(_ i: Int, _ p: RolloutProgress) -> String {
        if i > p.wave { return p.phase.isFinished ? "not started" : "pending" }
        if i < p.wave { return p.phase == .rolledBack || p.phase == .rollingBack ? p.phase.rawValue : "done" }
        switch p.phase {
        case .gating, .awaitingApproval: return p.phase.rawValue
        case .completed: return "done"
        default: return p.phase.rawValue
        }
    }
}


/// `rollout create`'s answer: the rollout as stored (or, for a dry run, as it would be) and the
/// exact per-host plan.
public struct RolloutCreated: Sendable, Hashable, Codable {
    public var rollout: RolloutStatus
    public var plan: RolloutPlan
    public var dryRun: Bool
    public init(rollout: RolloutStatus, plan: RolloutPlan, dryRun: Bool) {
        self.rollout = rollout
        self.plan = plan
        self.dryRun = dryRun
    }
}

/// `rollout explain --at`: the rollout as it stood then, and the log up to then.
public struct RolloutExplanation: Sendable, Hashable, Codable {
    public var rollout: RolloutStatus
    public var events: [RolloutEvent]
    public init(rollout: RolloutStatus, events: [RolloutEvent]) {
        self.rollout = rollout
        self.events = events
    }
}

/// Everything people do with rollouts, answered by a local store (`TidemarkRollouts`) or by a
/// server (`TidemarkClient`) with the same values, so the CLI prints the same either way.
public protocol RolloutOperations: Sendable {
    func createRollout(_ request: RolloutRequest) async throws -> RolloutCreated
    func rollouts() async throws -> [RolloutStatus]
    func rollout(_ id: Int64) async throws -> RolloutStatus
    func rolloutLog(_ id: Int64) async throws -> [RolloutEvent]
    /// `at`: a time as the CLI takes it (ISO 8601 or relative, `-2h`).
    func explainRollout(_ id: Int64, at: String) async throws -> RolloutExplanation
    func act(_ id: Int64, _ action: RolloutMachine.Action) async throws -> RolloutStatus
    /// `expires`: a time, or a duration from now (`2h`, `3d`).
    func waive(_ id: Int64, check: String, reason: String, expires: String) async throws -> Waiver
    func revokeWaiver(_ id: Int64) async throws -> Waiver
    func waivers(_ id: Int64) async throws -> [Waiver]
    /// Sets (or, with nil, removes) a label; returns the host's labels.
    func setLabel(host: String, key: String, value: String?) async throws -> [String: String]
    func labels() async throws -> [String: [String: String]]
}
