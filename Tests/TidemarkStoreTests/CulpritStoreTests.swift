import Foundation
import Testing
import TidemarkCore
import TidemarkTestSupport
@testable import TidemarkStore

/// Signals and bisection sessions on both backends: an import stored once however often it
/// runs, and a session whose runs are written exactly once each, so that it resumes from them.
@Suite struct CulpritStoreTests {
    static func signal(_ host: String, _ t: Int64, _ status: Signal.Status, id: String? = nil, reason: String? = nil) -> Signal {
        Signal(host: host, at: Timestamp(seconds: t), status: status, reason: reason, source: id == nil ? "manual" : "openqa", externalID: id)
    }

    @Test(arguments: Backend.allCases) func signalsAreStoredOnceAndReadInTimeOrder(backend: Backend) async throws {
        try await HistoryStoreTests.withStore(backend) { store, _ in
            let s = SQLCulpritStore(backend: store.backend)
            let batch = [
                Self.signal("w2", 300, .failing, id: "openqa:http://o3/tests/2", reason: "setup failure: isotovideo can not be started"),
                Self.signal("w1", 100, .healthy, id: "openqa:http://o3/tests/1"),
                Self.signal("w1", 200, .failing, reason: "by hand"),
            ]
            let first = try await s.recordSignals(batch, now: Timestamp(seconds: 1_000))
            #expect(first == SignalImportResult(recorded: 3, duplicates: 0, failing: 2, healthy: 1))
            // the same openQA jobs again (a scheduled import overlapping the last one), plus a new one
            let again = try await s.recordSignals(Array(batch.prefix(2)) + [Self.signal("w3", 400, .healthy, id: "openqa:http://o3/tests/3")], now: Timestamp(seconds: 1_001))
            #expect(again == SignalImportResult(recorded: 1, duplicates: 2, failing: 0, healthy: 1))
            let all = try await s.signals(since: nil, until: nil, host: nil)
            #expect(all.map(\.host) == ["w1", "w1", "w2", "w3"], "time order")
            #expect(all[2] == batch[0], "every field round-trips")
            #expect(try await s.signals(since: Timestamp(seconds: 200), until: Timestamp(seconds: 300), host: nil).map(\.at.seconds) == [200, 300], "bounds inclusive")
            #expect(try await s.signals(since: nil, until: nil, host: "w1").map(\.status) == [.healthy, .failing])
        }
    }

    static func session(root: String = "/tmp/r") -> BisectSession {
        let good = [HistoryStoreTests.pkg("a", "1"), HistoryStoreTests.pkg("b", "1")]
        let bad = [HistoryStoreTests.pkg("a", "2"), HistoryStoreTests.pkg("b", "2")]
        let groups = BisectGroup.between(good: good, bad: bad)
        return BisectSession(
            good: "w1@2025-01-20", bad: "w1", goodState: PackageState(good).id, badState: PackageState(bad).id, host: "w1", target: .root(root),
            original: PackageState(bad).id, test: "true", timeout: 60, options: BisectOptions(groups: groups.count), groups: groups, createdAt: Timestamp(seconds: 500))
    }

    static func run(_ session: Int64, _ seq: Int, _ outcome: BisectOutcome) -> BisectStepRecord {
        BisectStepRecord(
            session: session, seq: seq, groups: [0], purpose: .search, outcome: outcome, exitStatus: outcome == .good ? 0 : 1, state: nil,
            startedAt: Timestamp(seconds: 600 + Int64(seq)), finishedAt: Timestamp(seconds: 601 + Int64(seq)), note: "")
    }

    @Test(arguments: Backend.allCases) func aBisectionsRunsAreWrittenOnceAndItsTargetIsHeldWhileItRuns(backend: Backend) async throws {
        try await HistoryStoreTests.withStore(backend) { store, _ in
            let s = SQLCulpritStore(backend: store.backend)
            let created = try await s.createBisect(Self.session())
            #expect(created.id > 0)
            var expected = Self.session()
            expected.id = created.id
            #expect(try await s.bisect(id: created.id) == expected, "the whole session round-trips")
            // one running bisection per target
            await #expect(throws: TidemarkError.self) { try await s.createBisect(Self.session()) }
            let other = try await s.createBisect(Self.session(root: "/tmp/other"))
            #expect(other.id != created.id)

            try await s.recordBisectRun(Self.run(created.id, 1, .good))
            // a second runner (or a replay) cannot record the same step again
            await #expect(throws: TidemarkError.self) { try await s.recordBisectRun(Self.run(created.id, 1, .bad)) }
            try await s.recordBisectRun(Self.run(created.id, 2, .bad))
            #expect(try await s.bisectRuns(session: created.id).map(\.outcome) == [.good, .bad])
            #expect(try await s.bisectRuns(session: other.id).isEmpty)

            let report = BisectReport(verdict: .culprit, culprits: [1], confidence: 1, runs: 2, uninstallable: 0, evidence: [0, 1])
            try await s.setBisectStatus(id: created.id, .finished, report: report, message: nil, now: Timestamp(seconds: 700))
            let finished = try await s.bisect(id: created.id)
            #expect(finished?.status == .finished && finished?.report == report)
            #expect(try await s.bisects(activeOnly: true).map(\.id) == [other.id])
            #expect(try await s.bisects(activeOnly: false).map(\.id) == [other.id, created.id], "newest first")
            // the target is free again
            #expect(try await s.createBisect(Self.session()).id > other.id)
            await #expect(throws: TidemarkError.self) {
                try await s.setBisectStatus(id: 999_999, .finished, report: nil, message: nil, now: Timestamp(seconds: 700))
            }
        }
    }
}
