import Foundation
import SQLKit
import Testing
import TidemarkCore
import TidemarkTestSupport
@testable import TidemarkStore

/// Several `tidemark server` processes on one PostgreSQL database: two independently opened stores
/// (two pools, like two processes) record overlapping batches at the same time. Whatever the
/// interleaving, every observation must be stored exactly once and the spans must say what a
/// brute-force reading of the observations says.
@Suite struct PostgresConcurrencyTests {
    typealias T = HistoryStoreTests

    /// A fleet with changes, removals and heartbeats (repeated states), hosts interleaved in time.
    static func fleet(seed: UInt64, hosts: Int, steps: Int) -> [Observation] {
        var rng = SplitMix64(seed: seed)
        let names = (0..<16).map { "pkg\($0)" }
        var all: [Observation] = []
        for h in 0..<hosts {
            var current: [String: String] = [:]
            for n in names where rng.below(3) != 0 { current[n] = "1.\(rng.below(3))" }
            for step in 0..<steps {
                if step > 0 && rng.below(3) != 0 {
                    for _ in 0..<(1 + rng.below(3)) {
                        let n = names[rng.below(names.count)]
                        if rng.below(4) == 0 { current[n] = nil } else { current[n] = "1.\(rng.below(6))" }
                    }
                }
                all.append(T.obs("host\(h)", Int64(1000 + step * 100 + h * 7), current.map { T.pkg($0.key, $0.value) }))
            }
        }
        return all
    }

