import Foundation
import Testing
import TidemarkCore
@testable import TidemarkStore
import TidemarkTestSupport

/// A request whose task is cancelled in the middle of a write (a client that hung up, a server
/// shutting down) must not leave the connection inside its transaction: on SQLite every later
/// write shares that connection and would fail with "cannot start a transaction within a
/// transaction".
@Suite struct TransactionCancellationTests {
    @Test func aCancelledTransactionIsRolledBackAndTheNextOneRuns() async throws {
        let tmp = try TemporaryDirectory("tx-cancel")
        let backend = try await SQLiteBackend.open(path: tmp.path("t.sqlite"))
        do { try await exercise(backend) } catch { Issue.record(error) }
        try await backend.close()
    }

    private func exercise(_ backend: SQLiteBackend) async throws {
        try await backend.transaction { db in try await db.raw("CREATE TABLE t (x INTEGER)").run() }
        for round in 0..<20 {
            let started = Shared(false)
            let task = Task {
                try await backend.transaction { db in
                    try await db.raw("INSERT INTO t (x) VALUES (\(bind: round))").run()
                    started.set(true)
                    try await Task.sleep(for: .seconds(30))
                }
            }
            while !started.get() { try await Task.sleep(for: .milliseconds(5)) }
            task.cancel()
            await #expect(throws: CancellationError.self) { try await task.value }
            // the next write on the same connection runs, and the cancelled insert is gone
            try await backend.transaction { db in try await db.raw("INSERT INTO t (x) VALUES (-1)").run() }
        }
        let rows = try await backend.read { db in try await db.raw("SELECT COUNT(*) AS n, MIN(x) AS m FROM t").first()! }
        #expect(try rows.decode(column: "n", as: Int.self) == 20)
        #expect(try rows.decode(column: "m", as: Int.self) == -1)
    }
}

private final class Shared: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Bool
    init(_ v: Bool) { value = v }
    func get() -> Bool { lock.withLock { value } }
    func set(_ v: Bool) { lock.withLock { value = v } }
}
