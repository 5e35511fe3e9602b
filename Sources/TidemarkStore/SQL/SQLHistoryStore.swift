import Foundation
import SQLKit
import Synchronization
import TidemarkCore

/// `HistoryStore` on SQL: the same statements run on SQLite and PostgreSQL (see `SQLBackend`).
///
/// Layout: packages are deduplicated binaries; a state is a delta-encoded list of package ids,
/// stored once however many hosts share it; an observation points a host at a state at a time;
/// spans are each host's package timeline, maintained in the same transaction as the
/// observation, so `where` and `history` never have to rebuild states.
///
/// Several processes may record into one PostgreSQL database at once (shared deployments). Every
/// insert of a unique key tolerates losing a race (`ON CONFLICT DO NOTHING`, then read the
/// winner's row), writers of one host are serialised (`SQLBackend.lockHost`), and writers of new
/// shared rows too (`SQLBackend.lockSharedRows`), so that no observation is stored twice and no
/// span is torn, and concurrent batches cannot deadlock.
public final class SQLHistoryStore: HistoryStore {
    public let backend: any SQLBackend
    /// Caches of committed rows only (ids never change once committed).
    private let cache = Mutex(Caches())
    /// States rebuilt from a delta and checked, waiting to be written: which of their packages
    /// are the base's (by row id) and which are new, so that the write looks up only the new ones.
    private let deltaPlans = Mutex([String: DeltaPlan]())

    struct DeltaPlan: Sendable {
        /// The base's members the state keeps (by id).
        var kept: [Int64]
        /// The packages it adds, in state order.
        var added: [Package]
        /// The state's members in state order: a row id, or -(i + 1) for `added[i]`.
        var order: [Int64]
    }
    private let writer: GroupCommit

    /// Longest delta chain a reader follows before a full copy of a state is stored.
    static let maxDepth = 16
    static let chunk = 500

    struct StateRow: Sendable { var rowID: Int64; var count: Int; var depth: Int }
    struct Caches {
        var hosts: [String: Int64] = [:]
        var packages: [String: Int64] = [:]
        /// Package rows by id: a fleet's distinct binaries (tens of thousands, a few hundred
        /// bytes each), so that rebuilding a state (a delta's base, `show`, `diff`) reads nothing.
        var objects: [Int64: Package] = [:]
        static let maxObjects = 500_000

        mutating func remember(objects new: [Int64: Package]) {
            if objects.count + new.count > Self.maxObjects { objects.removeAll(keepingCapacity: true) }
            objects.merge(new) { a, _ in a }
        }
        private(set) var states: [String: StateRow] = [:]
        /// `states` by row id: a delta's base is found by id (its depth decides whether the new
        /// state is stored as a delta against it) without a round trip.
        private(set) var stateRows: [Int64: StateRow] = [:]

        /// Keeps `states` and `stateRows` in step.
        mutating func remember(states new: [String: StateRow]) {
            states.merge(new) { $1 }
            for row in new.values { stateRows[row.rowID] = row }
        }
        var members: [Int64: [Int64]] = [:]
        var memberOrder: [Int64] = []
        var memberHead = 0
        var memberIDs = 0

        /// Bounded by ids held (8 bytes each), not by states: a fleet of 1,000 hosts of 3,000
        /// packages keeps every host's current state (24 MB), so recording a host's next
        /// observation never rebuilds its previous state from the delta chain.
        static let maxMemberIDs = 16 << 20

        /// A state's members in the state's own order (`Package.stateOrder`, the order its
        /// content address hashes them in), beside `members` (by id) and evicted with them: a
        /// delta against the state is then checked without sorting thousands of packages.
        var ordered: [Int64: [Int64]] = [:]
        /// Identity keys by package row id (the other way round from `packages`).
        var keys: [Int64: String] = [:]

        mutating func remember(ordered ids: [Int64], of state: Int64) {
            guard members[state] != nil else { return }
            memberIDs += ids.count - (ordered[state]?.count ?? 0)
            ordered[state] = ids
        }

        mutating func remember(members ids: [Int64], of state: Int64) {
            if let old = members[state] {
                memberIDs -= old.count
            } else {
                memberOrder.append(state)
            }
            members[state] = ids
            memberIDs += ids.count
            while memberIDs > Self.maxMemberIDs, memberHead < memberOrder.count {
                let evicted = memberOrder[memberHead]
                memberHead += 1
                if let old = members.removeValue(forKey: evicted) { memberIDs -= old.count }
                if let old = ordered.removeValue(forKey: evicted) { memberIDs -= old.count }
            }
            if memberHead > 4096, memberHead * 2 > memberOrder.count {
                memberOrder.removeFirst(memberHead)
                memberHead = 0
            }
        }
    }

    /// Opens (and migrates) the store on a backend.
    /// - Parameter sha256: a faster SHA-256 than the core's portable one, for checking the content
    ///   address of a state sent as a delta (OpenSSL's, from the edge that has it).
    public static func open(_ backend: any SQLBackend, sha256: PackageState.SHA256Function? = nil) async throws -> SQLHistoryStore {
        do {
            try await backend.withMigrationLock { try await Schema.migrate(backend) }
        } catch {
            try? await backend.close()
            throw error
        }
        return SQLHistoryStore(backend: backend, sha256: sha256)
    }

    /// Opens the embedded SQLite store at `path`.
    public static func openSQLite(path: String, sha256: PackageState.SHA256Function? = nil) async throws -> SQLHistoryStore {
        try await open(SQLiteBackend.open(path: path), sha256: sha256)
    }

    /// Opens the PostgreSQL store at `url` (see `PostgresBackend` for the URL forms).
    public static func openPostgres(url: String, sha256: PackageState.SHA256Function? = nil) async throws -> SQLHistoryStore {
        try await open(PostgresBackend.open(url: url), sha256: sha256)
    }

    /// Opens `location`: a `postgres://` or `postgresql://` URL, otherwise a SQLite file path.
    public static func open(location: String, sha256: PackageState.SHA256Function? = nil) async throws -> SQLHistoryStore {
        PostgresBackend.isURL(location) ? try await openPostgres(url: location, sha256: sha256) : try await openSQLite(path: location, sha256: sha256)
    }

    private let sha256: PackageState.SHA256Function?

    private init(backend: any SQLBackend, sha256: PackageState.SHA256Function?) {
        self.backend = backend
        self.sha256 = sha256
        // SQLite has one writer anyway; on PostgreSQL a few groups can commit side by side.
        self.writer = GroupCommit(writers: backend.dialect == .sqlite ? 1 : 4)
    }

    public func close() async throws { try await backend.close() }
    public func storageSize() async throws -> Int64 { try await backend.size() }

    // MARK: recording

    /// Rows created inside a transaction, published to the caches only after COMMIT.
    final class Pending: @unchecked Sendable {
        var hosts: [String: Int64] = [:]
        var packages: [String: Int64] = [:]
        var states: [String: StateRow] = [:]
        var members: [Int64: [Int64]] = [:]
        /// Package rows this transaction used that the cache lacks.
        var objects: [Int64: Package] = [:]
        /// States' members in state order (see `Caches.ordered`).
        var ordered: [Int64: [Int64]] = [:]
        var outcomes: [RecordOutcome] = []
        /// Advisory locks this transaction holds (they last until it ends).
        var lockedHosts: Set<String> = []
        var sharedRowsLocked = false
        /// The transaction records a single observation, inserting its new shared rows in the
        /// global order (see `SQLBackend.lockSharedRows`): it may share that lock.
        var oneObservation = false

