import Foundation
import SQLKit
import TidemarkCore

/// `CulpritStore` on the history store's SQL backend (schema migration 5).
public struct SQLCulpritStore: CulpritStore {
    public let backend: any SQLBackend
    public init(backend: any SQLBackend) { self.backend = backend }

    public func recordSignals(_ signals: [Signal], now: Timestamp) async throws -> SignalImportResult {
        guard !signals.isEmpty else { return SignalImportResult() }
        return try await backend.transaction { db in
            var result = SignalImportResult()
            for s in signals {
                // ON CONFLICT: two servers importing the same job at once store it once
                let inserted = try await db.raw("""
                    INSERT INTO signals (host, at, status, reason, source, external_id, recorded_at)
                    VALUES (\(bind: s.host), \(bind: s.at.seconds), \(bind: s.status.rawValue), \(bind: s.reason), \(bind: s.source), \(bind: s.externalID), \(bind: now.seconds))
                    ON CONFLICT (external_id) DO NOTHING RETURNING id
                    """).first()
                guard inserted != nil else {
                    result.duplicates += 1
                    continue
                }
                result.recorded += 1
                if s.status == .failing { result.failing += 1 } else { result.healthy += 1 }
            }
            return result
        }
    }

    public func signals(since: Timestamp?, until: Timestamp?, host: String?) async throws -> [Signal] {
        try await backend.read { db in
            var sql = SQLQueryString("SELECT host, at, status, reason, source, external_id FROM signals WHERE at >= \(bind: since?.seconds ?? Int64.min) AND at <= \(bind: until?.seconds ?? Int64.max)")
            if let host { sql.appendInterpolation(unsafeRaw: " AND host = "); sql.appendInterpolation(bind: host) }
            sql.appendInterpolation(unsafeRaw: " ORDER BY at, id")
            return try await db.raw(sql).all().map { r in
                let status = try r.decode(column: "status", as: String.self)
                guard let st = Signal.Status(rawValue: status) else { throw TidemarkError(.corrupt, "signals.status: unknown status '\(status)'") }
                return Signal(
                    host: try r.decode(column: "host", as: String.self), at: Timestamp(seconds: try r.decode(column: "at", as: Int64.self)), status: st,
                    reason: try r.decode(column: "reason", as: String?.self), source: try r.decode(column: "source", as: String.self),
                    externalID: try r.decode(column: "external_id", as: String?.self))
            }
        }
    }

    public func createBisect(_ session: BisectSession) async throws -> BisectSession {
        let target = Self.targetKey(session.target)
        return try await backend.transaction { db in
            try await backend.lockSharedRows(db: db, shared: false)
            if let r = try await db.raw("SELECT id FROM bisect_sessions WHERE target = \(bind: target) AND status = 'running'").first() {
                let id = try r.decode(column: "id", as: Int64.self)
                throw TidemarkError(.conflict, "bisection \(id) is still running on \(session.target): `tidemark bisect resume` continues it, `tidemark bisect reset` ends it")
            }
            guard let r = try await db.raw("""
                INSERT INTO bisect_sessions (spec, target, status, created_at, updated_at)
                VALUES ('{}', \(bind: target), \(bind: session.status.rawValue), \(bind: session.createdAt.seconds), \(bind: session.createdAt.seconds))
                RETURNING id
                """).first()
            else { throw TidemarkError(.storage, "inserting the bisection returned no row") }
            var s = session
            s.id = try r.decode(column: "id", as: Int64.self)
            try await db.raw("UPDATE bisect_sessions SET spec = \(bind: try JSONColumn.text(s)) WHERE id = \(bind: s.id)").run()
            return s
        }
    }

    private static let columns = "id, spec, status, report, message"

    public func bisect(id: Int64) async throws -> BisectSession? {
        try await backend.read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.columns) FROM bisect_sessions WHERE id = \(bind: id)").first().map(Self.session)
        }
    }

    public func bisects(activeOnly: Bool) async throws -> [BisectSession] {
        try await backend.read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.columns) FROM bisect_sessions \(unsafeRaw: activeOnly ? "WHERE status = 'running'" : "") ORDER BY id DESC")
                .all().map(Self.session)
        }
    }

    public func recordBisectRun(_ run: BisectStepRecord) async throws {
        let body = try JSONColumn.text(run)
        try await backend.transaction { db in
            if try await db.raw("SELECT seq FROM bisect_runs WHERE session_id = \(bind: run.session) AND seq = \(bind: run.seq)").first() != nil {
                throw TidemarkError(.conflict, "bisection \(run.session) already has run \(run.seq): is another `tidemark bisect` running it?")
            }
            try await db.raw("INSERT INTO bisect_runs (session_id, seq, body) VALUES (\(bind: run.session), \(bind: run.seq), \(bind: body))").run()
            try await db.raw("UPDATE bisect_sessions SET updated_at = \(bind: run.finishedAt.seconds) WHERE id = \(bind: run.session)").run()
        }
    }

    public func bisectRuns(session: Int64) async throws -> [BisectStepRecord] {
        try await backend.read { db in
            try await db.raw("SELECT body FROM bisect_runs WHERE session_id = \(bind: session) ORDER BY seq").all().map { r in
                try JSONColumn.decode(BisectStepRecord.self, try r.decode(column: "body", as: String.self), "bisect_runs.body")
            }
        }
    }

    public func setBisectStatus(id: Int64, _ status: BisectSession.Status, report: BisectReport?, message: String?, now: Timestamp) async throws {
        let reportText = try report.map { try JSONColumn.text($0) }
        try await backend.transaction { db in
            guard try await db.raw("""
                UPDATE bisect_sessions SET status = \(bind: status.rawValue), report = \(bind: reportText), message = \(bind: message), updated_at = \(bind: now.seconds)
                WHERE id = \(bind: id) RETURNING id
                """).first() != nil
            else { throw TidemarkError(.notFound, "no bisection with id \(id)") }
        }
    }

    static func targetKey(_ t: BisectTarget) -> String {
        switch t {
        case .root(let r): return "root:" + r
        }
    }

    private static func session(_ r: any SQLRow) throws -> BisectSession {
        var s = try JSONColumn.decode(BisectSession.self, try r.decode(column: "spec", as: String.self), "bisect_sessions.spec")
        s.id = try r.decode(column: "id", as: Int64.self)
        let status = try r.decode(column: "status", as: String.self)
        guard let st = BisectSession.Status(rawValue: status) else { throw TidemarkError(.corrupt, "bisect_sessions.status: unknown status '\(status)'") }
        s.status = st
        s.report = try r.decode(column: "report", as: String?.self).map { try JSONColumn.decode(BisectReport.self, $0, "bisect_sessions.report") }
        s.message = try r.decode(column: "message", as: String?.self)
        return s
    }
}
