import Foundation
import Testing
import TidemarkCore
import TidemarkTestSupport
@testable import TidemarkStore

/// The backends every store test runs on.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres
    var testDescription: String { rawValue }
}

/// The store contract, run against every backend: SQLite in a temporary file, PostgreSQL in a
/// fresh database of the test process's private server (`PostgresServer`).
/// Expected answers are computed by brute force from the observations themselves.
@Suite struct HistoryStoreTests {
    static func pkg(_ name: String, _ version: String, release: String = "1", arch: String = "x86_64", digest: String? = nil) -> Package {
        Package(format: .rpm, name: name, evr: EVR(version: version, release: release), arch: arch, digest: digest ?? "d-\(name)-\(version)", source: "\(name)-\(version)-\(release).src.rpm")
    }

    static func obs(_ host: String, _ t: Int64, _ packages: [Package], source: ObservationSource = .snapshot) -> Observation {
        Observation(host: host, at: Timestamp(seconds: t), state: PackageState(packages), source: source, repositories: [],
                    installTimes: Dictionary(uniqueKeysWithValues: packages.map { ($0.identityKey, t - 10) }))
    }

    /// A fresh, empty store of that kind; `body` gets it and its location (a path or URL for
    /// `SQLHistoryStore.open(location:)`, to reopen it) and may close it itself.
    static func withStore(_ backend: Backend, _ body: (SQLHistoryStore, String) async throws -> Void) async throws {
        switch backend {
        case .sqlite:
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let path = dir.path + "/history.sqlite"
            let store = try await SQLHistoryStore.openSQLite(path: path)
            do { try await body(store, path) } catch {
                try? await store.close()
                throw error
            }
            try? await store.close()
        case .postgres:
            let server = try PostgresServer.shared()
            let url = try server.createDatabase()
            let store = try await SQLHistoryStore.openPostgres(url: url)
            do { try await body(store, url) } catch {
                try? await store.close()
                server.dropDatabase(url: url)
                throw error
            }
            try? await store.close()
            server.dropDatabase(url: url)
        }
    }

    func withStore(_ backend: Backend, _ body: (SQLHistoryStore, String) async throws -> Void) async throws {
        try await Self.withStore(backend, body)
    }