        struct Mark {
            var hosts: [String: Int64], packages: [String: Int64], states: [String: StateRow], members: [Int64: [Int64]]
            var objects: [Int64: Package], ordered: [Int64: [Int64]]
            var lockedHosts: Set<String>, sharedRowsLocked: Bool
        }
        /// What to go back to when a savepoint is rolled back (copy-on-write: cheap to take).
        var mark: Mark { Mark(hosts: hosts, packages: packages, states: states, members: members, objects: objects, ordered: ordered, lockedHosts: lockedHosts, sharedRowsLocked: sharedRowsLocked) }
        func restore(_ m: Mark) {
            (hosts, packages, states, members, objects, ordered) = (m.hosts, m.packages, m.states, m.members, m.objects, m.ordered)
            (lockedHosts, sharedRowsLocked) = (m.lockedHosts, m.sharedRowsLocked)
        }
    }

    /// Records `observations` as one unit: all of them or none. Concurrent calls are group
    /// committed (see `GroupCommit`): each call's batch runs in its own savepoint of a shared
    /// transaction, so one call's error never touches another's, and every call returns only
    /// after the COMMIT that made its batch durable.
    public func record(_ observations: [Observation]) async throws -> [RecordOutcome] {
        var ready = observations
        var planned: [String] = []
        defer { if !planned.isEmpty { deltaPlans.withLock { p in for k in planned { p[k] = nil } } } }
        for (i, o) in observations.enumerated() {
            try Observation.validateHostName(o.host)
            guard o.delta != nil else { continue }
            let (full, plan) = try await materialize(o)
            ready[i] = full
            if let plan {
                deltaPlans.withLock { $0[full.state.id.hex] = plan }
                planned.append(full.state.id.hex)
            }
        }
        return try await writer.submit(ready) { batches in try await self.write(batches) }
    }

    /// A state sent as a delta, checked before the write (outside any transaction and lock: many
    /// requests do this side by side): the base's packages without the removed ones, with the
    /// added ones, must hash to the state id the observation names. The base's members are kept
    /// in state order (`Caches.ordered`), so the new state's order is the base's with the few
    /// added packages put in place, and nothing is sorted or copied per package. A state the store
    /// already knows stays a reference (like a heartbeat's); an unknown base is `unknownState`, so
    /// that the sender sends the whole state. States never change once stored, so reading the
    /// base here and writing later is safe.
    private func materialize(_ o: Observation) async throws -> (Observation, DeltaPlan?) {
        guard let delta = o.delta else { return (o, nil) }
        var out = o
        out.delta = nil
        if cache.withLock({ $0.states[o.state.id.hex] }) != nil { return (out, nil) }
        // The base this store wrote or read lately (a host's previous state, the common case) is
        // in the caches with its members in state order: nothing to read. Whether the new state
        // exists already is then left to the write (which looks it up under the host's lock).
        let cached: (members: [Int64], ordered: [Int64])? = cache.withLock { c in
            guard let row = c.states[delta.base.hex], let m = c.members[row.rowID], let ordered = c.ordered[row.rowID] else { return nil }
            return (m, ordered)
        }
        let loaded: (members: [Int64], ordered: [Int64])?
        if let cached { loaded = cached } else { loaded = try await readBase(of: o, delta: delta) }
        guard let (baseMembers, baseOrdered) = loaded else { return (out, nil) }
        return (out, try await plan(o, delta: delta, baseMembers: baseMembers, baseOrdered: baseOrdered))
    }

    /// The base's members (by id and in state order) from the database; nil when the store
    /// already has the new state (the observation is then a reference to it).
    private func readBase(of o: Observation, delta: ObservationDelta) async throws -> (members: [Int64], ordered: [Int64])? {
        try await backend.read { db in
            if try await self.stateRow(hash: o.state.id.hex, db: db, pending: nil) != nil { return nil }
            guard let row = try await self.stateRow(hash: delta.base.hex, db: db, pending: nil) else {
                throw TidemarkError(.unknownState, "base state \(delta.base.short) is not known to this store: send the full observation (with packages)")
            }
            let members = try await self.members(of: row.rowID, db: db, pending: nil)
            if let ordered = self.cache.withLock({ $0.ordered[row.rowID] }) { return (members, ordered) }
            // not known in state order yet (a state read back from the database): sort it once
            let packages = try await self.loadPackages(members, db: db)
            let ordered = packages.indices.sorted { Package.stateOrder(packages[$0], packages[$1]) }.map { members[$0] }
            self.cache.withLock { $0.remember(ordered: ordered, of: row.rowID) }
            return (members, ordered)
        }
    }

