import Foundation
import Hummingbird
import TidemarkCore
import TidemarkCulprits
import TidemarkStore

/// Culprit finding over HTTP: signals in (admins, or a host's own token for its own host; the
/// scheduled openQA import writes the same way), signals and suspects out to readers. Answers
/// equal the CLI's on a local store (same `SuspectFinder`).
extension TidemarkServer {
    /// A signal as clients send it: `source` defaults to `api`.
    struct SignalInput: Decodable {
        var host: String
        var at: Timestamp
        var status: Signal.Status
        var reason: String?
        var source: String?
        var externalID: String?
    }

    /// Most signals one request may carry (an openQA import sends its batch in pieces).
    static let signalBatchLimit = 10_000

    func addCulpritRoutes(_ router: Router<ServerContext>) {
        let api = self

        route(router, .post, "/api/v1/signals") { req, ctx in
            let token = try await api.authorize(req, ctx, .report)
            struct Batch: Decodable { var signals: [SignalInput] }
            let batch = try decodeJSON(Batch.self, try await api.readBody(req))
            guard batch.signals.count <= Self.signalBatchLimit else {
                throw APIError.invalidBody("signals: \(batch.signals.count) signals in one request; send at most \(Self.signalBatchLimit)")
            }
            var signals: [Signal] = []
            for (i, s) in batch.signals.enumerated() {
                let signal: Signal
                do {
                    signal = try Signal(host: s.host, at: s.at, status: s.status, reason: s.reason, source: s.source ?? "api", externalID: s.externalID)
                        .validated(field: "signals[\(i)]")
                } catch let e as TidemarkError { throw APIError.invalidBody(e.message) }
                if token.role == .host, token.host != signal.host {
                    throw APIError.forbidden("signals[\(i)].host: token \(token.id) belongs to host \(token.host ?? "?"), not \(signal.host)")
                }
                signals.append(signal)
            }
            let result = try await api.culprits.recordSignals(signals, now: api.configuration.now())
            ctx.logger.info("signals recorded", metadata: ["recorded": "\(result.recorded)", "duplicates": "\(result.duplicates)"])
            return try json(result)
        }
        route(router, .get, "/api/v1/signals") { req, ctx in
            try await api.authorize(req, ctx, .read)
            let now = api.configuration.now()
            let since = try timeParameter(req, "since")?.resolve(now: now), until = try timeParameter(req, "until")?.resolve(now: now)
            var host: String?
            if let h = req.uri.queryParameters["host"].map(String.init) {
                do { try Observation.validateHostName(h) } catch let e as TidemarkError { throw APIError.badRequest("host: \(e.message)") }
                host = h
            }
            return try json(try await api.culprits.signals(since: since, until: until, host: host))
        }
        route(router, .get, "/api/v1/suspects") { req, ctx in
            try await api.authorize(req, ctx, .read)
            let q = req.uri.queryParameters
            var reason: NSRegularExpression?
            if let r = q["reason"].map(String.init) {
                do { reason = try SuspectQuery.regex(r) } catch let e as TidemarkError { throw APIError.badRequest("reason: \(e.message)") }
            }
            var window: Int64 = SuspectQuery.defaultWindow
            if let w = q["window"].map(String.init) {
                do { window = try SuspectQuery.window(w) } catch let e as TidemarkError { throw APIError.badRequest("window: \(e.message)") }
            }
            let at = try timeParameter(req, "at")?.resolve(now: api.configuration.now()) ?? api.configuration.now()
            let finder = SuspectFinder(history: api.store, culprits: api.culprits)
            return try json(try await finder.report(reason: reason, window: window, at: at, test: q["test"].map { String($0) }))
        }
    }
}
