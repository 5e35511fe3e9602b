import Foundation
import SQLKit
import TidemarkCore

/// `RolloutStore` on the history store's SQL backend (schema migration 4). The rollout and its
/// progress are JSON documents (they are read whole and written by one step at a time); what is
/// queried (phase, version, lease) has its own columns.
public struct SQLRolloutStore: RolloutStore {
    public let backend: any SQLBackend
    public init(backend: any SQLBackend) { self.backend = backend }

    private static let columns = "id, spec, progress, version, lease_owner, lease_until"

    public func createRollout(_ rollout: Rollout, progress: RolloutProgress, event: RolloutEvent) async throws -> StoredRollout {
        let spec = try JSONColumn.text(rollout), body = try JSONColumn.text(progress), e = try JSONColumn.text(event)
        return try await backend.transaction { db in
            guard let r = try await db.raw("""
                INSERT INTO rollouts (spec, progress, phase, version, created_at, updated_at)
                VALUES (\(bind: spec), \(bind: body), \(bind: progress.phase.rawValue), 1, \(bind: rollout.createdAt.seconds), \(bind: rollout.createdAt.seconds))
                RETURNING \(unsafeRaw: Self.columns)
                """).first()
            else { throw TidemarkError(.storage, "inserting the rollout returned no row") }
            let stored = try Self.stored(r)
            try await Self.insertEvents([e], kinds: [event], rollout: stored.rollout.id, db: db)
            return stored
        }
    }