    /// Checks a delta against its base's members and plans the write of the state it gives.
    private func plan(_ o: Observation, delta: ObservationDelta, baseMembers: [Int64], baseOrdered: [Int64]) async throws -> DeltaPlan {
        // what the comparisons and the hash need of the base's packages, read once if the caches lack any
        let missing = cache.withLock { c in baseMembers.filter { c.objects.index(forKey: $0) == nil || c.keys.index(forKey: $0) == nil } }
        if !missing.isEmpty { _ = try await backend.read { db in try await self.loadPackages(missing, db: db) } }

        // removed: each must be the base's
        var removedIDs = Set<Int64>()
        let removedLookup = cache.withLock { c in delta.removed.map { c.packages[$0] } }
        for (i, key) in delta.removed.enumerated() {
            guard let id = removedLookup[i], SortedIDs.contains(baseMembers, id) else {
                throw TidemarkError(.invalidInput, "removed[\(i)]: '\(key.prefix(120))' is not a package of the base state \(delta.base.short)")
            }
            removedIDs.insert(id)
        }
        // added, in state order, without those the base keeps anyway
        let keptAlready = cache.withLock { c in delta.added.map { p in c.packages[p.identityKey].map { SortedIDs.contains(baseMembers, $0) && !removedIDs.contains($0) } ?? false } }
        var added: [Package] = []
        var seen = Set<String>()
        for (p, kept) in zip(delta.added, keptAlready) where !kept && seen.insert(p.identityKey).inserted { added.append(p) }
        added.sort(by: Package.stateOrder)
        // the new order: the base's kept members, each added package put in its place (a
        // non-negative entry is a package row id, -(i + 1) the i-th added package)
        let keptOrdered = removedIDs.isEmpty ? baseOrdered : baseOrdered.filter { !removedIDs.contains($0) }
        var order: [Int64] = []
        order.reserveCapacity(keptOrdered.count + added.count)
        let (keys, positions): ([String], [Int]) = cache.withLock { c in
            var positions: [Int] = []
            for p in added {
                var lo = 0, hi = keptOrdered.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if let q = c.objects[keptOrdered[mid]], Package.stateOrder(q, p) { lo = mid + 1 } else { hi = mid }
                }
                positions.append(lo)
            }
            var keys: [String] = []
            keys.reserveCapacity(keptOrdered.count + added.count)
            var next = 0
            for (i, id) in keptOrdered.enumerated() {
                while next < added.count, positions[next] == i {
                    keys.append(added[next].identityKey)
                    next += 1
                }
                keys.append(c.keys[id] ?? "")
            }
            while next < added.count {
                keys.append(added[next].identityKey)
                next += 1
            }
            return (keys, positions)
        }
        var next = 0
        for (i, id) in keptOrdered.enumerated() {
            while next < added.count, positions[next] == i {
                order.append(-Int64(next) - 1)
                next += 1
            }
            order.append(id)
        }
        while next < added.count {
            order.append(-Int64(next) - 1)
            next += 1
        }
        let got = PackageState.contentAddress(identityKeys: keys, sha256: sha256)
        guard got == o.state.id else {
            throw TidemarkError(.invalidInput, "state: the delta (\(delta.added.count) added, \(delta.removed.count) removed) against base \(delta.base.short) gives state \(got.short), not \(o.state.id.short)")
        }
        let kept = removedIDs.isEmpty ? baseMembers : baseMembers.filter { !removedIDs.contains($0) }
        return DeltaPlan(kept: kept, added: added, order: order)
    }

    /// Each host is locked when its first observation arrives (a producer's hosts are not known up
    /// front). Backfills name one host, so this only matters if two concurrent producers share
    /// hosts in opposite orders: PostgreSQL then fails one of them as a deadlock (nothing stored).
    public func record(producing produce: @Sendable (ObservationSink) async throws -> Void) async throws -> [RecordOutcome] {
        let pending = Pending()
        let outcomes = try await backend.transaction { db in
            let sink = ObservationSink { o in
                try Observation.validateHostName(o.host)
                pending.outcomes.append(try await self.recordOne(o, db: db, pending: pending))
            }
            try await produce(sink)
            return pending.outcomes
        }
        publish(pending)
        return outcomes
    }

    /// Writes a group of batches in one transaction. All hosts are locked up front in one global
    /// (sorted) order: two groups that share hosts then wait for each other instead of each
    /// holding a host the other needs. A lone batch needs no savepoint: its error rolls back the
    /// whole transaction.
    private func write(_ batches: [[Observation]]) async throws -> [Result<[RecordOutcome], any Error>] {
        // PostgreSQL: the group's heartbeats first, in one statement (one round trip); the rest,
        // and heartbeats that statement did not take, each in its own transaction. Grouping them
        // would save little there (PostgreSQL shares the flush of concurrent commits itself) and
        // cost much: a batch that stores new packages or states holds the shared-rows lock until
        // COMMIT, so in a group every later batch would do all its work under that lock, and
        // every other writer with new rows would wait for all of it.
        guard backend.dialect == .postgres else { return try await writeTransaction(batches) }
        let candidates = cache.withLock { c in heartbeatCandidates(batches, cache: c, pending: nil) }
        var results = [Result<[RecordOutcome], any Error>?](repeating: nil, count: batches.count)
        if !candidates.isEmpty {
            for i in try await recordHeartbeatsInOneStatement(candidates, hosts: batches) { results[i] = .success([.recorded]) }
        }
        for i in batches.indices where results[i] == nil { results[i] = try await writeTransaction([batches[i]])[0] }
        return results.map { $0! }
    }

    /// A heartbeat the set-based paths may take: a lone observation by reference (no packages,
    /// no repositories) of a known host in a known state.
    struct HeartbeatCandidate { var batch: Int; var host: Int64; var at: Int64; var state: Int64; var source: String }

    private func heartbeatCandidates(_ batches: [[Observation]], cache c: Caches, pending: Pending?) -> [HeartbeatCandidate] {
        var candidates: [HeartbeatCandidate] = []
        for (i, batch) in batches.enumerated() {
            guard batch.count == 1, let o = batch.first, o.state.isReference, o.repositories == nil,
                  let host = c.hosts[o.host] ?? pending?.hosts[o.host],
                  let state = c.states[o.state.id.hex] ?? pending?.states[o.state.id.hex] else { continue }
            candidates.append(HeartbeatCandidate(batch: i, host: host, at: o.at.seconds, state: state.rowID, source: o.source.rawValue))
        }
        return candidates
    }

    /// `tidemark_record_heartbeats` (schema migration 6): the candidates' hosts locked in sorted
    /// order, and each heartbeat inserted when its previous observation is earlier and in the same
    /// state. Returns the batches it recorded.
    private func recordHeartbeatsInOneStatement(_ candidates: [HeartbeatCandidate], hosts batches: [[Observation]]) async throws -> [Int] {
        var locks = JSONRows(), rows = JSONRows()
        for name in Set(candidates.map { batches[$0.batch][0].host }).sorted() { locks.append([.text(name)]) }
        for c in candidates { rows.append([.int(c.host), .int(c.at), .int(c.state), .text(c.source)]) }
        let request = "{\"locks\":\(locks.text),\"rows\":\(rows.text)}"
        let now = Int64(Date().timeIntervalSince1970)
        let inserted = try await backend.writeStatement { db in
            try await db.raw("SELECT rec_host, rec_at FROM tidemark_record_heartbeats(CAST(\(bind: request) AS jsonb), \(bind: now))").all().map { row in
                [try row.decode(column: "rec_host", as: Int64.self), try row.decode(column: "rec_at", as: Int64.self)]
            }
        }
        let done = Set(inserted)
        var taken = Set<[Int64]>()
        // two heartbeats of one host at one time: only the first is the one inserted
        return candidates.filter { done.contains([$0.host, $0.at]) && taken.insert([$0.host, $0.at]).inserted }.map(\.batch)
    }

    private func writeTransaction(_ batches: [[Observation]]) async throws -> [Result<[RecordOutcome], any Error>] {
        let pending = Pending()
        pending.oneObservation = batches.count == 1 && batches[0].count == 1
        let hosts = Set(batches.joined().map(\.host)).sorted()
        let results: [Result<[RecordOutcome], any Error>]
        do {
            results = try await backend.transaction { db in
                try await self.backend.lockHosts(hosts, db: db)
                pending.lockedHosts.formUnion(hosts)
                if batches.count == 1 {
                    var outcomes: [RecordOutcome] = []
                    for o in batches[0] { outcomes.append(try await self.recordOne(o, db: db, pending: pending)) }
                    return [.success(outcomes)]
                }
                var results = [Result<[RecordOutcome], any Error>?](repeating: nil, count: batches.count)
                for (i, outcome) in try await self.recordHeartbeats(batches, db: db, pending: pending) { results[i] = .success([outcome]) }
                for (i, batch) in batches.enumerated() where results[i] == nil {
                    // A lone heartbeat refuses (unknown state, conflict) before it writes anything:
                    // it needs no savepoint, and heartbeats are most of what is grouped.
                    if batch.count == 1, batch[0].state.isReference, batch[0].repositories == nil {
                        // Only its refusals are its own: a database error (which on PostgreSQL
                        // aborts the transaction) fails the whole group.
                        do { results[i] = .success([try await self.recordOne(batch[0], db: db, pending: pending)]) } catch let e as TidemarkError { results[i] = .failure(e) }
                        continue
                    }
                    let mark = pending.mark
                    try await db.raw("SAVEPOINT batch").run()
                    do {
                        var outcomes: [RecordOutcome] = []
                        for o in batch { outcomes.append(try await self.recordOne(o, db: db, pending: pending)) }
                        try await db.raw("RELEASE SAVEPOINT batch").run()
                        results[i] = .success(outcomes)
                    } catch {
                        try await db.raw("ROLLBACK TO SAVEPOINT batch").run()
                        try await db.raw("RELEASE SAVEPOINT batch").run()
                        pending.restore(mark)
                        results[i] = .failure(error)
                    }
                }
                return results.map { $0! }
            }
        } catch where batches.count == 1 {
            return [.failure(error)]
        }
        publish(pending)
        return results
    }

    /// The common case of a group, set-based: lone heartbeats of known hosts whose state is the
    /// one their previous observation has. One statement reads every such host's neighbours, one
    /// inserts them all; nothing else changes (a heartbeat opens and closes no span, and keeps the
    /// previous observation's repositories). Returns the batches it recorded; everything else
    /// (a duplicate, a changed state, an unknown host or state) is left to `recordOne`.
    private func recordHeartbeats(_ batches: [[Observation]], db: any SQLDatabase, pending: Pending) async throws -> [(Int, RecordOutcome)] {
        let candidates = cache.withLock { c in heartbeatCandidates(batches, cache: c, pending: pending) }
        guard candidates.count > 1 else { return [] }
        var request = JSONRows()
        for (k, c) in candidates.enumerated() { request.append([.int(Int64(k)), .int(c.host), .int(c.at)]) }
        let k = JSONRows.column(0, integer: true), h = JSONRows.column(1, integer: true), t = JSONRows.column(2, integer: true)
        func previous(_ column: String) -> String {
            "(SELECT o.\(column) FROM observations o WHERE o.host_id = \(h) AND o.at <= \(t) ORDER BY o.at DESC LIMIT 1)"
        }
        var sql = SQLQueryString("SELECT \(unsafeRaw: k) AS k, \(unsafeRaw: previous("at")) AS prev_at, \(unsafeRaw: previous("state_id")) AS prev_state, ")
        sql.appendLiteral("\(previous("repo_set_id")) AS prev_repos FROM ")
        sql.appendInterpolation(request.source(backend.dialect))
        var rows = JSONRows(), chosen: [Int: HeartbeatCandidate] = [:]
        for row in try await db.raw(sql).all() {
            let c = candidates[try row.decode(column: "k", as: Int.self)]
            guard let prevAt = try row.decode(column: "prev_at", as: Int64?.self), prevAt < c.at,
                  try row.decode(column: "prev_state", as: Int64?.self) == c.state else { continue }
            rows.append([.int(c.host), .int(c.at), .int(c.state), JSONRows.int(try row.decode(column: "prev_repos", as: Int64?.self)), .text(c.source)])
            chosen[c.batch] = c
        }
        guard rows.count > 0 else { return [] }
        // (every host of the group is locked already: `write` locks them all up front)
        let now = Int64(Date().timeIntervalSince1970)
        var insert = SQLQueryString("INSERT INTO observations (host_id, at, state_id, repo_set_id, source, recorded_at) SELECT ")
        insert.appendLiteral("\(JSONRows.column(0, integer: true)), \(JSONRows.column(1, integer: true)), \(JSONRows.column(2, integer: true)), ")
        insert.appendLiteral("\(JSONRows.column(3, integer: true)), \(JSONRows.column(4)), ")
        insert.appendInterpolation(bind: now)
        insert.appendLiteral(" FROM ")
        insert.appendInterpolation(rows.source(backend.dialect))
        // Two heartbeats of one host at one time in the same group: the second is left to recordOne.
        insert.appendLiteral(" WHERE true ON CONFLICT (host_id, at) DO NOTHING RETURNING host_id, at")
        var inserted = Set<[Int64]>()
        for row in try await db.raw(insert).all() {
            inserted.insert([try row.decode(column: "host_id", as: Int64.self), try row.decode(column: "at", as: Int64.self)])
        }
        return chosen.values.filter { inserted.contains([$0.host, $0.at]) }.map { ($0.batch, .recorded) }
    }

    private func publish(_ pending: Pending) {
        cache.withLock { c in
            c.hosts.merge(pending.hosts) { $1 }
            c.packages.merge(pending.packages) { $1 }
            c.remember(objects: pending.objects)
            for (key, id) in pending.packages { c.keys[id] = key }
            c.remember(states: pending.states)
            for (k, v) in pending.members { c.remember(members: v, of: k) }
            for (k, v) in pending.ordered { c.remember(ordered: v, of: k) }
        }
    }

    private func lockHost(_ name: String, db: any SQLDatabase, pending: Pending) async throws {
        guard pending.lockedHosts.insert(name).inserted else { return }
        try await backend.lockHost(name, db: db)
    }

    private func lockSharedRows(db: any SQLDatabase, pending: Pending) async throws {
        guard !pending.sharedRowsLocked else { return }
        try await backend.lockSharedRows(db: db, shared: pending.oneObservation)
        pending.sharedRowsLocked = true
    }

    private func recordOne(_ o: Observation, db: any SQLDatabase, pending: Pending) async throws -> RecordOutcome {
        // Everything below reads the host's neighbours and then rewrites its spans: no other
        // writer of this host may run in between (released at COMMIT/ROLLBACK).
        try await lockHost(o.host, db: db, pending: pending)
        let known = try await stateRow(hash: o.state.id.hex, db: db, pending: pending)
        // Before anything is written (a heartbeat in a group commit has no savepoint).
        if known == nil, o.state.isReference, deltaPlans.withLock({ $0[o.state.id.hex] }) == nil {
            throw TidemarkError(.unknownState, "state \(o.state.id.short) is not known to this store: send the full observation (with packages)")
        }
        let hostID = try await ensureHost(o.host, format: o.state.format, db: db, pending: pending)
        let t = o.at.seconds
        let (prev, next) = try await neighbours(hostID: hostID, at: t, db: db)
        if let existing = prev, existing.at == t {
            if existing.stateRowID == known?.rowID { return .duplicate }
            let hash = try await existingStateHash(hostID: hostID, at: t, db: db) ?? "?"
            throw TidemarkError(.conflict, "host \(o.host) already has a different state (\(hash.prefix(12))) recorded at \(o.at.iso8601); refusing to overwrite it with \(o.state.id.short)")
        }
        // The same state as the previous observation (a heartbeat): no members needed at all.
        let unchanged = known != nil && prev?.stateRowID == known?.rowID
        var prevMembers: [Int64]? = nil
        if let p = prev, !unchanged { prevMembers = try await self.members(of: p.stateRowID, db: db, pending: pending) }

        // A known state (the common case: a heartbeat, or a state another host already reported)
        // needs no per-package work: its members are stored.
        let state: StateRow, isNew: Bool, members: [Int64]
        if let known {
            (state, isNew) = (known, false)
            members = unchanged ? [] : try await self.members(of: known.rowID, db: db, pending: pending)
        } else {
            let ordered: [Int64]
            if let plan = deltaPlans.withLock({ $0[o.state.id.hex] }) {
                // rebuilt from a delta: the base's packages have rows already
                let added = try await ensurePackages(plan.added, changelogs: o.changelogs, db: db, pending: pending)
                members = SortedIDs.union(plan.kept, added.sorted())
                ordered = plan.order.map { $0 >= 0 ? $0 : added[Int(-$0 - 1)] }
            } else {
                ordered = try await ensurePackages(o.state.packages, changelogs: o.changelogs, db: db, pending: pending)
                members = ordered.sorted()
            }
            (state, isNew) = try await ensureState(
                o.state, members: members, base: prev.map { ($0.stateRowID, prevMembers!) }, absent: true, db: db, pending: pending)
            pending.ordered[state.rowID] = ordered
        }
        // A heartbeat ("nothing changed", sent by reference) without repositories of its own
        // keeps those of the host's previous observation when that was the same state.
        var repoSet = try await ensureRepoSet(o.repositories, db: db, pending: pending)
        if o.repositories == nil, o.state.isReference, let p = prev, p.stateRowID == state.rowID { repoSet = p.repoSetID }
        let now = Int64(Date().timeIntervalSince1970)
        // The host lock makes a concurrent identical insert impossible here; ON CONFLICT keeps a
        // lost race (a writer that skipped the lock) a duplicate or a conflict, never a torn batch.
        let inserted = try await db.raw("""
            INSERT INTO observations (host_id, at, state_id, repo_set_id, source, recorded_at)
            VALUES (\(bind: hostID), \(bind: t), \(bind: state.rowID), \(bind: repoSet), \(bind: o.source.rawValue), \(bind: now))
            ON CONFLICT (host_id, at) DO NOTHING RETURNING id
            """).first()
        if inserted == nil {
            if let hash = try await existingStateHash(hostID: hostID, at: t, db: db), hash == o.state.id.hex { return .duplicate }
            throw TidemarkError(.conflict, "host \(o.host) already has a different state recorded at \(o.at.iso8601); refusing to overwrite it with \(o.state.id.short)")
        }

        // Same state as the observation before: no package starts or ends here (a heartbeat).
        if let p = prev, p.stateRowID == state.rowID { return .recorded }
        var nextMembers: [Int64]? = nil
        if let next { nextMembers = try await self.members(of: next.stateRowID, db: db, pending: pending) }
        let opening = SortedIDs.subtract(members, prevMembers ?? [])
        let installedAt = o.installTimes.isEmpty ? [:] : try await installTimes(of: opening, in: o, db: db, pending: pending)
        try await updateSpans(
            hostID: hostID, at: t, before: prev.map { ($0.at, prevMembers!) }, now: members,
            after: next.map { ($0.at, nextMembers!) }, installedAt: installedAt, db: db)
        return isNew ? .recordedNewState : .recorded
    }

    private func existingStateHash(hostID: Int64, at t: Int64, db: any SQLDatabase) async throws -> String? {
        try await db.raw("""
            SELECT s.hash FROM observations o JOIN states s ON s.id = o.state_id
            WHERE o.host_id = \(bind: hostID) AND o.at = \(bind: t)
            """).first().map { try $0.decode(column: "hash", as: String.self) }
    }

    /// Install times of the packages that open a span, by package id.
    private func installTimes(of ids: [Int64], in o: Observation, db: any SQLDatabase, pending: Pending) async throws -> [Int64: Int64] {
        var out: [Int64: Int64] = [:]
        for (id, p) in zip(ids, try await loadPackages(ids, db: db, pending: pending)) {
            if let t = o.installTimes[p.identityKey] { out[id] = t }
        }
        return out
    }


    private func ensureHost(_ name: String, format: PackageFormat?, db: any SQLDatabase, pending: Pending) async throws -> Int64 {
        if let id = cache.withLock({ $0.hosts[name] }) ?? pending.hosts[name] { return id }
        if let row = try await db.raw("SELECT id FROM hosts WHERE name = \(bind: name)").first() {
            let id = try row.decode(column: "id", as: Int64.self)
            pending.hosts[name] = id
            return id
        }
        // Normally the host lock already keeps a second writer of this name out; ON CONFLICT is
        // what makes the insert itself race-safe.
        let id = try await insertOrSelectID(
            insert: "INSERT INTO hosts (name, format) VALUES (\(bind: name), \(bind: format?.rawValue)) ON CONFLICT (name) DO NOTHING RETURNING id",
            select: "SELECT id FROM hosts WHERE name = \(bind: name)", what: "host \(name)", db: db)
        pending.hosts[name] = id
        return id
    }

    /// Inserts a row with a unique key, or — when another writer committed that key first and the
    /// insert returned nothing — reads the winner's id.
    private func insertOrSelectID(insert: SQLQueryString, select: SQLQueryString, what: String, db: any SQLDatabase) async throws -> Int64 {
        if let row = try await db.raw(insert).first() { return try row.decode(column: "id", as: Int64.self) }
        guard let row = try await db.raw(select).first() else { throw StoreCorruption("\(what) was neither inserted nor found") }
        return try row.decode(column: "id", as: Int64.self)
    }

    /// Package ids by identity key, inserting the binaries the store has not seen yet.
    /// The row ids of the observation's packages (in its order), inserting those not stored yet.
    private func ensurePackages(_ packages: [Package], changelogs: [String: [ChangelogEntry]], db: any SQLDatabase, pending: Pending) async throws -> [Int64] {
        // One hash of each identity line (thousands per full snapshot): no dictionary of results.
        var ids = [Int64](repeating: 0, count: packages.count)
        var missingAt: [Int] = []
        cache.withLock { c in
            for (i, p) in packages.enumerated() {
                let key = p.identityKey
                if let id = c.packages[key] ?? pending.packages[key] {
                    ids[i] = id
                    if c.objects[id] == nil { pending.objects[id] = p }
                } else {
                    missingAt.append(i)
                }
            }
        }
        if missingAt.isEmpty { return ids }
        let missing = missingAt.map { packages[$0] }
        // A few packages this store has not seen (a delta's new versions) are most likely new:
        // insert them straight away (a round trip less) under the lock a single observation
        // shares anyway; many (a first snapshot against a cold cache) are looked up first, so
        // that nothing is locked when they all exist.
        let insertFirst = pending.oneObservation && missing.count <= 16
        var found = insertFirst ? [:] : try await lookupPackageIDs(missing.map(\.identityKey), db: db)
        // in key order: the global order in which writers of one observation insert (`lockSharedRows`)
        let toInsert = missing.filter { found[$0.identityKey] == nil }.sorted { $0.identityKey < $1.identityKey }
        if !toInsert.isEmpty {
            try await lockSharedRows(db: db, pending: pending)
            var rows = JSONRows()
            for p in toInsert {
                rows.append([
                    .text(p.identityKey), .text(p.format.rawValue), .text(p.name), .int(Int64(p.evr.epoch)), .text(p.evr.version),
                    .text(p.evr.release), .text(p.arch), JSONRows.text(p.digest), JSONRows.text(p.vendor), JSONRows.text(p.source),
                    JSONRows.text(p.disturl), JSONRows.int(p.buildTime), JSONRows.text(p.status),
                ])
            }
            let c = { (i: Int, int: Bool) in JSONRows.column(i, integer: int) }
            var sql = SQLQueryString("INSERT INTO packages (key, format, name, epoch, version, release, arch, digest, vendor, source, disturl, build_time, status) SELECT ")
            sql.appendLiteral([c(0, false), c(1, false), c(2, false), c(3, true), c(4, false), c(5, false), c(6, false), c(7, false), c(8, false), c(9, false), c(10, false), c(11, true), c(12, false)].joined(separator: ", "))
            sql.appendLiteral(" FROM ")
            sql.appendInterpolation(rows.source(backend.dialect))
            // WHERE true: SQLite would read ON CONFLICT as a join constraint after FROM.
            sql.appendLiteral(" WHERE true ON CONFLICT (key) DO NOTHING RETURNING id, key")
            for r in try await db.raw(sql).all() {
                found[try r.decode(column: "key", as: String.self)] = try r.decode(column: "id", as: Int64.self)
            }
        }
        // A row another writer inserted meanwhile is not returned: look those up.
        let raced = toInsert.filter { found[$0.identityKey] == nil }.map(\.identityKey)
        if !raced.isEmpty { found.merge(try await lookupPackageIDs(raced, db: db)) { $1 } }
        // Changelogs belong to the binary: stored once, by the first observation that has one.
        var logs: [(Int64, String)] = []
        for p in missing {
            guard let entries = changelogs[p.identityKey], !entries.isEmpty, let id = found[p.identityKey] else { continue }
            logs.append((id, Self.changelogJSON(entries)))
        }
        logs.sort { $0.0 < $1.0 }   // by package id: the global order again
        if !logs.isEmpty {
            var rows = JSONRows()
            for (id, text) in logs { rows.append([.int(id), .text(text)]) }
            var sql = SQLQueryString("INSERT INTO changelogs (package_id, entries) SELECT \(unsafeRaw: JSONRows.column(0, integer: true)), \(unsafeRaw: JSONRows.column(1)) FROM ")
            sql.appendInterpolation(rows.source(backend.dialect))
            sql.appendLiteral(" WHERE true ON CONFLICT (package_id) DO NOTHING")
            try await db.raw(sql).run()
        }
        for (i, p) in zip(missingAt, missing) {
            guard let id = found[p.identityKey] else {
                throw TidemarkError(.storage, "package \(p.nevra) could not be stored")
            }
            ids[i] = id
            pending.packages[p.identityKey] = id
            pending.objects[id] = p
        }
        return ids
    }

    private func lookupPackageIDs(_ keys: [String], db: any SQLDatabase) async throws -> [String: Int64] {
        var out: [String: Int64] = [:]
        for batch in keys.chunked(Self.chunk) {
            let rows = try await db.raw("SELECT id, key FROM packages WHERE key IN (\(binds: Array(batch)))").all()
            for r in rows { out[try r.decode(column: "key", as: String.self)] = try r.decode(column: "id", as: Int64.self) }
        }
        return out
    }

    struct Neighbour { var at: Int64; var stateRowID: Int64; var repoSetID: Int64? }

    /// The host's observation at `at` or the nearest one before it, and the nearest one after:
    /// one statement (each costs a round trip to the database thread).
    private func neighbours(hostID: Int64, at: Int64, db: any SQLDatabase) async throws -> (atOrBefore: Neighbour?, after: Neighbour?) {
        let rows = try await db.raw("""
            SELECT * FROM (SELECT 0 AS side, at, state_id, repo_set_id FROM observations
                           WHERE host_id = \(bind: hostID) AND at <= \(bind: at) ORDER BY at DESC LIMIT 1) b
            UNION ALL
            SELECT * FROM (SELECT 1 AS side, at, state_id, repo_set_id FROM observations
                           WHERE host_id = \(bind: hostID) AND at > \(bind: at) ORDER BY at ASC LIMIT 1) a
            """).all()
        var before: Neighbour?, after: Neighbour?
        for row in rows {
            let n = Neighbour(
                at: try row.decode(column: "at", as: Int64.self), stateRowID: try row.decode(column: "state_id", as: Int64.self),
                repoSetID: try row.decode(column: "repo_set_id", as: Int64?.self))
            if try row.decode(column: "side", as: Int.self) == 0 { before = n } else { after = n }
        }
        return (before, after)
    }

    /// - Parameter absent: the caller looked the state up in this transaction and did not find it
    ///   (a writer that stores it meanwhile is caught by the insert's conflict).
    private func ensureState(
        _ state: PackageState, members: [Int64], base: (Int64, [Int64])?, absent: Bool = false, db: any SQLDatabase, pending: Pending
    ) async throws -> (StateRow, Bool) {
        let hash = state.id.hex
        if !absent, let row = try await stateRow(hash: hash, db: db, pending: pending) { return (row, false) }
        var baseID: Int64? = nil, depth = 0
        var added = members, removed: [Int64] = []
        if let (bID, bMembers) = base, let bRow = try await stateRow(rowID: bID, db: db, pending: pending), bRow.depth < Self.maxDepth {
            let a = SortedIDs.subtract(members, bMembers), r = SortedIDs.subtract(bMembers, members)
            if (a.count + r.count) * 4 <= max(members.count, 8) {
                baseID = bID
                depth = bRow.depth + 1
                added = a
                removed = r
            }
        }
        try await lockSharedRows(db: db, pending: pending)
        guard let row = try await db.raw("""
            INSERT INTO states (hash, package_count, base_id, depth, added, removed)
            VALUES (\(bind: hash), \(bind: members.count), \(bind: baseID), \(bind: depth), \(bind: IDListCoding.encode(added)), \(bind: IDListCoding.encode(removed)))
            ON CONFLICT (hash) DO NOTHING RETURNING id
            """).first() else {
            // Another writer stored this state after our lookup: same hash, same members; use its row.
            guard let theirs = try await stateRow(hash: hash, db: db, pending: pending) else { throw StoreCorruption("state \(hash) was neither inserted nor found") }
            pending.states[hash] = theirs
            pending.members[theirs.rowID] = members
            return (theirs, false)
        }
        let result = StateRow(rowID: try row.decode(column: "id", as: Int64.self), count: members.count, depth: depth)
        pending.states[hash] = result
        pending.members[result.rowID] = members
        return (result, true)
    }

    private func stateRow(hash: String, db: any SQLDatabase, pending: Pending?) async throws -> StateRow? {
        if let r = cache.withLock({ $0.states[hash] }) ?? pending?.states[hash] { return r }
        guard let row = try await db.raw("SELECT id, package_count, depth FROM states WHERE hash = \(bind: hash)").first() else { return nil }
        return StateRow(
            rowID: try row.decode(column: "id", as: Int64.self), count: try row.decode(column: "package_count", as: Int.self),
            depth: try row.decode(column: "depth", as: Int.self))
    }

    private func stateRow(rowID: Int64, db: any SQLDatabase, pending: Pending?) async throws -> StateRow? {
        if let r = cache.withLock({ $0.stateRows[rowID] }) ?? pending?.states.values.first(where: { $0.rowID == rowID }) { return r }
        guard let row = try await db.raw("SELECT id, package_count, depth FROM states WHERE id = \(bind: rowID)").first() else { return nil }
        return StateRow(
            rowID: rowID, count: try row.decode(column: "package_count", as: Int.self), depth: try row.decode(column: "depth", as: Int.self))
    }

    /// The sorted package ids of a state, following its delta chain.
    private func members(of stateRowID: Int64, db: any SQLDatabase, pending: Pending?) async throws -> [Int64] {
        if let m = cache.withLock({ $0.members[stateRowID] }) ?? pending?.members[stateRowID] { return m }
        var chain: [(added: [Int64], removed: [Int64])] = []
        var cursor: Int64? = stateRowID
        var resolved: [Int64] = []
        while let id = cursor {
            if let m = cache.withLock({ $0.members[id] }) ?? pending?.members[id] {
                resolved = m
                break
            }
            guard let row = try await db.raw("SELECT base_id, added, removed FROM states WHERE id = \(bind: id)").first() else {
                throw StoreCorruption("state row \(id) is missing")
            }
            let added = try IDListCoding.decode(try row.decode(column: "added", as: Data.self))
            let removed = try IDListCoding.decode(try row.decode(column: "removed", as: Data.self))
            chain.append((added, removed))
            cursor = try row.decode(column: "base_id", as: Int64?.self)
            guard chain.count <= Self.maxDepth + 1 else { throw StoreCorruption("state \(stateRowID) has a delta chain longer than \(Self.maxDepth)") }
        }
        for link in chain.reversed() {
            resolved = SortedIDs.union(SortedIDs.subtract(resolved, link.removed), link.added)
        }
        if pending == nil { cache.withLock { $0.remember(members: resolved, of: stateRowID) } }
        return resolved
    }

    private func ensureRepoSet(_ repositories: [Repository]?, db: any SQLDatabase, pending: Pending) async throws -> Int64? {
        guard let repositories else { return nil }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body = String(decoding: try encoder.encode(repositories.sorted { ($0.kind.rawValue, $0.alias, $0.url) < ($1.kind.rawValue, $1.alias, $1.url) }), as: UTF8.self)
        let hash = SHA256.hex(body)
        if let row = try await db.raw("SELECT id FROM repo_sets WHERE hash = \(bind: hash)").first() {
            return try row.decode(column: "id", as: Int64.self)
        }
        try await lockSharedRows(db: db, pending: pending)
        return try await insertOrSelectID(
            insert: "INSERT INTO repo_sets (hash, body) VALUES (\(bind: hash), \(bind: body)) ON CONFLICT (hash) DO NOTHING RETURNING id",
            select: "SELECT id FROM repo_sets WHERE hash = \(bind: hash)", what: "repository set \(hash)", db: db)
    }

    /// Keeps the host's spans true after inserting an observation at `at` between `before` and
    /// `after` (either may be absent). Only packages that differ from a neighbour are touched, so a
    /// heartbeat (same state as before) costs nothing here.
    private func updateSpans(
        hostID: Int64, at t: Int64, before: (Int64, [Int64])?, now: [Int64], after: (Int64, [Int64])?,
        installedAt: [Int64: Int64], db: any SQLDatabase
    ) async throws {
        let previous = before?.1 ?? []
        let closing = SortedIDs.subtract(previous, now)
        let opening = SortedIDs.subtract(now, previous)
        guard let (nextAt, nextMembers) = after else {
            // The common case, the host's newest observation: PostgreSQL closes the old spans
            // and opens the new ones in one statement (disjoint packages, so neither sees the
            // other's rows).
            if backend.dialect == .postgres, !closing.isEmpty, closing.count <= Self.chunk, !opening.isEmpty {
                let close = SQLQueryString("WITH closed AS (UPDATE spans SET until = \(bind: t) WHERE host_id = \(bind: hostID) AND until IS NULL AND package_id IN (\(binds: closing)) RETURNING 1) ")
                try await insertSpans(hostID: hostID, packages: opening, since: t, until: nil, installedAt: installedAt, with: close, db: db)
                return
            }
            for batch in closing.chunked(Self.chunk) {
                try await db.raw("UPDATE spans SET until = \(bind: t) WHERE host_id = \(bind: hostID) AND until IS NULL AND package_id IN (\(binds: Array(batch)))").run()
            }
            try await insertSpans(hostID: hostID, packages: opening, since: t, until: nil, installedAt: installedAt, db: db)
            return
        }
        let prevAt = before?.0
        for p in closing {
            guard let prevAt, let row = try await db.raw("""
                SELECT since, until, installed_at FROM spans WHERE host_id = \(bind: hostID) AND package_id = \(bind: p)
                AND since <= \(bind: prevAt) AND (until IS NULL OR until > \(bind: prevAt))
                """).first() else { throw StoreCorruption("span of package \(p) on host \(hostID) is missing") }
            let since = try row.decode(column: "since", as: Int64.self)
            let until = try row.decode(column: "until", as: Int64?.self)
            try await db.raw("UPDATE spans SET until = \(bind: t) WHERE host_id = \(bind: hostID) AND package_id = \(bind: p) AND since = \(bind: since)").run()
            if SortedIDs.contains(nextMembers, p) {
                let inst = try row.decode(column: "installed_at", as: Int64?.self)
                try await db.raw("INSERT INTO spans (host_id, package_id, since, until, installed_at) VALUES (\(bind: hostID), \(bind: p), \(bind: nextAt), \(bind: until), \(bind: inst))").run()
            }
        }
        var fresh: [Int64] = []
        for p in opening {
            if SortedIDs.contains(nextMembers, p) {
                try await db.raw("UPDATE spans SET since = \(bind: t) WHERE host_id = \(bind: hostID) AND package_id = \(bind: p) AND since = \(bind: nextAt)").run()
            } else {
                fresh.append(p)
            }
        }
        try await insertSpans(hostID: hostID, packages: fresh, since: t, until: nextAt, installedAt: installedAt, db: db)
    }

    /// - Parameter prefix: a `WITH …` clause, run in the same statement before the insert.
    private func insertSpans(
        hostID: Int64, packages: [Int64], since: Int64, until: Int64?, installedAt: [Int64: Int64], with prefix: SQLQueryString? = nil, db: any SQLDatabase
    ) async throws {
        guard !packages.isEmpty else { return }
        var rows = JSONRows()
        for p in packages { rows.append([.int(p), JSONRows.int(installedAt[p])]) }
        var sql = prefix ?? SQLQueryString("")
        sql.appendLiteral("INSERT INTO spans (host_id, package_id, since, until, installed_at) SELECT ")
        sql.appendInterpolation(bind: hostID)
        sql.appendLiteral(", ")
        sql.appendLiteral("\(JSONRows.column(0, integer: true)), ")
        sql.appendInterpolation(bind: since)
        sql.appendLiteral(", ")
        sql.appendInterpolation(bind: until)
        sql.appendLiteral(", \(JSONRows.column(1, integer: true)) FROM ")
        sql.appendInterpolation(rows.source(backend.dialect))
        try await db.raw(sql).run()
    }

    /// The changelog column: a JSON array of {time, author, text}, written by hand because
    /// JSONEncoder dominated a first snapshot's time.
    static func changelogJSON(_ entries: [ChangelogEntry]) -> String {
        var out = "["
        for (i, e) in entries.enumerated() {
            out += i == 0 ? "{\"time\":" : ",{\"time\":"
            out += String(e.time)
            out += ",\"author\":" + JSONRows.quoted(e.author)
            out += ",\"text\":" + JSONRows.quoted(e.text)
            out += "}"
        }
        return out + "]"
    }

    // MARK: reading

    static let observationColumns = "h.name AS host, o.at, o.source, o.recorded_at, s.hash, s.package_count"

    private func observationRecord(_ row: any SQLRow) throws -> ObservationRecord {
        let source = try row.decode(column: "source", as: String.self)
        return ObservationRecord(
            host: try row.decode(column: "host", as: String.self),
            at: Timestamp(seconds: try row.decode(column: "at", as: Int64.self)),
            state: StateID(hex: try row.decode(column: "hash", as: String.self)),
            source: ObservationSource(rawValue: source) ?? .snapshot,
            packages: try row.decode(column: "package_count", as: Int.self),
            recordedAt: Timestamp(seconds: try row.decode(column: "recorded_at", as: Int64.self)))
    }

    public func storeStates(_ states: [PackageState], bases: [StateID?]) async throws {
        let pending = Pending()
        try await backend.transaction { db in
            for (i, state) in states.enumerated() where try await self.stateRow(hash: state.id.hex, db: db, pending: pending) == nil {
                let members = try await self.ensurePackages(state.packages, changelogs: [:], db: db, pending: pending).sorted()
                var base: (Int64, [Int64])? = nil
                if i < bases.count, let b = bases[i], let row = try await self.stateRow(hash: b.hex, db: db, pending: pending) {
                    base = (row.rowID, try await self.members(of: row.rowID, db: db, pending: pending))
                }
                _ = try await self.ensureState(state, members: members, base: base, db: db, pending: pending)
            }
        }
        publish(pending)
    }

    public func hosts() async throws -> [HostSummary] {
        try await backend.read { db in
            let rows = try await db.raw("""
                SELECT h.name AS host, h.format, o.at, s.hash, s.package_count,
                       (SELECT COUNT(*) FROM observations c WHERE c.host_id = h.id) AS n
                FROM hosts h
                JOIN observations o ON o.host_id = h.id AND o.at = (SELECT MAX(m.at) FROM observations m WHERE m.host_id = h.id)
                JOIN states s ON s.id = o.state_id
                ORDER BY h.name
                """).all()
            return try rows.map { r in
                HostSummary(
                    host: try r.decode(column: "host", as: String.self),
                    format: try r.decode(column: "format", as: String?.self).flatMap(PackageFormat.init(rawValue:)),
                    lastSeen: Timestamp(seconds: try r.decode(column: "at", as: Int64.self)),
                    observations: try r.decode(column: "n", as: Int.self),
                    packages: try r.decode(column: "package_count", as: Int.self),
                    state: StateID(hex: try r.decode(column: "hash", as: String.self)))
            }
        }
    }

    public func observation(host: String, atOrBefore at: Timestamp?) async throws -> ObservationRecord? {
        let limit = at?.seconds ?? Int64.max
        return try await backend.read { db in
            try await db.raw("""
                SELECT \(unsafeRaw: Self.observationColumns) FROM observations o
                JOIN hosts h ON h.id = o.host_id JOIN states s ON s.id = o.state_id
                WHERE h.name = \(bind: host) AND o.at <= \(bind: limit) ORDER BY o.at DESC LIMIT 1
                """).first().map(self.observationRecord)
        }
    }

    public func firstObservation(host: String) async throws -> ObservationRecord? {
        try await backend.read { db in
            try await db.raw("""
                SELECT \(unsafeRaw: Self.observationColumns) FROM observations o
                JOIN hosts h ON h.id = o.host_id JOIN states s ON s.id = o.state_id
                WHERE h.name = \(bind: host) ORDER BY o.at ASC LIMIT 1
                """).first().map(self.observationRecord)
        }
    }

    public func observations(host: String, since: Timestamp?, until: Timestamp?) async throws -> [ObservationRecord] {
        let lo = since?.seconds ?? Int64.min, hi = until?.seconds ?? Int64.max
        return try await backend.read { db in
            try await db.raw("""
                SELECT \(unsafeRaw: Self.observationColumns) FROM observations o
                JOIN hosts h ON h.id = o.host_id JOIN states s ON s.id = o.state_id
                WHERE h.name = \(bind: host) AND o.at >= \(bind: lo) AND o.at <= \(bind: hi) ORDER BY o.at
                """).all().map(self.observationRecord)
        }
    }

    public func states(withPrefix prefix: String) async throws -> [StateID] {
        let p = prefix.lowercased().filter(\.isHexDigit)
        return try await backend.read { db in
            // A byte-order range (not LIKE: SQLite's LIKE ignores case and skips the index).
            let c = self.backend.dialect.byteOrder
            return try await db.raw("SELECT hash FROM states WHERE hash\(unsafeRaw: c) >= \(bind: p) AND hash\(unsafeRaw: c) < \(bind: p + "g") ORDER BY hash\(unsafeRaw: c) LIMIT 10").all()
                .map { StateID(hex: try $0.decode(column: "hash", as: String.self)) }
        }
    }

    public func packages(of state: StateID) async throws -> [Package]? {
        try await backend.read { db in
            guard let row = try await self.stateRow(hash: state.hex, db: db, pending: nil) else { return nil }
            let ids = try await self.members(of: row.rowID, db: db, pending: nil)
            return try await self.loadPackages(ids, db: db).sorted(by: Package.stateOrder)
        }
    }

    public func difference(from: StateID, to: StateID) async throws -> (removed: [Package], added: [Package]) {
        let result: ([Package], [Package]) = try await backend.read { db in
            guard let a = try await self.stateRow(hash: from.hex, db: db, pending: nil) else { throw TidemarkError(.notFound, "unknown state \(from.short)") }
            guard let b = try await self.stateRow(hash: to.hex, db: db, pending: nil) else { throw TidemarkError(.notFound, "unknown state \(to.short)") }
            let ma = try await self.members(of: a.rowID, db: db, pending: nil)
            let mb = try await self.members(of: b.rowID, db: db, pending: nil)
            let removed = try await self.loadPackages(SortedIDs.subtract(ma, mb), db: db)
            let added = try await self.loadPackages(SortedIDs.subtract(mb, ma), db: db)
            return (removed, added)
        }
        return (result.0, result.1)
    }

    static let packageColumns = "p.id, p.format, p.name, p.epoch, p.version, p.release, p.arch, p.digest, p.vendor, p.source, p.disturl, p.build_time, p.status"

    private func package(_ r: any SQLRow) throws -> Package {
        Package(
            format: PackageFormat(rawValue: try r.decode(column: "format", as: String.self)) ?? .rpm,
            name: try r.decode(column: "name", as: String.self),
            evr: EVR(epoch: try r.decode(column: "epoch", as: Int.self), version: try r.decode(column: "version", as: String.self), release: try r.decode(column: "release", as: String.self)),
            arch: try r.decode(column: "arch", as: String.self),
            digest: try r.decode(column: "digest", as: String?.self),
            vendor: try r.decode(column: "vendor", as: String?.self),
            source: try r.decode(column: "source", as: String?.self),
            disturl: try r.decode(column: "disturl", as: String?.self),
            buildTime: try r.decode(column: "build_time", as: Int64?.self),
            status: try r.decode(column: "status", as: String?.self))
    }

    /// Package rows by id, in the order given: from the cache, the rest read and remembered (in a
    /// write transaction, in `pending`: rows it inserted exist only if it commits).
    private func loadPackages(_ ids: [Int64], db: any SQLDatabase, pending: Pending? = nil) async throws -> [Package] {
        var out: [Package?] = []
        var missing: [Int64] = []
        cache.withLock { c in
            out = ids.map { id in
                let p = c.objects[id] ?? pending?.objects[id]
                if p == nil { missing.append(id) }
                return p
            }
        }
        if missing.isEmpty { return out.map { $0! } }
        var found: [Int64: Package] = [:]
        for batch in missing.chunked(Self.chunk * 2) {
            for r in try await db.raw("SELECT \(unsafeRaw: Self.packageColumns) FROM packages p WHERE p.id IN (\(binds: Array(batch)))").all() {
                found[try r.decode(column: "id", as: Int64.self)] = try package(r)
            }
        }
        var result: [Package] = []
        result.reserveCapacity(ids.count)
        for (id, p) in zip(ids, out) {
            guard let q = p ?? found[id] else { throw StoreCorruption("a state refers to a missing package (row \(id))") }
            result.append(q)
        }
        if let pending {
            for (id, p) in found {
                pending.objects[id] = p
                pending.packages[p.identityKey] = id
            }
        } else {
            cache.withLock { c in
                c.remember(objects: found)
                for (id, p) in found {
                    c.keys[id] = p.identityKey
                    c.packages[p.identityKey] = id
                }
            }
        }
        return result
    }

    public func installTimes(host: String, at: Timestamp) async throws -> [String: Int64] {
        try await backend.read { db in
            let rows = try await db.raw("""
                SELECT \(unsafeRaw: Self.packageColumns), s.installed_at FROM spans s
                JOIN hosts h ON h.id = s.host_id JOIN packages p ON p.id = s.package_id
                WHERE h.name = \(bind: host) AND s.since <= \(bind: at.seconds) AND (s.until IS NULL OR s.until > \(bind: at.seconds))
                AND s.installed_at IS NOT NULL
                """).all()
            var out: [String: Int64] = [:]
            for r in rows { out[try self.package(r).identityKey] = try r.decode(column: "installed_at", as: Int64.self) }
            return out
        }
    }

    public func repositories(host: String, at: Timestamp) async throws -> [Repository]? {
        try await backend.read { db in
            guard let row = try await db.raw("""
                SELECT r.body FROM observations o JOIN hosts h ON h.id = o.host_id JOIN repo_sets r ON r.id = o.repo_set_id
                WHERE h.name = \(bind: host) AND o.at = \(bind: at.seconds)
                """).first() else { return nil }
            return try JSONDecoder().decode([Repository].self, from: Data(try row.decode(column: "body", as: String.self).utf8))
        }
    }

    public func changelog(of package: Package) async throws -> [ChangelogEntry]? {
        try await backend.read { db in
            guard let row = try await db.raw("""
                SELECT c.entries FROM changelogs c JOIN packages p ON p.id = c.package_id WHERE p.key = \(bind: package.identityKey)
                """).first() else { return nil }
            return try JSONDecoder().decode([ChangelogEntry].self, from: Data(try row.decode(column: "entries", as: String.self).utf8))
        }
    }

    public func whereIs(name: String, at: Timestamp) async throws -> WhereResult {
        try await backend.read { db in
            let t = at.seconds
            let rows = try await db.raw("""
                SELECT h.name AS host, p.format, p.epoch, p.version, p.release, p.arch FROM packages p
                JOIN spans s ON s.package_id = p.id JOIN hosts h ON h.id = s.host_id
                WHERE p.name = \(bind: name) AND s.since <= \(bind: t) AND (s.until IS NULL OR s.until > \(bind: t))
                """).all()
            struct Key: Hashable { var evr: EVR; var arch: String; var format: PackageFormat }
            var byVersion: [Key: [String]] = [:]
            var present = Set<String>()
            for r in rows {
                let host = try r.decode(column: "host", as: String.self)
                let key = Key(
                    evr: EVR(epoch: try r.decode(column: "epoch", as: Int.self), version: try r.decode(column: "version", as: String.self), release: try r.decode(column: "release", as: String.self)),
                    arch: try r.decode(column: "arch", as: String.self),
                    format: PackageFormat(rawValue: try r.decode(column: "format", as: String.self)) ?? .rpm)
                byVersion[key, default: []].append(host)
                present.insert(host)
            }
            let observed = try await db.raw("""
                SELECT h.name AS host FROM hosts h WHERE EXISTS (SELECT 1 FROM observations o WHERE o.host_id = h.id AND o.at <= \(bind: t))
                """).all().map { try $0.decode(column: "host", as: String.self) }
            let versions = byVersion.sorted { a, b in
                let c = EVR.compare(a.key.evr, b.key.evr, format: a.key.format)
                return c != 0 ? c > 0 : a.key.arch < b.key.arch
            }.map { WhereResult.Version(evr: $0.key.evr.description, arch: $0.key.arch, hosts: $0.value.sorted()) }
            return WhereResult(name: name, at: at, versions: versions, absent: observed.filter { !present.contains($0) }.sorted())
        }
    }

    public func latestObservations(at: Timestamp?) async throws -> [ObservationRecord] {
        let limit = at?.seconds ?? Int64.max
        return try await backend.read { db in
            try await db.raw("""
                SELECT \(unsafeRaw: Self.observationColumns) FROM observations o
                JOIN hosts h ON h.id = o.host_id JOIN states s ON s.id = o.state_id
                WHERE o.at = (SELECT MAX(m.at) FROM observations m WHERE m.host_id = o.host_id AND m.at <= \(bind: limit))
                ORDER BY h.name
                """).all().map(self.observationRecord)
        }
    }
}
