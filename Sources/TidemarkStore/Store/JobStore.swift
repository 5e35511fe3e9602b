import TidemarkCore

/// Jobs for agents (`HostJob`): created by an operator, claimed and finished by the host's agent.
public protocol JobStore: Sendable {
    func createJob(host: String, kind: HostJob.Kind, target: StateID, dryRun: Bool, now: Timestamp) async throws -> HostJob
    func job(id: Int64) async throws -> HostJob?
    /// A host's jobs, oldest first; only those with one of `statuses` when given.
    func jobs(host: String, statuses: [HostJob.Status]?) async throws -> [HostJob]
    /// pending → running. `conflict` when the job is not pending (claimed twice, finished).
    func claimJob(id: Int64, now: Timestamp) async throws -> HostJob
    /// running (or pending) → succeeded / failed. `conflict` when already finished.
    func finishJob(id: Int64, succeeded: Bool, resultState: StateID?, message: String?, output: String?, now: Timestamp) async throws -> HostJob
}
