import Foundation
import Logging
import SQLKit
import SQLiteKit
import Synchronization
import TidemarkCore

/// The embedded default: one SQLite file, WAL journal (readers never block the writer), a busy
/// timeout so that a second `tidemark` process waits instead of failing, and full fsync on commit
/// so that an acknowledged observation survives kill -9 and power loss.
///
/// Two connections: one writes, one reads. Under WAL a reader sees the last committed snapshot
/// and never waits for a write transaction, so queries (and token checks) stay fast while
/// observations are being recorded.
public final class SQLiteBackend: SQLBackend {
    public let dialect = StoreDialect.sqlite
    public let path: String
    private let connection: SQLiteConnection
    private let readConnection: SQLiteConnection
    private let db: any SQLDatabase
    private let readDB: any SQLDatabase
    private let lock = AsyncLock()
    private let readLock = AsyncLock()
    private let closed = Mutex(false)

    public static func open(path: String) async throws -> SQLiteBackend {
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty, !FileManager.default.fileExists(atPath: dir) {
            do {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            } catch {
                throw TidemarkError(.storage, "cannot create the directory of the database \(path): \(error.localizedDescription)")
            }
        }
        var logger = Logger(label: "tidemark.sqlite")
        logger.logLevel = .critical
        let connection: SQLiteConnection, readConnection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        } catch {
            throw TidemarkError(.storage, "cannot open the database \(path): \(error)")
        }
        do {
            // busy_timeout first: switching to WAL needs a lock another process may hold.
            let db = connection.sql()
            try await db.raw("PRAGMA busy_timeout = 30000").run()
            try await db.raw("PRAGMA journal_mode = WAL").run()
            try await db.raw("PRAGMA synchronous = FULL").run()
            try await db.raw("PRAGMA foreign_keys = ON").run()
            // The writer touches recent pages; at every commit SQLite walks its whole page-cache
            // hash table (pcache1TruncateUnsafe), which with 64 MiB here was a twentieth of the
            // cost of a heartbeat. Queries keep the large cache on the read connection.
            try await db.raw("PRAGMA cache_size = -16384").run()
            // Savepoints (one per batch in a group commit) journal into temp storage: keep it in memory.
            try await db.raw("PRAGMA temp_store = MEMORY").run()
            readConnection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        } catch {
            try? await connection.close()
            throw TidemarkError(.storage, "\(path) is not a usable SQLite database: \(error)")
        }
        do {
            let db = readConnection.sql()
            try await db.raw("PRAGMA busy_timeout = 30000").run()
            try await db.raw("PRAGMA cache_size = -65536").run()
        } catch {
            try? await connection.close()
            try? await readConnection.close()
            throw TidemarkError(.storage, "\(path) is not a usable SQLite database: \(error)")
        }
        return SQLiteBackend(path: path, connection: connection, readConnection: readConnection)
    }

    private init(path: String, connection: SQLiteConnection, readConnection: SQLiteConnection) {
        self.path = path
        self.connection = connection
        self.readConnection = readConnection
        self.db = connection.sql()
        self.readDB = readConnection.sql()
    }

    /// On the read connection, in one read transaction: a query of several statements sees one
    /// committed snapshot.
    public func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let db = self.readDB
        return try await readLock.withLock { try await inTransaction(db, begin: "BEGIN", body) }
    }

    public func readStatement<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let db = self.readDB
        return try await readLock.withLock { try await body(db) }
    }

    public func writeStatement<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let db = self.db
        return try await lock.withLock { try await body(db) }
    }

    public func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let db = self.db
        return try await lock.withLock { try await inTransaction(db, begin: "BEGIN IMMEDIATE", body) }
    }

    public func size() async throws -> Int64 {
        let db = self.readDB
        return try await readLock.withLock {
            try await db.raw("PRAGMA wal_checkpoint(TRUNCATE)").run()
            var total: Int64 = 0
            for suffix in ["", "-wal"] {
                let attrs = try? FileManager.default.attributesOfItem(atPath: self.path + suffix)
                total += (attrs?[.size] as? NSNumber)?.int64Value ?? 0
            }
            return total
        }
    }

    /// Idempotent: closing twice is harmless.
    public func close() async throws {
        let first = closed.withLock { c in
            defer { c = true }
            return !c
        }
        if first {
            try? await readConnection.close()
            try await connection.close()
        }
    }
}
