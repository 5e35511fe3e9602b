import SQLKit
import TidemarkCore

/// What an API token may do. `host` tokens are for agents: they may only report their own host,
/// so a compromised machine cannot rewrite the history of others.
public enum TokenRole: String, Sendable, Codable, Hashable, CaseIterable {
    case reader
    case admin
    case host
}

/// A token as the server knows it: never the secret, only what it is for and whether it still works.
public struct TokenRecord: Sendable, Hashable, Codable {
    public var id: Int64
    public var role: TokenRole
    /// The one host a `host` token may report (nil for other roles).
    public var host: String?
    public var note: String?
    public var createdAt: Timestamp
    public var revokedAt: Timestamp?

    public init(id: Int64, role: TokenRole, host: String?, note: String?, createdAt: Timestamp, revokedAt: Timestamp?) {
        self.id = id
        self.role = role
        self.host = host
        self.note = note
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }

    private enum CodingKeys: String, CodingKey { case id, role, host, note, createdAt, revokedAt }

    /// Every key always present (`null` where absent): listings are read by scripts.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(role, forKey: .role)
        try c.encode(host, forKey: .host)
        try c.encode(note, forKey: .note)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(revokedAt, forKey: .revokedAt)
    }
}

/// A freshly created token: the only moment its secret exists outside its holder.
public struct IssuedToken: Sendable, Hashable, Codable {
    public var id: Int64
    public var token: String
    public var role: TokenRole
    public var host: String?

    public init(id: Int64, token: String, role: TokenRole, host: String?) {
        self.id = id
        self.token = token
        self.role = role
        self.host = host
    }

    private enum CodingKeys: String, CodingKey { case id, token, role, host }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(token, forKey: .token)
        try c.encode(role, forKey: .role)
        try c.encode(host, forKey: .host)
    }
}

/// API tokens. Only a SHA-256 of each secret is stored: a leaked database (or backup) does not
/// leak working credentials, and tokens are long random strings, so no slow hash is needed.
public protocol TokenStore: Sendable {
    /// Creates a token; `host` is required for (and only allowed with) `.host`.
    func createToken(role: TokenRole, host: String?, note: String?, now: Timestamp) async throws -> IssuedToken
    func tokens() async throws -> [TokenRecord]
    /// The token whose secret hashes to `hash` (revoked ones included, so callers can say so).
    func token(hash: String) async throws -> TokenRecord?
    /// Revokes a token (idempotent: revoking again keeps the first time); not_found when unknown.
    func revokeToken(id: Int64, now: Timestamp) async throws -> TokenRecord
}

extension TokenStore {
    /// Looks a presented secret up by its hash.
    public func token(secret: String) async throws -> TokenRecord? { try await token(hash: Tokens.hash(secret)) }
}

/// Token secrets: how they look and how they are hashed.
public enum Tokens {
    /// `tmk_` + 64 hex digits (256 random bits); the prefix makes leaked tokens easy to grep for.
    public static func generate() -> String {
        var rng = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        for _ in 0..<4 {
            var v = rng.next() as UInt64
            for _ in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v)); v >>= 8 }
        }
        return "tmk_" + hexString(bytes)
    }

    public static func hash(_ secret: String) -> String { SHA256.hex(secret) }

    /// Checks the role/host combination before anything is stored.
    public static func validate(role: TokenRole, host: String?) throws(TidemarkError) {
        switch role {
        case .host:
            guard let host else { throw TidemarkError(.invalidArgument, "host: a token of role host needs the host it may report") }
            try Observation.validateHostName(host)
        case .reader, .admin:
            if host != nil { throw TidemarkError(.invalidArgument, "host: only a token of role host is bound to a host (this one is \(role.rawValue))") }
        }
    }
}

/// `TokenStore` on the history store's SQL backend (table `tokens`, schema migration 2), so
/// tokens live in the same SQLite file or PostgreSQL database as the history they guard.
public struct SQLTokenStore: TokenStore {
    public let backend: any SQLBackend

