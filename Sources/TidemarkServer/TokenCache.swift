import Synchronization
import TidemarkCore
import TidemarkStore

/// Found tokens, remembered for a few seconds by the hash of their secret.
///
/// Every request is authorized, and a store lookup per request (a statement to prepare and a read
/// transaction that must refresh its page cache after each commit) was the largest cost of a
/// heartbeat. Only found tokens are remembered, never unknown secrets, so a token created through
/// any server works at once; a token revoked through this server stops at once; one revoked
/// through another server process sharing the database (or `tidemark token revoke --db`) stops
/// within `ttl`. Secrets themselves are never kept, only their hashes.
final class TokenCache: Sendable {
    private struct Entry: Sendable {
        var token: TokenRecord
        var until: ContinuousClock.Instant
    }
    let ttl: Duration
    let capacity: Int
    private let entries = Mutex([String: Entry]())

    init(ttl: Duration, capacity: Int = 100_000) {
        self.ttl = ttl
        self.capacity = capacity
    }

    /// The token whose secret hashes to `hash`: from the cache while fresh, else from `tokens`.
    func token(secret: String, from tokens: any TokenStore) async throws -> TokenRecord? {
        let hash = Tokens.hash(secret)
        guard ttl > .zero else { return try await tokens.token(hash: hash) }
        let now = ContinuousClock.now
        if let hit = entries.withLock({ $0[hash] }), hit.until > now { return hit.token }
        guard let token = try await tokens.token(hash: hash) else { return nil }
        entries.withLock { e in
            // Full (a client cycling through many tokens): start over rather than grow.
            if e.count >= capacity { e.removeAll(keepingCapacity: true) }
            e[hash] = Entry(token: token, until: now + ttl)
        }
        return token
    }

    /// After a revocation through this server: the token must stop working now.
    func forget(id: Int64) {
        entries.withLock { e in e = e.filter { $0.value.token.id != id } }
    }
}
