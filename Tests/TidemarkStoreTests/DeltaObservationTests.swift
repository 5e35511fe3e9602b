import Foundation
import Testing
import TidemarkCore
import TidemarkTestSupport
@testable import TidemarkStore

/// A changed state sent as what changed since a known state: the store rebuilds it, stores it
/// exactly as if it had come whole, and refuses (storing nothing) a delta that does not give the
/// state it names.
@Suite struct DeltaObservationTests {
    static func pkg(_ name: String, _ version: String) -> Package { HistoryStoreTests.pkg(name, version) }
    static let before = [pkg("bash", "5.2"), pkg("perl-Mojo", "0.34"), pkg("zypper", "1.14")]
    static let after = [pkg("bash", "5.2"), pkg("perl-Mojo", "0.35"), pkg("zypper", "1.14"), pkg("strace", "6.1")]

    static func delta(_ host: String, _ t: Int64, from: [Package], to: [Package], claim: StateID? = nil, removed: [String]? = nil) -> Observation {
        let added = to.filter { p in !from.contains(p) }, gone = from.filter { p in !to.contains(p) }.map(\.identityKey)
        return Observation(
            host: host, at: Timestamp(seconds: t), state: PackageState(reference: claim ?? PackageState(to).id), source: .agent,
            installTimes: Dictionary(uniqueKeysWithValues: added.map { ($0.identityKey, t - 5) }),
            delta: ObservationDelta(base: PackageState(from).id, added: added, removed: removed ?? gone))
    }

    func counts(_ store: SQLHistoryStore) async throws -> [Int] {
        try await store.backend.read { db in
            var out: [Int] = []
            for table in ["observations", "states", "packages", "spans"] {
                out.append(try await db.raw("SELECT COUNT(*) AS n FROM \(unsafeRaw: table)").first()!.decode(column: "n", as: Int.self))
            }
            return out
        }
    }

    @Test(arguments: Backend.allCases) func aDeltaStoresExactlyTheStateItNames(backend: Backend) async throws {
        try await HistoryStoreTests.withStore(backend) { store, location in
            _ = try await store.record([HistoryStoreTests.obs("w1", 1_000, Self.before)])
            let outcome = try await store.record([Self.delta("w1", 2_000, from: Self.before, to: Self.after)])
            #expect(outcome == [.recordedNewState])
            #expect(try await store.packages(of: PackageState(Self.after).id) == PackageState(Self.after).packages)
            let w = try await store.whereIs(name: "perl-Mojo", at: Timestamp(seconds: 2_500))
            #expect(w.versions.map(\.evr) == ["0.35-1"])
            let strace = try await store.whereIs(name: "strace", at: Timestamp(seconds: 2_500))
            #expect(strace.versions.map(\.hosts) == [["w1"]])
            #expect(try await store.installTimes(host: "w1", at: Timestamp(seconds: 2_000))[Self.after[3].identityKey] == 1_995)
            // the same store answers the same after a restart (nothing cached): the state is in the database
            try await store.close()
            let again = try await SQLHistoryStore.open(location: location)
            #expect(try await again.packages(of: PackageState(Self.after).id) == PackageState(Self.after).packages)
            // a delta from a base only the database knows
            let third = Self.after.filter { $0.name != "strace" }
            #expect(try await again.record([Self.delta("w1", 3_000, from: Self.after, to: third)]) == [.recordedNewState])
            #expect(try await again.whereIs(name: "strace", at: Timestamp(seconds: 3_500)).versions.isEmpty)
            try await again.close()
        }
    }

    /// Two servers on one database: each checks a delta against the base in its own cache, and
    /// the second to send a state the first already stored records a reference to that state
    /// (found under the host's lock at write time), not a second copy.
    @Test(arguments: Backend.allCases) func aDeltaToAStateAnotherServerStoredReusesIt(backend: Backend) async throws {
        try await HistoryStoreTests.withStore(backend) { a, location in
            let b = try await SQLHistoryStore.open(location: location)
            _ = try await a.record([HistoryStoreTests.obs("w2", 1_000, Self.before)])
            _ = try await b.record([HistoryStoreTests.obs("w1", 1_000, Self.before)])
            #expect(try await a.record([Self.delta("w2", 2_000, from: Self.before, to: Self.after)]) == [.recordedNewState])
            let states = try await counts(a)[1]
            #expect(try await b.record([Self.delta("w1", 2_000, from: Self.before, to: Self.after)]) == [.recorded])
            #expect(try await counts(a)[1] == states, "no second copy of the state")
            #expect(try await b.whereIs(name: "strace", at: Timestamp(seconds: 2_500)).versions.map(\.hosts) == [["w1", "w2"]])
            #expect(try await b.whereIs(name: "perl-Mojo", at: Timestamp(seconds: 2_500)).versions.map(\.evr) == ["0.35-1"])
            // and a wrong delta is still refused by a store that has its base cached
            let other = PackageState(Self.after + [Self.pkg("vim", "9.1")]).id
            await #expect(throws: TidemarkError.self) { try await b.record([Self.delta("w1", 3_000, from: Self.after, to: Self.before, claim: other)]) }
            try await b.close()
        }
    }

    @Test(arguments: Backend.allCases) func aWrongDeltaIsRefusedAndStoresNothing(backend: Backend) async throws {
        try await HistoryStoreTests.withStore(backend) { store, _ in
            _ = try await store.record([HistoryStoreTests.obs("w1", 1_000, Self.before)])
            let before = try await counts(store)
            // the result is not the state it names
            let other = PackageState(Self.after + [Self.pkg("vim", "9.1")]).id
            await #expect(throws: TidemarkError.self) { try await store.record([Self.delta("w1", 2_000, from: Self.before, to: Self.after, claim: other)]) }
            // it removes a package the base does not have
            let e = await #expect(throws: TidemarkError.self) {
                try await store.record([Self.delta("w1", 2_000, from: Self.before, to: Self.after, removed: ["no such package"])])
            }
            #expect(e?.message.contains("removed[0]") == true && e?.code == .invalidInput)
            // its base is unknown: the sender is told to send the whole state
            let unknown = await #expect(throws: TidemarkError.self) {
                try await store.record([Self.delta("w1", 2_000, from: [Self.pkg("x", "1")], to: Self.after)])
            }
            #expect(unknown?.code == .unknownState)
            #expect(try await counts(store) == before, "no observation, state, package or span")

            // in a group with good observations, only the wrong one is refused
            let results = await withTaskGroup(of: (Int, Result<[RecordOutcome], any Error>).self) { group in
                group.addTask {
                    do { return (0, .success(try await store.record([HistoryStoreTests.obs("w2", 2_000, Self.after)]))) } catch { return (0, .failure(error)) }
                }
                group.addTask {
                    do { return (1, .success(try await store.record([Self.delta("w1", 2_000, from: Self.before, to: Self.after, claim: other)]))) } catch { return (1, .failure(error)) }
                }
                var out: [Int: Result<[RecordOutcome], any Error>] = [:]
                for await (i, r) in group { out[i] = r }
                return out
            }
            #expect((try? results[0]?.get()) == [.recordedNewState])
            #expect((try? results[1]?.get()) == nil, "the wrong delta is refused")
            #expect(try await store.observations(host: "w1", since: nil, until: nil).count == 1)
        }
    }
}