    /// `observations` in random order, cut into random batches of 1–6.
    static func batches(_ observations: [Observation], rng: inout SplitMix64) -> [[Observation]] {
        var order = observations
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.below(i + 1)) }
        var out: [[Observation]] = []
        var i = 0
        while i < order.count {
            let n = 1 + rng.below(6)
            out.append(Array(order[i..<min(i + n, order.count)]))
            i += n
        }
        return out
    }

    /// Records `batches` with `workers` concurrent callers; returns every (observation, outcome).
    static func record(_ batches: [[Observation]], into store: SQLHistoryStore, workers: Int) async throws -> [(Observation, RecordOutcome)] {
        try await withThrowingTaskGroup(of: [(Observation, RecordOutcome)].self) { group in
            for w in 0..<workers {
                group.addTask {
                    var out: [(Observation, RecordOutcome)] = []
                    for batch in stride(from: w, to: batches.count, by: workers).map({ batches[$0] }) {
                        let outcomes = try await store.record(batch)
                        out += zip(batch, outcomes).map { ($0, $1) }
                    }
                    return out
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
    }

    @Test(arguments: [11, 12, 13] as [UInt64]) func twoProcessesRecordingOverlappingBatchesStoreEachObservationOnce(seed: UInt64) async throws {
        let server = try PostgresServer.shared()
        let url = try server.createDatabase()
        defer { server.dropDatabase(url: url) }
        // Opened at the same time: the schema migration itself must not race.
        async let openA = SQLHistoryStore.openPostgres(url: url)
        async let openB = SQLHistoryStore.openPostgres(url: url)
        let (a, b) = try await (openA, openB)

        let all = Self.fleet(seed: seed, hosts: 6, steps: 12)
        var rng = SplitMix64(seed: seed &* 31)
        // Both "processes" get every observation (agents retry against another server), each in
        // its own order and batching, plus a few repeats of the same batches.
        let forA = Self.batches(all, rng: &rng), forB = Self.batches(all, rng: &rng)
        let repeats = Array(forA.prefix(4))
        async let doneA = Self.record(forA + repeats, into: a, workers: 3)
        async let doneB = Self.record(forB, into: b, workers: 3)
        let outcomes = try await doneA + doneB

        // Exactly one non-duplicate outcome per observation.
        var stored: [String: Int] = [:]
        for (o, outcome) in outcomes where outcome != .duplicate { stored["\(o.host)@\(o.at.seconds)", default: 0] += 1 }
        #expect(stored.count == all.count)
        #expect(stored.values.allSatisfy { $0 == 1 }, "observations stored more than once: \(stored.filter { $0.value != 1 })")

        // A third, fresh client reads it all back.
        let c = try await SQLHistoryStore.openPostgres(url: url)
        let hostNames = Set(all.map(\.host)).sorted()
        for host in hostNames {
            let truth = all.filter { $0.host == host }.sorted { $0.at < $1.at }
            let got = try await c.observations(host: host, since: nil, until: nil)
            #expect(got.map(\.at) == truth.map(\.at), "observations of \(host)")
            #expect(got.map(\.state) == truth.map(\.state.id), "states of \(host)")
        }
        let hosts = try await c.hosts()
        #expect(hosts.map(\.host) == hostNames)
        #expect(hosts.map(\.observations) == hostNames.map { h in all.filter { $0.host == h }.count })

        func truth(_ host: String, _ t: Int64) -> Observation? {
            all.filter { $0.host == host && $0.at.seconds <= t }.max { $0.at < $1.at }
        }
        for t in stride(from: Int64(950), through: 2300, by: 53) {
            for name in (0..<16).map({ "pkg\($0)" }) {
                let got = try await c.whereIs(name: name, at: Timestamp(seconds: t))
                var expected: [String: [String]] = [:]
                var absent: [String] = []
                for host in hostNames {
                    guard let o = truth(host, t) else { continue }
                    if let p = o.state.packages.first(where: { $0.name == name }) {
                        expected[p.evr.description, default: []].append(host)
                    } else {
                        absent.append(host)
                    }
                }
                #expect(Dictionary(uniqueKeysWithValues: got.versions.map { ($0.evr, $0.hosts) }) == expected, "where \(name) at \(t)")
                #expect(got.absent == absent, "absent \(name) at \(t)")
            }
        }

        // No torn timelines: a host never has two overlapping spans of one package, and nothing
        // was stored twice underneath the API either.
        let (overlaps, rows, states) = try await c.backend.read { db in
            let overlaps = try await db.raw("""
                SELECT COUNT(*) AS n FROM spans s1 JOIN spans s2
                ON s1.host_id = s2.host_id AND s1.package_id = s2.package_id AND s1.since < s2.since
                AND (s1.until IS NULL OR s1.until > s2.since)
                """).first()!.decode(column: "n", as: Int.self)
            let rows = try await db.raw("SELECT COUNT(*) AS n FROM observations").first()!.decode(column: "n", as: Int.self)
            let states = try await db.raw("SELECT COUNT(*) AS n FROM states").first()!.decode(column: "n", as: Int.self)
            return (overlaps, rows, states)
        }
        #expect(overlaps == 0)
        #expect(rows == all.count)
        #expect(states == Set(all.map(\.state.id)).count)

        for s in [a, b, c] { try await s.close() }
    }

    /// Two writers each inserting the same NEW packages, in opposite orders, for different hosts:
    /// without `lockSharedRows` each would wait for the other's uncommitted row (a deadlock that
    /// PostgreSQL breaks by failing one batch). Every batch must succeed.
    @Test func writersOfNewSharedRowsInOppositeOrdersDoNotDeadlock() async throws {
        let server = try PostgresServer.shared()
        let url = try server.createDatabase()
        defer { server.dropDatabase(url: url) }
        let a = try await SQLHistoryStore.openPostgres(url: url)
        let b = try await SQLHistoryStore.openPostgres(url: url)
        for round in 0..<25 {
            let x = T.pkg("x\(round)", "1"), y = T.pkg("y\(round)", "1")
            let batchA = [T.obs("a\(round)", 100, [x]), T.obs("a\(round)-2", 100, [y])]
            let batchB = [T.obs("b\(round)", 100, [y]), T.obs("b\(round)-2", 100, [x])]
            async let ra = a.record(batchA)
            async let rb = b.record(batchB)
            let (oa, ob) = try await (ra, rb)
            #expect(oa.count == 2 && ob.count == 2)
        }
        #expect(try await a.hosts().count == 100)
        for s in [a, b] { try await s.close() }
    }

    /// Writers of one observation each share that lock (they insert new rows in one global order)
    /// while a writer of several observations takes it alone: the same new packages and states
    /// from many hosts at once, as when a whole fleet takes one update. Every batch must succeed,
    /// each state and package stored once.
    @Test func oneObservationWritersShareTheLockBesideAWriterOfSeveral() async throws {
        let server = try PostgresServer.shared()
        let url = try server.createDatabase()
        defer { server.dropDatabase(url: url) }
        let stores = [try await SQLHistoryStore.openPostgres(url: url), try await SQLHistoryStore.openPostgres(url: url), try await SQLHistoryStore.openPostgres(url: url)]
        for round in 0..<20 {
            let x = T.pkg("x\(round)", "1"), y = T.pkg("y\(round)", "1"), z = T.pkg("z\(round)", "1")
            let outcomes = try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<6 {   // lone observations: the same new packages, some the same state
                    let packages = [[x, y, z], [z, y], [x, y, z], [y, x], [z, x, y], [x]][i]
                    group.addTask { try await stores[i % 3].record([T.obs("one\(round)-\(i)", 100, packages)]).count }
                }
                group.addTask { try await stores[2].record([T.obs("many\(round)", 100, [z, y]), T.obs("many\(round)-2", 100, [y, x])]).count }
                var n = 0
                for try await c in group { n += c }
                return n
            }
            #expect(outcomes == 8)
        }
        let (packages, states) = try await stores[0].backend.read { db in
            (try await db.raw("SELECT COUNT(*) AS n FROM packages").first()!.decode(column: "n", as: Int.self),
             try await db.raw("SELECT COUNT(*) AS n FROM states").first()!.decode(column: "n", as: Int.self))
        }
        #expect(packages == 20 * 3)
        #expect(states == 20 * 4)   // {x,y,z}, {y,z}, {x,y}, {x} each round
        #expect(try await stores[0].hosts().count == 20 * 8)
        for s in stores { try await s.close() }
    }

    @Test func anUnreachableServerIsAClearError() async throws {
        do {
            _ = try await SQLHistoryStore.openPostgres(url: "postgres://tidemark:s3cret@127.0.0.1:1/fleet")
            Issue.record("connected to port 1")
        } catch let e as TidemarkError {
            #expect(e.code == .storage)
            #expect(e.message.hasPrefix("cannot connect to PostgreSQL at postgres://tidemark@127.0.0.1:1/fleet: "), "\(e.message)")
            #expect(!e.message.contains("s3cret"))
        }
    }

    @Test func aMissingSocketDirectoryIsAClearError() async throws {
        await #expect {
            _ = try await SQLHistoryStore.open(location: "postgresql:///fleet?host=/nonexistent/tidemark&user=me")
        } throws: { error in
            guard let e = error as? TidemarkError else { return false }
            return e.code == .storage && e.message.contains("cannot connect to PostgreSQL at postgresql:///fleet?host=/nonexistent/tidemark&user=me")
        }
    }

    @Test func badURLsAreRefusedBeforeConnecting() async throws {
        for url in ["postgres://h/db?sslmode=bogus", "postgres://h/db?colour=blue", "postgres://h:99999/db", "postgres://h/db?connect_timeout=-1"] {
            await #expect(throws: TidemarkError.self, "\(url)") { _ = try await SQLHistoryStore.openPostgres(url: url) }
        }
    }
}

