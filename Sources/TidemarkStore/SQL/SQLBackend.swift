import SQLKit

/// The SQL flavours the store speaks. Queries are shared; only types and a few clauses differ.
public enum StoreDialect: String, Sendable {
    case sqlite
    case postgres

    var autoID: String { self == .sqlite ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "BIGSERIAL PRIMARY KEY" }
    var blob: String { self == .sqlite ? "BLOB" : "BYTEA" }
    var withoutRowID: String { self == .sqlite ? " WITHOUT ROWID" : "" }
    var beginWrite: String { self == .sqlite ? "BEGIN IMMEDIATE" : "BEGIN" }
    /// Appended to a text comparison that must follow byte order: PostgreSQL compares text by the
    /// database's locale (which may order or group characters differently); SQLite always by bytes.
    var byteOrder: String { self == .sqlite ? "" : " COLLATE \"C\"" }
}

/// A database the store runs on: how to read, how to run one transaction, and how to keep
/// concurrent writers apart. SQLite serialises everything on one connection (and other processes
/// with its file lock); PostgreSQL takes a pooled connection per transaction and is shared by
/// several processes at once, so it needs the locks below.
public protocol SQLBackend: Sendable {
    var dialect: StoreDialect { get }
    /// Runs `body` with a database for reads, in one read transaction (one snapshot).
    func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    /// Runs `body`, a single statement, without a transaction around it (a statement sees one
    /// snapshot anyway): for the per-request token check, where BEGIN and COMMIT would triple
    /// the round trips.
    func readStatement<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    /// Runs `body`, a single statement that writes, as its own transaction (autocommit): for a
    /// statement that does a whole transaction's work in one round trip.
    func writeStatement<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    /// Runs `body` in one transaction: committed if it returns, rolled back if it throws.
    func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    /// Bytes on disk.
    func size() async throws -> Int64
    func close() async throws

    /// Called inside `transaction` before anything of host `name` is read or written: holds off
    /// every other writer of that host until this transaction ends, so that reading a host's
    /// neighbouring observations and then rewriting its spans cannot interleave with another
    /// process doing the same (which would duplicate or tear spans).
    func lockHost(_ name: String, db: any SQLDatabase) async throws
    /// `lockHost` for each name, in the given order (callers sort), possibly in one statement.
    func lockHosts(_ names: [String], db: any SQLDatabase) async throws
    /// Called inside `transaction` before inserting shared, content-addressed rows (packages,
    /// changelogs, states, repository sets): holds off other writers that insert such rows until
    /// this transaction ends. Without it two writers inserting overlapping new rows in different
    /// orders wait for each other's uncommitted rows: a deadlock, which PostgreSQL breaks by
    /// failing one of them. Writers of known content (heartbeats, shared states) never take it.
    ///
    /// `shared`: for a transaction that records one observation, which inserts its new rows in
    /// one global order (packages by key, their changelogs by id, then the state, then the
    /// repository set), so that two such transactions can wait for each other's rows but never
    /// in a cycle; they run side by side, and only writers in arbitrary order (several
    /// observations in one transaction) exclude them.
    func lockSharedRows(db: any SQLDatabase, shared: Bool) async throws
    /// Runs `body` (schema migrations) while no other process migrates the same database.
    func withMigrationLock<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T
}

/// For a backend whose write transactions are already exclusive (SQLite: `BEGIN IMMEDIATE` takes
/// the database's one write lock), the locks are implied and cost nothing.
extension SQLBackend {
    public func lockHost(_ name: String, db: any SQLDatabase) async throws {}
    public func lockHosts(_ names: [String], db: any SQLDatabase) async throws {
        for name in names { try await lockHost(name, db: db) }
    }
    public func lockSharedRows(db: any SQLDatabase, shared: Bool) async throws {}
    public func withMigrationLock<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T { try await body() }
}

/// `begin` … COMMIT around `body`, ROLLBACK if it throws: the one transaction wrapper both
/// backends use (on a connection they hold for the duration).
func inTransaction<T: Sendable>(
    _ db: any SQLDatabase, begin: String, _ body: @Sendable (any SQLDatabase) async throws -> T
) async throws -> T {
    try await db.raw(SQLQueryString(begin)).run()
    do {
        let r = try await body(db)
        try await db.raw("COMMIT").run()
        return r
    } catch {
        // In a task of its own, which the caller's cancellation does not reach: in a cancelled
        // task (a client that hung up, a server shutting down) the driver refuses to run the
        // ROLLBACK, which would leave the connection inside this transaction, and on SQLite, whose
        // one write connection every writer shares, every later BEGIN would fail.
        await Task { try? await db.raw("ROLLBACK").run() }.value
        throw error
    }
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
