import SQLKit
import TidemarkCore

/// `JobStore` on the history store's SQL backend (table `host_jobs`, schema migration 3).
public struct SQLJobStore: JobStore {
    public let backend: any SQLBackend
    public init(backend: any SQLBackend) { self.backend = backend }

    static let columns = "id, host, kind, target, dry_run, status, created_at, started_at, finished_at, result_state, message, output, rollout_id, step, command, timeout"

    public func createJob(host: String, kind: HostJob.Kind, target: StateID, dryRun: Bool, now: Timestamp) async throws -> HostJob {
        try Observation.validateHostName(host)
        let backend = self.backend
        return try await backend.transaction { db in
            // One job at a time per host: a second rollback queued behind the first would run
            // against a state nobody planned for.
            try await backend.lockHost(host, db: db)
            if let r = try await db.raw("SELECT id, status FROM host_jobs WHERE host = \(bind: host) AND status IN ('pending', 'running') ORDER BY id LIMIT 1").first() {
                throw TidemarkError(
                    .conflict,
                    "host \(host) already has job \(try r.decode(column: "id", as: Int64.self)) (\(try r.decode(column: "status", as: String.self))); wait for it to finish")
            }
            guard let r = try await db.raw("""
                INSERT INTO host_jobs (host, kind, target, dry_run, status, created_at)
                VALUES (\(bind: host), \(bind: kind.rawValue), \(bind: target.hex), \(bind: dryRun), 'pending', \(bind: now.seconds))
                RETURNING \(unsafeRaw: Self.columns)
                """).first()
            else { throw TidemarkError(.storage, "inserting the job returned no row") }
            return try Self.job(r)
        }
    }

    public func job(id: Int64) async throws -> HostJob? {
        try await backend.read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.columns) FROM host_jobs WHERE id = \(bind: id)").first().map(Self.job)
        }
    }

    public func jobs(host: String, statuses: [HostJob.Status]?) async throws -> [HostJob] {
        try await backend.read { db in
            // An agent asks for its pending jobs with every report: only those rows, by the (host, status) index.
            guard let statuses else {
                return try await db.raw("SELECT \(unsafeRaw: Self.columns) FROM host_jobs WHERE host = \(bind: host) ORDER BY id").all().map(Self.job)
            }
            guard !statuses.isEmpty else { return [] }
            return try await db.raw("""
                SELECT \(unsafeRaw: Self.columns) FROM host_jobs WHERE host = \(bind: host) AND status IN (\(binds: statuses.map(\.rawValue))) ORDER BY id
                """).all().map(Self.job)
        }
    }

    public func claimJob(id: Int64, now: Timestamp) async throws -> HostJob {
        try await backend.transaction { db in
            if let r = try await db.raw("""
                UPDATE host_jobs SET status = 'running', started_at = \(bind: now.seconds) WHERE id = \(bind: id) AND status = 'pending'
                RETURNING \(unsafeRaw: Self.columns)
                """).first() {
                return try Self.job(r)
            }
            guard let r = try await db.raw("SELECT status FROM host_jobs WHERE id = \(bind: id)").first() else {
                throw TidemarkError(.notFound, "no job with id \(id)")
            }
            throw TidemarkError(.conflict, "job \(id) is \(try r.decode(column: "status", as: String.self)), not pending")
        }
    }

    public func finishJob(id: Int64, succeeded: Bool, resultState: StateID?, message: String?, output: String?, now: Timestamp) async throws -> HostJob {
        try await backend.transaction { db in
            if let r = try await db.raw("""
                UPDATE host_jobs SET status = \(bind: succeeded ? "succeeded" : "failed"), finished_at = \(bind: now.seconds),
                    started_at = COALESCE(started_at, \(bind: now.seconds)), result_state = \(bind: resultState?.hex), message = \(bind: message), output = \(bind: output)
                WHERE id = \(bind: id) AND status IN ('pending', 'running')
                RETURNING \(unsafeRaw: Self.columns)
                """).first() {
                return try Self.job(r)
            }
            guard let r = try await db.raw("SELECT status FROM host_jobs WHERE id = \(bind: id)").first() else {
                throw TidemarkError(.notFound, "no job with id \(id)")
            }
            throw TidemarkError(.conflict, "job \(id) is already \(try r.decode(column: "status", as: String.self))")
        }
    }

    static func job(_ r: any SQLRow) throws -> HostJob {
        let kindText = try r.decode(column: "kind", as: String.self), statusText = try r.decode(column: "status", as: String.self)
        guard let kind = HostJob.Kind(rawValue: kindText), let status = HostJob.Status(rawValue: statusText) else {
            throw TidemarkError(.corrupt, "host_jobs: unknown kind '\(kindText)' or status '\(statusText)'")
        }
        return HostJob(
            id: try r.decode(column: "id", as: Int64.self), host: try r.decode(column: "host", as: String.self), kind: kind,
            target: StateID(hex: try r.decode(column: "target", as: String.self)), dryRun: try r.decode(column: "dry_run", as: Bool.self), status: status,
            createdAt: Timestamp(seconds: try r.decode(column: "created_at", as: Int64.self)),
            startedAt: try r.decode(column: "started_at", as: Int64?.self).map(Timestamp.init(seconds:)),
            finishedAt: try r.decode(column: "finished_at", as: Int64?.self).map(Timestamp.init(seconds:)),
            resultState: try r.decode(column: "result_state", as: String?.self).map(StateID.init(hex:)),
            message: try r.decode(column: "message", as: String?.self), output: try r.decode(column: "output", as: String?.self),
            rollout: try r.decode(column: "rollout_id", as: Int64?.self), step: try r.decode(column: "step", as: String?.self),
            command: try r.decode(column: "command", as: String?.self), timeout: try r.decode(column: "timeout", as: Int64?.self).map { Int($0) })
    }

    /// A rollout's job, inside the transaction that records the progress asking for it. Unlike
    /// `createJob` it does not refuse a host with an open job: a rollout queues its steps
    /// (transaction, then health check, or rollback after a failed transaction) and the agent
    /// runs them in order.
    static func insert(_ request: RolloutMachine.JobRequest, rollout: Int64, now: Timestamp, db: any SQLDatabase) async throws -> HostJob {
        guard let r = try await db.raw("""
            INSERT INTO host_jobs (host, kind, target, dry_run, status, created_at, rollout_id, step, command, timeout)
            VALUES (\(bind: request.host), \(bind: request.kind.rawValue), \(bind: request.target.hex), \(bind: false), 'pending', \(bind: now.seconds),
                \(bind: rollout), \(bind: request.step), \(bind: request.command), \(bind: request.timeout.map(Int64.init)))
            RETURNING \(unsafeRaw: columns)
            """).first()
        else { throw TidemarkError(.storage, "inserting the job returned no row") }
        return try job(r)
    }

    /// Every job of a rollout, oldest first.
    public func jobs(rollout: Int64) async throws -> [HostJob] {
        try await backend.read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.columns) FROM host_jobs WHERE rollout_id = \(bind: rollout) ORDER BY id").all().map(Self.job)
        }
    }
}