    @Test(arguments: Backend.allCases) func recordsAndReadsBackExactState(backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            let ps = [Self.pkg("bash", "5.2"), Self.pkg("perl-Mojo-IOLoop-ReadWriteProcess", "0.34", release: "1.1", arch: "noarch")]
            let outcome = try await store.record([Self.obs("w1", 1000, ps)])
            #expect(outcome == [.recordedNewState])
            let o = try #require(try await store.observation(host: "w1", atOrBefore: nil))
            #expect(o.state == PackageState(ps).id)
            #expect(try await store.packages(of: o.state) == PackageState(ps).packages)
            #expect(try await store.installTimes(host: "w1", at: Timestamp(seconds: 1000)).count == 2)
            #expect(try await store.repositories(host: "w1", at: Timestamp(seconds: 1000)) == [])
        }
    }

    @Test(arguments: Backend.allCases) func changelogsAndOddTextSurviveTheBulkPath(backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            var p = Self.pkg("we\"ird\\name", "1.0~rc1")
            p.vendor = "Vendor\twith\ttabs and \u{1} control, ünïcödé, 漢字"
            let log = [ChangelogEntry(time: 1_700_000_000, author: "A \"Quoted\" <a@b>", text: "- line one\n- line \\ two\t\u{7f}")]
            var o = Self.obs("w1", 100, [p])
            o.changelogs = [p.identityKey: log]
            _ = try await store.record([o])
            #expect(try await store.packages(of: o.state.id) == [p])
            #expect(try await store.changelog(of: p) == log)
        }
    }

    @Test(arguments: Backend.allCases) func identicalStatesAreStoredOnceAndResendingIsHarmless(backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            let ps = [Self.pkg("a", "1"), Self.pkg("b", "2")]
            let first = try await store.record([Self.obs("w1", 100, ps), Self.obs("w2", 100, ps), Self.obs("w1", 200, ps)])
            #expect(first == [.recordedNewState, .recorded, .recorded])
            #expect(try await store.record([Self.obs("w1", 100, ps)]) == [.duplicate])
            #expect(try await store.states(withPrefix: "").count == 1)
            let hosts = try await store.hosts()
            #expect(hosts.map(\.host) == ["w1", "w2"])
            #expect(hosts.map(\.observations) == [2, 1])
        }
    }

    @Test(arguments: Backend.allCases) func aConflictingObservationStoresNothingOfItsBatch(backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            _ = try await store.record([Self.obs("w1", 100, [Self.pkg("a", "1")])])
            await #expect(throws: TidemarkError.self) {
                try await store.record([Self.obs("w2", 100, [Self.pkg("z", "9")]), Self.obs("w1", 100, [Self.pkg("a", "2")])])
            }
            #expect(try await store.hosts().map(\.host) == ["w1"])
            #expect(try await store.whereIs(name: "z", at: Timestamp(seconds: 500)).versions.isEmpty)
            // the rolled-back package must not linger in caches either
            _ = try await store.record([Self.obs("w2", 300, [Self.pkg("z", "9")])])
            #expect(try await store.whereIs(name: "z", at: Timestamp(seconds: 500)).versions.map(\.hosts) == [["w2"]])
        }
    }

    /// Concurrent calls share transactions (group commit): every call still gets its own outcomes,
    /// and a call that fails leaves nothing behind while the calls written with it are kept.
    @Test(arguments: Backend.allCases) func concurrentBatchesAreIndependentUnderGroupCommit(backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            _ = try await store.record([Self.obs("w0", 100, [Self.pkg("a", "1")])])
            let calls = 64
            let results = await withTaskGroup(of: (Int, Result<[RecordOutcome], any Error>).self) { group in
                for i in 0..<calls {
                    group.addTask {
                        let batch: [Observation]
                        if i % 8 == 0 {
                            // new host and new package first, then a conflict with w0 at t=100: all of it refused
                            batch = [Self.obs("bad\(i)", 100, [Self.pkg("bad\(i)", "1")]), Self.obs("w0", 100, [Self.pkg("a", "2")])]
                        } else {
                            batch = [Self.obs("h\(i)", 100, [Self.pkg("a", "1"), Self.pkg("p\(i)", "1")]), Self.obs("h\(i)", 200, [Self.pkg("a", "1")])]
                        }
                        do { return (i, .success(try await store.record(batch))) } catch { return (i, .failure(error)) }
                    }
                }
                var out: [Int: Result<[RecordOutcome], any Error>] = [:]
                for await (i, r) in group { out[i] = r }
                return out
            }
            for i in 0..<calls {
                switch results[i]! {
                case .success(let outcomes):
                    #expect(i % 8 != 0, "call \(i) should have been refused")
                    #expect(outcomes == [.recordedNewState, .recorded], "call \(i)")
                case .failure(let error):
                    #expect(i % 8 == 0, "call \(i) failed: \(error)")
                    #expect((error as? TidemarkError)?.code == .conflict)
                }
            }
            let hosts = try await store.hosts().map(\.host)
            #expect(hosts.count == 1 + calls - calls / 8)
            #expect(!hosts.contains { $0.hasPrefix("bad") })
            #expect(try await store.whereIs(name: "bad8", at: Timestamp(seconds: 500)).versions.isEmpty)
            #expect(try await store.whereIs(name: "p9", at: Timestamp(seconds: 150)).versions.map(\.hosts) == [["h9"]])
            #expect(try await store.whereIs(name: "p9", at: Timestamp(seconds: 250)).versions.isEmpty)
            // refused rows must not linger in the caches: the same package recorded later is stored
            _ = try await store.record([Self.obs("late", 300, [Self.pkg("bad8", "1")])])
            #expect(try await store.whereIs(name: "bad8", at: Timestamp(seconds: 500)).versions.map(\.hosts) == [["late"]])
        }
    }

    /// Concurrent heartbeats are recorded set-based when grouped; duplicates, conflicts, unknown
    /// states and changed states among them still get their own outcomes.
    @Test(arguments: Backend.allCases) func groupedHeartbeatsKeepTheirOwnOutcomes(backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            let a = [Self.pkg("a", "1")], b = [Self.pkg("a", "2")]
            for h in 0..<20 {
                var o = Self.obs("h\(h)", 100, a)
                o.repositories = [Repository(kind: .zypp, alias: "r\(h)", url: "http://x/\(h)")]
                _ = try await store.record([o])
            }
            _ = try await store.record([Self.obs("other", 100, b)])
            func beat(_ host: String, _ t: Int64, _ state: StateID) -> Observation {
                Observation(host: host, at: Timestamp(seconds: t), state: PackageState(reference: state), source: .agent)
            }
            let sa = PackageState(a).id, sb = PackageState(b).id
            var calls: [(Observation, String)] = []
            for h in 0..<20 { for t in [200, 300, 400] as [Int64] { calls.append((beat("h\(h)", t, sa), "recorded")) } }
            calls.append((beat("h0", 100, sa), "duplicate"))
            calls.append((beat("h1", 100, sb), "conflict"))
            calls.append((beat("h2", 250, sb), "recorded"))   // a known state, but not the host's: spans change
            calls.append((beat("h3", 500, StateID(hex: String(repeating: "0", count: 64))), "unknown_state"))
            calls.append((beat("nobody", 100, sa), "recorded"))  // a new host reporting a known state
            let results = await withTaskGroup(of: (Int, String).self) { group in
                for (i, (o, _)) in calls.enumerated() {
                    group.addTask {
                        do {
                            let r = try await store.record([o])
                            return (i, r == [.duplicate] ? "duplicate" : r == [.recorded] ? "recorded" : "\(r)")
                        } catch let e as TidemarkError { return (i, e.code.rawValue) } catch { return (i, "\(error)") }
                    }
                }
                var out = [String](repeating: "", count: calls.count)
                for await (i, r) in group { out[i] = r }
                return out
            }
            for (i, (o, expected)) in calls.enumerated() {
                #expect(results[i] == expected, "\(o.host)@\(o.at.seconds): \(results[i])")
            }
            #expect(try await store.observations(host: "h5", since: nil, until: nil).map(\.at.seconds) == [100, 200, 300, 400])
            #expect(try await store.repositories(host: "h5", at: Timestamp(seconds: 400))?.map(\.alias) == ["r5"])
            // h2 changed to b at 250 and back to a at 300: the spans say so
            #expect(try await store.whereIs(name: "a", at: Timestamp(seconds: 260)).versions.first { $0.evr == "2-1" }?.hosts.contains("h2") == true)
            #expect(try await store.whereIs(name: "a", at: Timestamp(seconds: 310)).versions.first { $0.evr == "2-1" }?.hosts.contains("h2") != true)
            #expect(try await store.observations(host: "nobody", since: nil, until: nil).count == 1)
        }
    }

    /// A heartbeat (a state sent by reference) without repositories keeps those of the host's
    /// previous observation of the same state; a changed state does not inherit them.
    @Test(arguments: Backend.allCases) func heartbeatsCarryRepositoriesForward(backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            let ps = [Self.pkg("a", "1")]
            var first = Self.obs("w1", 100, ps)
            first.repositories = [Repository(kind: .zypp, alias: "oss", url: "http://x/oss")]
            _ = try await store.record([first])
            let beat = Observation(host: "w1", at: Timestamp(seconds: 200), state: PackageState(reference: first.state.id), source: .agent, repositories: nil)
            #expect(try await store.record([beat]) == [.recorded])
            #expect(try await store.repositories(host: "w1", at: Timestamp(seconds: 200))?.map(\.alias) == ["oss"])
            var changed = Self.obs("w1", 300, [Self.pkg("a", "2")])
            changed.repositories = nil
            _ = try await store.record([changed])
            #expect(try await store.repositories(host: "w1", at: Timestamp(seconds: 300)) == nil)
            let unknown = Observation(host: "w1", at: Timestamp(seconds: 400), state: PackageState(reference: StateID(hex: String(repeating: "0", count: 64))), source: .agent)
            await #expect(throws: TidemarkError.self) { try await store.record([unknown]) }
        }
    }

    @Test(arguments: Backend.allCases) func longDeltaChainsStayReadable(backend: Backend) async throws {
        try await withStore(backend) { store, location in
            var ps = (0..<50).map { Self.pkg("p\($0)", "1") }
            var expected: [(Int64, PackageState)] = []
            for step in 0..<60 {
                ps[step % 50] = Self.pkg("p\(step % 50)", "\(step + 2)")
                if step % 7 == 0 { ps.append(Self.pkg("extra\(step)", "1")) }
                let t = Int64(1000 + step * 60)
                _ = try await store.record([Self.obs("w1", t, ps)])
                expected.append((t, PackageState(ps)))
            }
            try await store.close()
            let reopened = try await SQLHistoryStore.open(location: location)
            for (t, state) in expected {
                let o = try #require(try await reopened.observation(host: "w1", atOrBefore: Timestamp(seconds: t)))
                #expect(o.state == state.id)
                #expect(try await reopened.packages(of: o.state) == state.packages)
            }
            #expect(try await reopened.storageSize() > 0)
            try await reopened.close()
        }
    }

    /// Random fleets recorded in random order: `where`, `difference`, `latestObservations` and
    /// install times must match what the observations say, whatever the insertion order.
    @Test(arguments: Backend.allCases, [1, 2, 3, 4] as [UInt64]) func spansMatchBruteForceForAnyInsertionOrder(backend: Backend, seed: UInt64) async throws {
        try await withStore(backend) { store, _ in
            var rng = SplitMix64(seed: seed)
            let names = (0..<12).map { "pkg\($0)" }
            var all: [Observation] = []
            for h in 0..<4 {
                var current: [String: String] = [:]
                for n in names where rng.next() % 3 != 0 { current[n] = "1.\(rng.next() % 3)" }
                for step in 0..<8 {
                    // heartbeats keep the state; otherwise change a few packages
                    if step > 0 && rng.next() % 4 != 0 {
                        for _ in 0..<(1 + Int(rng.next() % 3)) {
                            let n = names[Int(rng.next() % UInt64(names.count))]
                            if rng.next() % 4 == 0 { current[n] = nil } else { current[n] = "1.\(rng.next() % 4)" }
                        }
                    }
                    let ps = current.map { Self.pkg($0.key, $0.value) }
                    all.append(Self.obs("host\(h)", Int64(1000 + step * 100 + h), ps))
                }
            }
            var order = all
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            // record in random batches
            var i = 0
            while i < order.count {
                let n = 1 + Int(rng.next() % 5)
                _ = try await store.record(Array(order[i..<min(i + n, order.count)]))
                i += n
            }
            func truth(_ host: String, _ t: Int64) -> Observation? {
                all.filter { $0.host == host && $0.at.seconds <= t }.max { $0.at < $1.at }
            }
            for t in stride(from: Int64(950), through: 1900, by: 37) {
                for name in names.prefix(6) {
                    let got = try await store.whereIs(name: name, at: Timestamp(seconds: t))
                    var expected: [String: [String]] = [:]
                    var absent: [String] = []
                    for h in 0..<4 {
                        guard let o = truth("host\(h)", t) else { continue }
                        if let p = o.state.packages.first(where: { $0.name == name }) {
                            expected[p.evr.description, default: []].append("host\(h)")
                        } else {
                            absent.append("host\(h)")
                        }
                    }
                    #expect(Dictionary(uniqueKeysWithValues: got.versions.map { ($0.evr, $0.hosts) }) == expected, "where \(name) at \(t)")
                    #expect(got.absent == absent, "absent \(name) at \(t)")
                }
                let latest = try await store.latestObservations(at: Timestamp(seconds: t))
                #expect(latest.map(\.state) == (0..<4).compactMap { truth("host\($0)", t)?.state.id })
                if let o = truth("host1", t) {
                    let times = try await store.installTimes(host: "host1", at: Timestamp(seconds: t))
                    #expect(Set(times.keys) == Set(o.state.packages.map(\.identityKey)))
                }
            }
            for _ in 0..<20 {
                let a = all[Int(rng.next() % UInt64(all.count))].state, b = all[Int(rng.next() % UInt64(all.count))].state
                let d = try await store.difference(from: a.id, to: b.id)
                #expect(Set(d.removed) == Set(a.packages).subtracting(b.packages))
                #expect(Set(d.added) == Set(b.packages).subtracting(a.packages))
            }
        }
    }

    @Test(arguments: Backend.allCases) func refusesADatabaseFromANewerTidemark(backend: Backend) async throws {
        try await withStore(backend) { store, location in
            try await store.backend.transaction { db in
                try await db.raw("INSERT INTO schema_migrations (version, summary, applied_at) VALUES (999, 'future', 0)").run()
            }
            try await store.close()
            await #expect(throws: TidemarkError.self) { _ = try await SQLHistoryStore.open(location: location) }
        }
    }

    /// Short prefixes must find exactly the states whose hash starts with them, in byte order,
    /// whatever the database's collation (the PostgreSQL test server uses an ICU locale).
    @Test(arguments: Backend.allCases) func statePrefixesFollowByteOrder(backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            let observations = (0..<40).map { Self.obs("w1", Int64(100 + $0), [Self.pkg("p", "1.\($0)")]) }
            _ = try await store.record(observations)
            let hashes = observations.map(\.state.id.hex).sorted()
            for hash in hashes.prefix(8) {
                for n in [1, 2, 5, 64] {
                    let prefix = String(hash.prefix(n))
                    let expected = Array(hashes.filter { $0.hasPrefix(prefix) }.prefix(10))
                    #expect(try await store.states(withPrefix: prefix.uppercased()).map(\.hex) == expected, "prefix \(prefix)")
                }
            }
            #expect(try await store.states(withPrefix: "").map(\.hex) == Array(hashes.prefix(10)))
        }
    }

    /// SQLite: a file that is not a database. PostgreSQL: a database that does not exist. Either
    /// way the message names the location (and never a password).
    @Test(arguments: Backend.allCases) func aLocationThatIsNotADatabaseIsAClearError(backend: Backend) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let location: String, shown: String
        switch backend {
        case .sqlite:
            location = dir.path + "/garbage.sqlite"
            shown = location
            try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: location))
        case .postgres:
            let server = try PostgresServer.shared()
            location = "postgres:///no_such_db?host=\(server.socketDirectory)&user=postgres&password=s3cret"
            shown = "no_such_db"
        }
        do {
            _ = try await SQLHistoryStore.open(location: location)
            Issue.record("opened \(location)")
        } catch let e as TidemarkError {
            #expect(e.message.contains(shown))
            #expect(!e.message.contains("s3cret"))
        }
    }
}

