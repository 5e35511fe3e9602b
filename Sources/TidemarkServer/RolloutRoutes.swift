import Hummingbird
import TidemarkCore
import TidemarkRollouts
import TidemarkStore

/// Rollouts over HTTP: admins create, approve, pause, resume, abort, waive and label hosts;
/// readers see status, log and the replay at a past time. Every route is one call of
/// `LocalRollouts` acting as the request's token, so answers equal the CLI's on a local store.
/// The driving itself is `RolloutDriver`, a service of the server, not a request.
extension TidemarkServer {
    func addRolloutRoutes(_ router: Router<ServerContext>) {
        let api = self

        route(router, .post, "/api/v1/rollouts") { req, ctx in
            let ops = try await api.rollouts(req, ctx, .admin)
            let request = try decodeJSON(RolloutRequest.self, try await api.readBody(req))
            let created = try await ops.createRollout(request)
            if !created.dryRun {
                ctx.logger.info("rollout created", metadata: ["rollout": "\(created.rollout.id)", "hosts": "\(created.plan.waves.joined().count)"])
            }
            return try json(created, status: created.dryRun ? .ok : .created)
        }
        route(router, .get, "/api/v1/rollouts") { req, ctx in
            try json(try await api.rollouts(req, ctx, .read).rollouts())
        }
        route(router, .get, "/api/v1/rollouts/{id}") { req, ctx in
            try json(try await api.rollouts(req, ctx, .read).rollout(try Self.id(ctx)))
        }
        route(router, .get, "/api/v1/rollouts/{id}/log") { req, ctx in
            try json(try await api.rollouts(req, ctx, .read).rolloutLog(try Self.id(ctx)))
        }
        route(router, .get, "/api/v1/rollouts/{id}/explain") { req, ctx in
            let ops = try await api.rollouts(req, ctx, .read)
            guard let at = req.uri.queryParameters["at"], !at.isEmpty else { throw APIError.badRequest("at: missing query parameter (a time: ISO 8601 or -2h)") }
            do { return try json(try await ops.explainRollout(try Self.id(ctx), at: String(at))) } catch let e as TidemarkError where e.code == .invalidArgument {
                throw APIError.badRequest("at: \(e.message)")
            }
        }
        for (verb, action) in [("approve", RolloutMachine.Action.approve), ("pause", .pause), ("resume", .resume), ("abort", .abort(rollback: false))] {
            route(router, .post, "/api/v1/rollouts/{id}/\(verb)") { req, ctx in
                let ops = try await api.rollouts(req, ctx, .admin)
                var action = action
                let body = try await api.readBody(req)
                if case .abort = action {
                    struct Abort: Decodable { var rollback: Bool? }
                    action = .abort(rollback: body.readableBytes == 0 ? false : (try decodeJSON(Abort.self, body).rollback ?? false))
                }
                let id = try Self.id(ctx)
                let status = try await ops.act(id, action)
                ctx.logger.info("rollout \(verb)", metadata: ["rollout": "\(id)", "by": "\(ops.by)"])
                return try json(status)
            }
        }
        route(router, .get, "/api/v1/rollouts/{id}/waivers") { req, ctx in
            try json(try await api.rollouts(req, ctx, .read).waivers(try Self.id(ctx)))
        }
        route(router, .post, "/api/v1/rollouts/{id}/waivers") { req, ctx in
            let ops = try await api.rollouts(req, ctx, .admin)
            struct Create: Decodable { var check: String; var reason: String; var expires: String }
            let create = try decodeJSON(Create.self, try await api.readBody(req))
            let id = try Self.id(ctx)
            let waiver = try await ops.waive(id, check: create.check, reason: create.reason, expires: create.expires)
            ctx.logger.info("waiver created", metadata: ["rollout": "\(id)", "check": "\(create.check)", "waiver": "\(waiver.id)"])
            return try json(waiver, status: .created)
        }
        route(router, .delete, "/api/v1/waivers/{id}") { req, ctx in
            let waiver = try await api.rollouts(req, ctx, .admin).revokeWaiver(try Self.id(ctx))
            ctx.logger.info("waiver revoked", metadata: ["waiver": "\(waiver.id)", "rollout": "\(waiver.rollout)"])
            return try json(waiver)
        }
        route(router, .get, "/api/v1/labels") { req, ctx in
            try json(try await api.rollouts(req, ctx, .read).labels())
        }
        route(router, .put, "/api/v1/hosts/{host}/labels/{key}") { req, ctx in
            let ops = try await api.rollouts(req, ctx, .admin)
            struct Set: Decodable { var value: String }
            let value = try decodeJSON(Set.self, try await api.readBody(req)).value
            return try json(try await ops.setLabel(host: try pathParameter(ctx, "host"), key: try pathParameter(ctx, "key"), value: value))
        }
        route(router, .delete, "/api/v1/hosts/{host}/labels/{key}") { req, ctx in
            let ops = try await api.rollouts(req, ctx, .admin)
            return try json(try await ops.setLabel(host: try pathParameter(ctx, "host"), key: try pathParameter(ctx, "key"), value: nil))
        }
    }

    /// The rollout operations for this request, after checking its token, acting as that token.
    func rollouts(_ req: Request, _ ctx: ServerContext, _ access: Access) async throws -> LocalRollouts {
        let token = try await authorize(req, ctx, access)
        let driver = rolloutDriver
        return LocalRollouts(service: rolloutService, by: Self.who(token), now: configuration.now, waiverChanged: { driver?.forget(rollout: $0) })
    }

    static func id(_ ctx: ServerContext) throws -> Int64 {
        let text = try pathParameter(ctx, "id")
        guard let id = Int64(text), id > 0 else { throw APIError.badRequest("id: '\(text.prefix(40))' is not an id (a positive integer)") }
        return id
    }

    /// Who did it, as logs and waivers name them: the token and its note.
    static func who(_ token: TokenRecord) -> String {
        "token \(token.id)" + (token.note.map { " (\($0))" } ?? "")
    }
}
