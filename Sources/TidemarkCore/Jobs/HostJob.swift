/// Work the server asks a host's agent to do (a rollback today; a rollout wave later). The
/// server cannot reach into hosts (they may sit behind NAT, and only the agent holds root
/// there), so agents fetch their pending jobs with each report and post the result back.
public struct HostJob: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// Turn the host's packages into exactly `target`'s.
        case rollback
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

    public init(
        id: Int64, host: String, kind: Kind, target: StateID, dryRun: Bool, status: Status, createdAt: Timestamp,
        startedAt: Timestamp? = nil, finishedAt: Timestamp? = nil, resultState: StateID? = nil, message: String? = nil, output: String? = nil
    ) {
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
        case id, host, kind, target, dryRun, status, createdAt, startedAt, finishedAt, resultState, message, output
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
    }
}
