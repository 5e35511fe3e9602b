import SQLKit

/// The SQL flavours the store speaks. Queries are shared; only types and a few clauses differ.
public enum StoreDialect: String, Sendable {
    case sqlite
    case postgres

    var autoID: String { self == .sqlite ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "BIGSERIAL PRIMARY KEY" }
    var blob: String { self == .sqlite ? "BLOB" : "BYTEA" }
    var withoutRowID: String { self == .sqlite ? " WITHOUT ROWID" : "" }
    var beginWrite: String { self == .sqlite ? "BEGIN IMMEDIATE" : "BEGIN" }
}

/// A database the store runs on: how to read, how to run one transaction. SQLite serialises
/// everything on one connection; PostgreSQL takes a pooled connection per transaction.
public protocol SQLBackend: Sendable {
    var dialect: StoreDialect { get }
    /// Runs `body` with a database for reads.
    func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    /// Runs `body` in one transaction: committed if it returns, rolled back if it throws.
    func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    /// Bytes on disk.
    func size() async throws -> Int64
    func close() async throws
}

/// A FIFO lock for async code: keeps a transaction's statements together on a shared connection
/// across suspension points (an actor alone would let other calls interleave at each `await`).
actor AsyncLock {
    private var locked = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func lock() async {
        if !locked {
            locked = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func unlock() {
        if waiters.isEmpty { locked = false } else { waiters.removeFirst().resume() }
    }

    func withLock<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        await lock()
        do {
            let r = try await body()
            unlock()
            return r
        } catch {
            unlock()
            throw error
        }
    }
}