    public func rollout(id: Int64) async throws -> StoredRollout? {
        try await backend.read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.columns) FROM rollouts WHERE id = \(bind: id)").first().map(Self.stored)
        }
    }

    public func rollouts(activeOnly: Bool) async throws -> [StoredRollout] {
        let finished = RolloutProgress.Phase.allCases.filter(\.isFinished).map { "'\($0.rawValue)'" }.joined(separator: ", ")
        let filter = activeOnly ? "WHERE phase NOT IN (\(finished))" : ""
        return try await backend.read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.columns) FROM rollouts \(unsafeRaw: filter) ORDER BY id DESC").all().map(Self.stored)
        }
    }

    public func lease(rollout id: Int64, owner: String, now: Timestamp, until: Timestamp) async throws -> Bool {
        try await backend.transaction { db in
            // One statement: the row lock makes take-over by two servers at once impossible.
            try await db.raw("""
                UPDATE rollouts SET lease_owner = \(bind: owner), lease_until = \(bind: until.seconds)
                WHERE id = \(bind: id) AND (lease_owner IS NULL OR lease_owner = \(bind: owner) OR lease_until < \(bind: now.seconds))
                RETURNING id
                """).first() != nil
        }
    }

    public func releaseLeases(owner: String) async throws {
        try await backend.transaction { db in
            try await db.raw("UPDATE rollouts SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = \(bind: owner)").run()
        }
    }

    public func advance(
        rollout id: Int64, expectedVersion: Int64, progress: RolloutProgress, events: [RolloutEvent], jobs: [RolloutMachine.JobRequest], now: Timestamp
    ) async throws -> (version: Int64, jobs: [HostJob]) {
        let body = try JSONColumn.text(progress), texts = try events.map(JSONColumn.text)
        return try await backend.transaction { db in
            guard try await db.raw("""
                UPDATE rollouts SET progress = \(bind: body), phase = \(bind: progress.phase.rawValue), version = version + 1, updated_at = \(bind: now.seconds)
                WHERE id = \(bind: id) AND version = \(bind: expectedVersion)
                RETURNING id
                """).first() != nil
            else {
                guard try await db.raw("SELECT id FROM rollouts WHERE id = \(bind: id)").first() != nil else {
                    throw TidemarkError(.notFound, "no rollout with id \(id)")
                }
                throw TidemarkError(.conflict, "rollout \(id) changed meanwhile (not at version \(expectedVersion) any more); read it again")
            }
            try await Self.insertEvents(texts, kinds: events, rollout: id, db: db)
            var created: [HostJob] = []
            for j in jobs { created.append(try await SQLJobStore.insert(j, rollout: id, now: now, db: db)) }
            return (expectedVersion + 1, created)
        }
    }

    public func events(rollout id: Int64, until: Timestamp?) async throws -> [RolloutEvent] {
        try await backend.read { db in
            let rows = try await db.raw("""
                SELECT body FROM rollout_events WHERE rollout_id = \(bind: id) AND at <= \(bind: until?.seconds ?? Int64.max) ORDER BY id
                """).all()
            return try rows.map { try JSONColumn.decode(RolloutEvent.self, try $0.decode(column: "body", as: String.self), "rollout_events") }
        }
    }

    public func jobs(rollout id: Int64) async throws -> [HostJob] {
        try await SQLJobStore(backend: backend).jobs(rollout: id)
    }

    public func createWaiver(rollout id: Int64, check: String, reason: String, by: String, expiresAt: Timestamp, now: Timestamp) async throws -> Waiver {
        try await backend.transaction { db in
            guard let r = try await db.raw("SELECT \(unsafeRaw: Self.columns) FROM rollouts WHERE id = \(bind: id)").first() else {
                throw TidemarkError(.notFound, "no rollout with id \(id)")
            }
            let stored = try Self.stored(r)
            let names = stored.rollout.policy.checkNames
            guard names.contains(check) else {
                throw TidemarkError(.invalidInput, "check: rollout \(id) has no check '\(check)' (its checks: \(names.isEmpty ? "none" : names.joined(separator: ", ")))")
            }
            guard let w = try await db.raw("""
                INSERT INTO waivers (rollout_id, check_name, reason, created_by, created_at, expires_at)
                VALUES (\(bind: id), \(bind: check), \(bind: reason), \(bind: by), \(bind: now.seconds), \(bind: expiresAt.seconds))
                RETURNING id, rollout_id, check_name, reason, created_by, created_at, expires_at, revoked_at
                """).first()
            else { throw TidemarkError(.storage, "inserting the waiver returned no row") }
            let waiver = try Self.waiver(w)
            let event = RolloutMachine.noteWaiver(waiver, revoked: false, stored.progress, by: by, now: now)
            try await Self.insertEvents([try JSONColumn.text(event)], kinds: [event], rollout: id, db: db)
            return waiver
        }
    }

    public func revokeWaiver(id: Int64, by: String, now: Timestamp) async throws -> Waiver {
        try await backend.transaction { db in
            guard let w = try await db.raw("""
                UPDATE waivers SET revoked_at = \(bind: now.seconds), revoked_by = \(bind: by) WHERE id = \(bind: id) AND revoked_at IS NULL
                RETURNING id, rollout_id, check_name, reason, created_by, created_at, expires_at, revoked_at
                """).first()
            else {
                guard try await db.raw("SELECT id FROM waivers WHERE id = \(bind: id)").first() != nil else {
                    throw TidemarkError(.notFound, "no waiver with id \(id)")
                }
                throw TidemarkError(.conflict, "waiver \(id) is already revoked")
            }
            let waiver = try Self.waiver(w)
            if let r = try await db.raw("SELECT \(unsafeRaw: Self.columns) FROM rollouts WHERE id = \(bind: waiver.rollout)").first() {
                let event = RolloutMachine.noteWaiver(waiver, revoked: true, try Self.stored(r).progress, by: by, now: now)
                try await Self.insertEvents([try JSONColumn.text(event)], kinds: [event], rollout: waiver.rollout, db: db)
            }
            return waiver
        }
    }

    public func waivers(rollout id: Int64) async throws -> [Waiver] {
        try await backend.read { db in
            try await db.raw("""
                SELECT id, rollout_id, check_name, reason, created_by, created_at, expires_at, revoked_at FROM waivers
                WHERE rollout_id = \(bind: id) ORDER BY id
                """).all().map(Self.waiver)
        }
    }

    public func setLabel(host: String, key: String, value: String?) async throws {
        try Observation.validateHostName(host)
        try await backend.transaction { db in
            try await db.raw("DELETE FROM host_labels WHERE host = \(bind: host) AND key = \(bind: key)").run()
            if let value {
                try await db.raw("INSERT INTO host_labels (host, key, value) VALUES (\(bind: host), \(bind: key), \(bind: value))").run()
            }
        }
    }

    public func labels() async throws -> [String: [String: String]] {
        try await backend.read { db in
            var out: [String: [String: String]] = [:]
            for r in try await db.raw("SELECT host, key, value FROM host_labels ORDER BY host, key").all() {
                out[try r.decode(column: "host", as: String.self), default: [:]][try r.decode(column: "key", as: String.self)] = try r.decode(column: "value", as: String.self)
            }
            return out
        }
    }

    // MARK: - Rows

    private static func insertEvents(_ texts: [String], kinds events: [RolloutEvent], rollout id: Int64, db: any SQLDatabase) async throws {
        for (text, e) in zip(texts, events) {
            try await db.raw("""
                INSERT INTO rollout_events (rollout_id, at, kind, body) VALUES (\(bind: id), \(bind: e.at.seconds), \(bind: e.kind.rawValue), \(bind: text))
                """).run()
        }
    }

    private static func stored(_ r: any SQLRow) throws -> StoredRollout {
        var rollout = try JSONColumn.decode(Rollout.self, try r.decode(column: "spec", as: String.self), "rollouts.spec")
        rollout.id = try r.decode(column: "id", as: Int64.self)
        return StoredRollout(
            rollout: rollout, progress: try JSONColumn.decode(RolloutProgress.self, try r.decode(column: "progress", as: String.self), "rollouts.progress"),
            version: try r.decode(column: "version", as: Int64.self), leaseOwner: try r.decode(column: "lease_owner", as: String?.self),
            leaseUntil: try r.decode(column: "lease_until", as: Int64?.self).map(Timestamp.init(seconds:)))
    }

    private static func waiver(_ r: any SQLRow) throws -> Waiver {
        Waiver(
            id: try r.decode(column: "id", as: Int64.self), check: try r.decode(column: "check_name", as: String.self),
            rollout: try r.decode(column: "rollout_id", as: Int64.self), reason: try r.decode(column: "reason", as: String.self),
            by: try r.decode(column: "created_by", as: String.self), createdAt: Timestamp(seconds: try r.decode(column: "created_at", as: Int64.self)),
            expiresAt: Timestamp(seconds: try r.decode(column: "expires_at", as: Int64.self)),
            revokedAt: try r.decode(column: "revoked_at", as: Int64?.self).map(Timestamp.init(seconds:)))
    }
}