/// The URL forms of `--db` / `TIDEMARK_DB` for PostgreSQL.
@Suite struct PostgresURLTests {
    @Test func tcpWithPasswordIsShownWithout() throws {
        let u = try PostgresURL("postgres://fleet:p%40ss@db.example:6543/history?sslmode=require")
        #expect(u.endpoint == .tcp(host: "db.example", port: 6543))
        #expect(u.user == "fleet")
        #expect(u.password == "p@ss")
        #expect(u.database == "history")
        #expect(u.tls == .require)
        #expect(u.display == "postgres://fleet@db.example:6543/history?sslmode=require")
    }

    @Test func defaultsFollowLibpq() throws {
        let u = try PostgresURL("postgresql://db.example")
        #expect(u.endpoint == .tcp(host: "db.example", port: 5432))
        #expect(u.user == PostgresURL.osUser())
        #expect(u.database == u.user)
        #expect(u.tls == .prefer)
        #expect(u.connectTimeout == 10)
    }

    @Test func unixSocketDirectory() throws {
        let u = try PostgresURL("postgres:///tidemark?host=/run/pg&user=fleet&port=5433&password=x")
        #expect(u.endpoint == .socket(path: "/run/pg/.s.PGSQL.5433"))
        #expect(u.user == "fleet")
        #expect(u.password == "x")
        #expect(u.database == "tidemark")
        #expect(!u.display.contains("password"))
        let d = try PostgresURL("postgres:///tidemark")
        #expect(d.endpoint == .socket(path: "/var/run/postgresql/.s.PGSQL.5432"))
    }

    @Test func isURL() {
        #expect(PostgresBackend.isURL("postgres://h/db"))
        #expect(PostgresBackend.isURL("postgresql:///db"))
        #expect(!PostgresBackend.isURL("/var/lib/tidemark/tidemark.sqlite"))
        #expect(!PostgresBackend.isURL("postgres.sqlite"))
    }
}