    public init(backend: any SQLBackend) { self.backend = backend }

    public func createToken(role: TokenRole, host: String?, note: String?, now: Timestamp) async throws -> IssuedToken {
        try Tokens.validate(role: role, host: host)
        let secret = Tokens.generate()
        let hash = Tokens.hash(secret)
        let id = try await backend.transaction { db in
            guard let row = try await db.raw("""
                INSERT INTO tokens (hash, role, host, note, created_at)
                VALUES (\(bind: hash), \(bind: role.rawValue), \(bind: host), \(bind: note), \(bind: now.seconds)) RETURNING id
                """).first()
            else { throw TidemarkError(.storage, "inserting the token returned no id") }
            return try row.decode(column: "id", as: Int64.self)
        }
        return IssuedToken(id: id, token: secret, role: role, host: host)
    }

    public func tokens() async throws -> [TokenRecord] {
        try await backend.read { db in
            try await db.raw("SELECT id, role, host, note, created_at, revoked_at FROM tokens ORDER BY id").all().map(Self.record)
        }
    }

    public func token(hash: String) async throws -> TokenRecord? {
        try await backend.readStatement { db in
            try await db.raw("SELECT id, role, host, note, created_at, revoked_at FROM tokens WHERE hash = \(bind: hash)").first().map(Self.record)
        }
    }

    public func revokeToken(id: Int64, now: Timestamp) async throws -> TokenRecord {
        try await backend.transaction { db in
            try await db.raw("UPDATE tokens SET revoked_at = \(bind: now.seconds) WHERE id = \(bind: id) AND revoked_at IS NULL").run()
            guard let row = try await db.raw("SELECT id, role, host, note, created_at, revoked_at FROM tokens WHERE id = \(bind: id)").first() else {
                throw TidemarkError(.notFound, "no token with id \(id)")
            }
            return try Self.record(row)
        }
    }

    private static func record(_ r: any SQLRow) throws -> TokenRecord {
        let roleText = try r.decode(column: "role", as: String.self)
        guard let role = TokenRole(rawValue: roleText) else { throw TidemarkError(.corrupt, "token has unknown role '\(roleText)'") }
        return TokenRecord(
            id: try r.decode(column: "id", as: Int64.self), role: role,
            host: try r.decode(column: "host", as: String?.self), note: try r.decode(column: "note", as: String?.self),
            createdAt: Timestamp(seconds: try r.decode(column: "created_at", as: Int64.self)),
            revokedAt: try r.decode(column: "revoked_at", as: Int64?.self).map(Timestamp.init(seconds:)))
    }
}

/// Fleet-wide counts for the server's `/metrics`, straight from SQL (one query each, whatever
/// the fleet's size) because `HistoryStore` has no counting queries of its own.
public struct SQLFleetStats: Sendable {
    public let backend: any SQLBackend
    public init(backend: any SQLBackend) { self.backend = backend }

    /// Distinct states stored.
    public func stateCount() async throws -> Int {
        try await backend.read { db in
            try await db.raw("SELECT COUNT(*) AS n FROM states").first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    /// Each host's latest `limit` observation times (seconds, newest first), for staleness.
    public func recentObservationTimes(limit: Int) async throws -> [String: [Int64]] {
        try await backend.read { db in
            let rows = try await db.raw("""
                SELECT h.name AS name, r.at AS at FROM (
                    SELECT host_id, at, ROW_NUMBER() OVER (PARTITION BY host_id ORDER BY at DESC) AS rn FROM observations
                ) r JOIN hosts h ON h.id = r.host_id
                WHERE r.rn <= \(bind: limit) ORDER BY h.name, r.at DESC
                """).all()
            var out: [String: [Int64]] = [:]
            for r in rows { out[try r.decode(column: "name", as: String.self), default: []].append(try r.decode(column: "at", as: Int64.self)) }
            return out
        }
    }
}
