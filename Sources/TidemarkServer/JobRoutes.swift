import Hummingbird
import TidemarkArchive
import TidemarkCore
import TidemarkStore

/// Jobs for agents, the remote rollback channel: an admin asks for a rollback, the server plans
/// it against the host's latest observation and refuses unless the archive has every package
/// the plan installs; the host's agent lists its pending jobs, claims one, runs it and posts the
/// result.
extension TidemarkServer {
    func addJobRoutes(_ router: Router<ServerContext>) {
        let api = self

        route(router, .post, "/api/v1/hosts/{host}/jobs") { req, ctx in
            try await api.authorize(req, ctx, .admin)
            let host = try pathParameter(ctx, "host")
            struct Create: Decodable { var kind: HostJob.Kind; var to: String; var dryRun: Bool? }
            let create = try decodeJSON(Create.self, try await api.readBody(req))
            let to = try checkRef(create.to, parameter: "to")
            let (target, plan) = try await api.planRollback(host: host, to: to)
            let job = try await api.jobs.createJob(host: host, kind: create.kind, target: target, dryRun: create.dryRun ?? false, now: api.configuration.now())
            ctx.logger.info("job created", metadata: ["job_id": "\(job.id)", "host": "\(host)", "target": "\(target.hex)", "steps": "\(plan.steps.count)"])
            struct Answer: Encodable { var job: HostJob; var plan: TransactionPlan }
            return try json(Answer(job: job, plan: plan), status: .created)
        }
        route(router, .get, "/api/v1/hosts/{host}/jobs") { req, ctx in
            let host = try pathParameter(ctx, "host")
            try await api.authorize(req, ctx, .hostJobs, host: host)
            var statuses: [HostJob.Status]? = nil
            if let text = req.uri.queryParameters["status"] {
                statuses = try text.split(separator: ",", omittingEmptySubsequences: false).map { s in
                    guard let status = HostJob.Status(rawValue: String(s)) else {
                        throw APIError.badRequest("status: '\(s.prefix(40))' is not one of \(HostJob.Status.allCases.map(\.rawValue).joined(separator: ", ")) (several: comma-separated)")
                    }
                    return status
                }
            }
            return try json(try await api.jobs.jobs(host: host, statuses: statuses))
        }
        route(router, .get, "/api/v1/jobs/{id}") { req, ctx in
            let token = try await api.authorize(req, ctx, .hostJobs)
            return try json(try await api.job(ctx, token: token))
        }
        route(router, .get, "/api/v1/jobs/{id}/target") { req, ctx in
            // What the agent turns its host into: the target state's packages (`show` for the
            // job's target, which a host token may read for its own jobs only).
            let token = try await api.authorize(req, ctx, .hostJobs)
            let job = try await api.job(ctx, token: token)
            return try json(try await api.queries.show("state:" + job.target.hex))
        }
        route(router, .post, "/api/v1/jobs/{id}/claim") { req, ctx in
            let token = try await api.authorize(req, ctx, .runJob)
            let job = try await api.job(ctx, token: token)
            let claimed = try await api.jobs.claimJob(id: job.id, now: api.configuration.now())
            ctx.logger.info("job claimed", metadata: ["job_id": "\(job.id)", "host": "\(job.host)"])
            return try json(claimed)
        }
        route(router, .post, "/api/v1/jobs/{id}/result") { req, ctx in
            let token = try await api.authorize(req, ctx, .runJob)
            let job = try await api.job(ctx, token: token)
            struct Result: Decodable { var succeeded: Bool; var resultState: String?; var message: String?; var output: String? }
            let result = try decodeJSON(Result.self, try await api.readBody(req))
            if let s = result.resultState, !ArchivedFile.isSHA256(s) {
                throw APIError.invalidBody("resultState: '\(s.prefix(80))' is not a state id (64 lower-case hex digits)")
            }
            let finished = try await api.jobs.finishJob(
                id: job.id, succeeded: result.succeeded, resultState: result.resultState.map { StateID(hex: $0) }, message: result.message,
                output: result.output, now: api.configuration.now())
            ctx.logger.info("job finished", metadata: ["job_id": "\(job.id)", "host": "\(job.host)", "status": "\(finished.status.rawValue)"])
            return try json(finished)
        }
    }

    /// The job `{id}` names, which a host token may only see and change for its own host.
    func job(_ ctx: ServerContext, token: TokenRecord) async throws -> HostJob {
        let text = try pathParameter(ctx, "id")
        guard let id = Int64(text) else { throw APIError.badRequest("id: '\(text.prefix(40))' is not a job id (an integer)") }
        guard let job = try await jobs.job(id: id) else { throw APIError.notFound("no job with id \(id)") }
        if token.role == .host, token.host != job.host {
            throw APIError.forbidden("job \(id) belongs to host \(job.host); token \(token.id) belongs to host \(token.host ?? "?")")
        }
        return job
    }

    /// The transaction from `host`'s latest recorded state to exactly the state `to` names.
    /// Refuses (400) an unknown host or one that is not an rpm host, and (404, listing them)
    /// when the archive lacks a package the plan installs: before anything reaches the host.
    func planRollback(host: String, to: String) async throws -> (target: StateID, plan: TransactionPlan) {
        guard let current = try await store.observation(host: host, atOrBefore: nil) else {
            throw APIError.badRequest("unknown host '\(host)': it has no recorded observation (its agent reports it first)")
        }
        guard let currentPackages = try await store.packages(of: current.state) else {
            throw TidemarkError(.storage, "state \(current.state.short) of \(host) has no packages in the store")
        }
        if let p = currentPackages.first(where: { $0.format != .rpm }) {
            throw APIError.badRequest("host \(host) is a \(p.format.rawValue) host: rollbacks are done with zypper on rpm hosts")
        }
        let resolved = try await queries.resolve(to)
        guard let target = resolved.packages else { throw APIError.notFound("\(to): the store has no packages for state \(resolved.resolved.state.short)") }
        if let p = target.first(where: { $0.format != .rpm }) {
            throw APIError.badRequest("to: \(to) is a state of \(p.format.rawValue) packages; \(host) is an rpm host")
        }
        let plan = TransactionPlan.between(current: currentPackages, target: target)
        _ = try await archive.files(for: plan.packagesToFetch)
        return (resolved.resolved.state, plan)
    }
}
