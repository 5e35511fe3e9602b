/// Work the server asks a host's agent to do (a rollback, a rollout's transaction or health
/// check). The
/// server cannot reach into hosts (they may sit behind NAT, and only the agent holds root
/// there), so agents fetch their pending jobs with each report and post the result back.
public struct HostJob: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// Turn the host's packages into exactly `target`'s.
        case rollback
        /// The same transaction for a rollout wave: turn the host into exactly `target`'s packages.
        case apply
        /// Run `command` on the host (a rollout's health check); succeeded means exit 0.
        case check
    }

    public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
        case pending, running, succeeded, failed
        public var isFinished: Bool { self == .succeeded || self == .failed }
    }

    public var id: Int64
    public var host: String
    public var kind: Kind
    public var target: StateID
    /// Plan and print, change nothing.
    public var dryRun: Bool
    public var status: Status
    public var createdAt: Timestamp
    public var startedAt: Timestamp?
    public var finishedAt: Timestamp?
    /// The host's state after the job (what the agent collected afterwards).
    public var resultState: StateID?
    /// One line for people: what happened, or why it failed.
    public var message: String?
    /// The package manager's own output.
    public var output: String?
    /// The rollout this job belongs to, and which of its steps (`wave-0-apply`, `rollback` …).
    public var rollout: Int64?
    public var step: String?
    /// For `check`: the shell command, and the seconds it may take.
    public var command: String?
    public var timeout: Int?

    public init(
        id: Int64, host: String, kind: Kind, target: StateID, dryRun: Bool, status: Status, createdAt: Timestamp,
        startedAt: Timestamp? = nil, finishedAt: Timestamp? = nil, resultState: StateID? = nil, message: String? = nil, output: String? = nil,
        rollout: Int64? = nil, step: String? = nil, command: String? = nil, timeout: Int? = nil
    ) {
        self.rollout = rollout
        self.step = step
        self.command = command
        self.timeout = timeout
        self.id = id
        self.host = host
        self.kind = kind
        self.target = target
        self.dryRun = dryRun
        self.status = status
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.resultState = resultState
        self.message = message
        self.output = output
    }

    private enum CodingKeys: String, CodingKey {
        case id, host, kind, target, dryRun, status, createdAt, startedAt, finishedAt, resultState, message, output, rollout, step, command, timeout
    }

    /// Every key always present (`null` where absent): read by scripts.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(host, forKey: .host)
        try c.encode(kind, forKey: .kind)
        try c.encode(target, forKey: .target)
        try c.encode(dryRun, forKey: .dryRun)
        try c.encode(status, forKey: .status)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(startedAt, forKey: .startedAt)
        try c.encode(finishedAt, forKey: .finishedAt)
        try c.encode(resultState, forKey: .resultState)
        try c.encode(message, forKey: .message)
        try c.encode(output, forKey: .output)
        try c.encode(rollout, forKey: .rollout)
        try c.encode(step, forKey: .step)
        try c.encode(command, forKey: .command)
        try c.encode(timeout, forKey: .timeout)
    }
}
