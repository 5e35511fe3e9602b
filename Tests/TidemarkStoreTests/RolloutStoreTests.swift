import Foundation
import Testing
import TidemarkCore
import TidemarkTestSupport
@testable import TidemarkStore

/// Rollouts, their log, leases, waivers and labels, on both backends: the guarantees the driver
/// builds on (one writer per version, one lease holder, a step's jobs written with it or not at all).
@Suite struct RolloutStoreTests {
    static func rollout(at: Int64 = 1_000) throws -> Rollout {
        let old = [HistoryStoreTests.pkg("perl-Mojo", "1.0")], new = [HistoryStoreTests.pkg("perl-Mojo", "2.0")]
        let waves = WaveSpec(canary: .hosts(["w1"]), percentages: [100])
        let plan = try RolloutPlan.make([.init(host: "w1", current: old, target: new), .init(host: "w2", current: old, target: new)], waves: waves)
        let policy = RolloutPolicy(required: [CheckSpec(name: "gate", kind: .command(CommandCheck(command: "true")))], waves: waves)
        return Rollout(id: 0, target: "--target test", createdAt: Timestamp(seconds: at), createdBy: "alice", policy: policy, plan: plan)
    }

    @Test(arguments: Backend.allCases) func stepsAreWrittenWholeAndOnlyOverTheVersionTheyRead(backend: Backend) async throws {
        try await HistoryStoreTests.withStore(backend) { store, _ in
            let s = SQLRolloutStore(backend: store.backend)
            let r = try Self.rollout()
            let (p0, e0) = RolloutMachine.initial(r)
            let created = try await s.createRollout(r, progress: p0, event: e0)
            #expect(created.rollout.id > 0 && created.version == 1 && created.progress == p0)
            #expect(try await s.rollout(id: created.rollout.id)?.rollout.plan == r.plan)
            let step = RolloutMachine.step(created.rollout, p0, .init(now: Timestamp(seconds: 1_010), required: [CheckResult(check: "gate", status: .passed, evidence: "ok", at: Timestamp(seconds: 1_010))]))
            #expect(step.jobs.count == 1)
            let (v, jobs) = try await s.advance(rollout: created.rollout.id, expectedVersion: 1, progress: step.progress, events: step.events, jobs: step.jobs, now: Timestamp(seconds: 1_010))
            #expect(v == 2 && jobs.map(\.host) == ["w1"] && jobs[0].kind == .apply && jobs[0].rollout == created.rollout.id && jobs[0].step == "wave-0-apply")
            // a second writer that read version 1 writes nothing: no progress, no events, no jobs
            await #expect(throws: TidemarkError.self) {
                try await s.advance(rollout: created.rollout.id, expectedVersion: 1, progress: step.progress, events: step.events, jobs: step.jobs, now: Timestamp(seconds: 1_011))
            }
            #expect(try await s.jobs(rollout: created.rollout.id).count == 1)
            let log = try await s.events(rollout: created.rollout.id, until: nil)
            #expect(log.count == 1 + step.events.count && log.first?.kind == .created)
            #expect(try await s.events(rollout: created.rollout.id, until: Timestamp(seconds: 1_005)).count == 1, "the log as of a time")
            #expect(try await s.rollout(id: created.rollout.id)?.progress.phase == .applying)
            #expect(try await s.rollouts(activeOnly: true).map(\.rollout.id) == [created.rollout.id])
            // the agents see the job as theirs
            #expect(try await SQLJobStore(backend: store.backend).jobs(host: "w1", statuses: [.pending]).map(\.id) == jobs.map(\.id))
        }
    }

    @Test(arguments: Backend.allCases) func oneLeaseHolderAtATimeAndTakeOverAfterExpiry(backend: Backend) async throws {
        try await HistoryStoreTests.withStore(backend) { store, _ in
            let s = SQLRolloutStore(backend: store.backend)
            let r = try Self.rollout()
            let (p0, e0) = RolloutMachine.initial(r)
            let id = try await s.createRollout(r, progress: p0, event: e0).rollout.id
            #expect(try await s.lease(rollout: id, owner: "a", now: Timestamp(seconds: 100), until: Timestamp(seconds: 130)))
            #expect(try await !s.lease(rollout: id, owner: "b", now: Timestamp(seconds: 110), until: Timestamp(seconds: 140)), "held by a")
            #expect(try await s.lease(rollout: id, owner: "a", now: Timestamp(seconds: 120), until: Timestamp(seconds: 150)), "a renews")
            #expect(try await s.lease(rollout: id, owner: "b", now: Timestamp(seconds: 151), until: Timestamp(seconds: 180)), "a stopped renewing")
            #expect(try await !s.lease(rollout: id, owner: "a", now: Timestamp(seconds: 160), until: Timestamp(seconds: 190)))
            try await s.releaseLeases(owner: "b")
            #expect(try await s.lease(rollout: id, owner: "a", now: Timestamp(seconds: 161), until: Timestamp(seconds: 190)), "released at shutdown")
        }
    }

    @Test(arguments: Backend.allCases) func waiversAreRecordedLoggedAndRevocable(backend: Backend) async throws {
        try await HistoryStoreTests.withStore(backend) { store, _ in
            let s = SQLRolloutStore(backend: store.backend)
            let r = try Self.rollout()
            let (p0, e0) = RolloutMachine.initial(r)
            let id = try await s.createRollout(r, progress: p0, event: e0).rollout.id
            await #expect(throws: TidemarkError.self) {
                try await s.createWaiver(rollout: id, check: "no-such-check", reason: "x", by: "bob", expiresAt: Timestamp(seconds: 5_000), now: Timestamp(seconds: 1_100))
            }
            let w = try await s.createWaiver(rollout: id, check: "gate", reason: "known flake", by: "bob", expiresAt: Timestamp(seconds: 5_000), now: Timestamp(seconds: 1_100))
            #expect(w.check == "gate" && w.by == "bob" && w.isActive(at: Timestamp(seconds: 1_200)))
            let revoked = try await s.revokeWaiver(id: w.id, by: "carol", now: Timestamp(seconds: 1_300))
            #expect(!revoked.isActive(at: Timestamp(seconds: 1_301)) && revoked.isActive(at: Timestamp(seconds: 1_299)))
            await #expect(throws: TidemarkError.self) { try await s.revokeWaiver(id: w.id, by: "carol", now: Timestamp(seconds: 1_400)) }
            #expect(try await s.waivers(rollout: id) == [revoked])
            let log = try await s.events(rollout: id, until: nil).filter { $0.kind == .waiver }.map(\.message)
            #expect(log.count == 2 && log[0].contains("known flake") && log[1].contains("revoked by carol"))
        }
    }

    @Test(arguments: Backend.allCases) func labelsSetAndRemove(backend: Backend) async throws {
        try await HistoryStoreTests.withStore(backend) { store, _ in
            let s = SQLRolloutStore(backend: store.backend)
            try await s.setLabel(host: "w1", key: "role", value: "worker")
            try await s.setLabel(host: "w1", key: "role", value: "canary")
            try await s.setLabel(host: "w2", key: "role", value: "worker")
            #expect(try await s.labels() == ["w1": ["role": "canary"], "w2": ["role": "worker"]])
            try await s.setLabel(host: "w1", key: "role", value: nil)
            #expect(try await s.labels() == ["w2": ["role": "worker"]])
        }
    }
}
