/// A rollout as created: what it changes on which hosts, under which policy. It never changes
/// after creation (the plan and policy a decision rests on must stay what they were); its
/// progress is `RolloutProgress`, its history the `RolloutEvent`s.
public struct Rollout: Sendable, Hashable, Codable {
    public var id: Int64
    /// What the operator asked for, for people: `--target worker1@2025-01-21` or
    /// `--updates-from http://…/devel`.
    public var target: String
    public var createdAt: Timestamp
    public var createdBy: String
    public var policy: RolloutPolicy
    public var plan: RolloutPlan

    public init(id: Int64, target: String, createdAt: Timestamp, createdBy: String, policy: RolloutPolicy, plan: RolloutPlan) {
        self.id = id
        self.target = target
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.policy = policy
        self.plan = plan
    }

    /// The wave a host is in, if the rollout changes it.
    public func wave(of host: String) -> Int? {
        plan.waves.firstIndex { $0.contains { $0.host == host } }
    }

    public func hostPlan(_ host: String) -> RolloutPlan.HostPlan? {
        plan.waves.joined().first { $0.host == host }
    }
}

/// Where a rollout stands. Only `RolloutMachine` moves it, so that a restarted server, or
/// another server taking over, continues from exactly this value.
public struct RolloutProgress: Sendable, Hashable, Codable {
    public enum Phase: String, Sendable, Hashable, Codable, CaseIterable {
        /// Waiting for the required checks (pending or failed without a waiver).
        case gating
        /// Waiting for a person's `approve` before wave `wave`.
        case awaitingApproval = "awaiting-approval"
        /// Wave `wave`'s transactions are running on its hosts.
        case applying
        /// Wave `wave` is updated; waiting `soak` seconds before judging it.
        case soaking
        /// Judging wave `wave`'s health.
        case analyzing
        /// Returning the hosts the rollout changed to their earlier states.
        case rollingBack = "rolling-back"
        /// Every wave updated and healthy.
        case completed
        /// Stopped by a failure (`on-failure: halt`, a failed rollback, a deadline); hosts left as they are.
        case halted
        /// Stopped by a failure, every changed host returned to its earlier state.
        case rolledBack = "rolled-back"
        /// Stopped by a person.
        case aborted

        public var isFinished: Bool { [.completed, .halted, .rolledBack, .aborted].contains(self) }
    }

    public var phase: Phase
    /// The wave the phase is about (0 = canary).
    public var wave: Int
    /// When the phase began: soak and deadlines count from here.
    public var since: Timestamp
    /// A person paused it: nothing advances until `resume`.
    public var paused: Bool
    /// Waves a person approved.
    public var approved: [Int]
    /// Hosts whose transaction was started: these are rolled back on failure.
    public var touched: [String]
    /// The latest verdict of every check evaluated so far (required and per-wave health), by name.
    public var verdicts: [String: GateVerdict]
    /// Why the rollout stopped, when it did.
    public var outcome: String?

    public init(phase: Phase, wave: Int = 0, since: Timestamp, paused: Bool = false, approved: [Int] = [], touched: [String] = [], verdicts: [String: GateVerdict] = [:], outcome: String? = nil) {
        self.phase = phase
        self.wave = wave
        self.since = since
        self.paused = paused
        self.approved = approved
        self.touched = touched
        self.verdicts = verdicts
        self.outcome = outcome
    }
}

/// One line of a rollout's log: every decision with what it rested on (the verdicts and the
/// waivers that changed them), and the progress it led to, so that `explain --at` can replay the
/// rollout as it stood at any moment.
public struct RolloutEvent: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case created, check, decision, jobs, `operator`, waiver
    }

    public var at: Timestamp
    public var kind: Kind
    public var message: String
    /// The verdicts this event rests on (a decision names every check and waiver it used).
    public var verdicts: [GateVerdict]
    /// Who, for operator actions and waivers.
    public var by: String?
    /// The progress right after this event.
    public var progress: RolloutProgress

    public init(at: Timestamp, kind: Kind, message: String, verdicts: [GateVerdict] = [], by: String? = nil, progress: RolloutProgress) {
        self.at = at
        self.kind = kind
        self.message = message
        self.verdicts = verdicts
        self.by = by
        self.progress = progress
    }
}
