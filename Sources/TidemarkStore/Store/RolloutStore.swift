import TidemarkCore

/// A rollout as stored: what it is, where it stands, and the optimistic-lock version its next
/// write must name.
public struct StoredRollout: Sendable, Hashable {
    public var rollout: Rollout
    public var progress: RolloutProgress
    public var version: Int64
    public var leaseOwner: String?
    public var leaseUntil: Timestamp?

    public init(rollout: Rollout, progress: RolloutProgress, version: Int64, leaseOwner: String?, leaseUntil: Timestamp?) {
        self.rollout = rollout
        self.progress = progress
        self.version = version
        self.leaseOwner = leaseOwner
        self.leaseUntil = leaseUntil
    }
}

/// Rollouts, their event logs, waivers and host labels. Every change of a rollout is one
/// transaction that writes the new progress (only if the version is still the one read: two
/// servers can never both advance it), its log lines and the agents' jobs it asks for, so a crash
/// at any point leaves either all of a step or none of it.
public protocol RolloutStore: Sendable {
    /// Stores a new rollout (its `id` is assigned) with its first progress and log line.
    func createRollout(_ rollout: Rollout, progress: RolloutProgress, event: RolloutEvent) async throws -> StoredRollout
    func rollout(id: Int64) async throws -> StoredRollout?
    /// All rollouts, newest first; only unfinished ones with `activeOnly`.
    func rollouts(activeOnly: Bool) async throws -> [StoredRollout]
    /// Takes or renews the lease on a rollout for `owner` until `until`, unless another owner
    /// holds an unexpired one. Returns whether `owner` holds it now.
    func lease(rollout id: Int64, owner: String, now: Timestamp, until: Timestamp) async throws -> Bool
    /// Releases `owner`'s lease (shutdown), so another server need not wait for it to expire.
    func releaseLeases(owner: String) async throws
    /// Writes a step: progress, events and jobs together, if `expectedVersion` is still current
    /// (else `conflict`, nothing written). Returns the new version and the jobs created.
    func advance(rollout id: Int64, expectedVersion: Int64, progress: RolloutProgress, events: [RolloutEvent], jobs: [RolloutMachine.JobRequest], now: Timestamp) async throws -> (version: Int64, jobs: [HostJob])
    /// The log, oldest first; only lines at or before `until` when given.
    func events(rollout id: Int64, until: Timestamp?) async throws -> [RolloutEvent]
    func jobs(rollout id: Int64) async throws -> [HostJob]

    /// Records a waiver for a check of a rollout and logs it in the rollout's history.
    func createWaiver(rollout id: Int64, check: String, reason: String, by: String, expiresAt: Timestamp, now: Timestamp) async throws -> Waiver
    func revokeWaiver(id: Int64, by: String, now: Timestamp) async throws -> Waiver
    /// Every waiver of the rollout (revoked and expired ones too), oldest first.
    func waivers(rollout id: Int64) async throws -> [Waiver]

    /// The operator's labels on hosts (`role=worker`), by which `--hosts` selects.
    func setLabel(host: String, key: String, value: String?) async throws
    func labels() async throws -> [String: [String: String]]
}
