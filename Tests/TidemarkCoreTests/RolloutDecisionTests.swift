import Testing
import TidemarkCore

@Suite struct RolloutDecisionTests {
    // MARK: Fisher's exact test against published values

    @Test func fisherMatchesTextbookValues() {
        // Fisher's lady tasting tea: 3 of 4 cups right; one-sided p = 17/70
        let tea = HealthComparison(waveFailed: 3, waveTotal: 4, baselineFailed: 1, baselineTotal: 4)
        #expect(abs(tea.pValue - 17.0 / 70.0) < 1e-12)
        // Wikipedia's dieting example (12 men, 12 women; 11 men and 3 women not dieting): the
        // table itself has probability 0.001346, the one-sided p adds the more extreme one
        // (12 of 12): (C(14,11)·C(10,1) + C(14,12)) / C(24,12) = 3731 / 2704156 ≈ 0.00138; twice
        // that is the two-sided 0.002759 quoted there
        let diet = HealthComparison(waveFailed: 11, waveTotal: 12, baselineFailed: 3, baselineTotal: 12)
        #expect(abs(diet.pValue - 3731.0 / 2_704_156.0) < 1e-12)
        #expect(abs(2 * diet.pValue - 0.002759) < 5e-6)
        // no failures anywhere, or all in the baseline: nothing against the wave
        #expect(HealthComparison(waveFailed: 0, waveTotal: 3, baselineFailed: 0, baselineTotal: 40).pValue == 1)
        #expect(HealthComparison(waveFailed: 0, waveTotal: 3, baselineFailed: 5, baselineTotal: 40).pValue == 1)
        // p-values are probabilities even for extreme tables
        let extreme = HealthComparison(waveFailed: 300, waveTotal: 300, baselineFailed: 0, baselineTotal: 3000)
        #expect(extreme.pValue >= 0 && extreme.pValue < 1e-100)
    }

    @Test func decisionRuleIsSaneForSmallCountsAndZeros() {
        let rule = HealthComparison.Rule(maxFailures: 2, significance: 0.05, minResults: 2)
        // two canaries fail 2 of 2 jobs while 40 healthy hosts fail none: significant
        let canary = HealthComparison(waveFailed: 2, waveTotal: 2, baselineFailed: 0, baselineTotal: 40).decide(rule)
        #expect(canary.status == .failed && canary.reason.contains("Fisher"), "\(canary.reason)")
        // one failure each side among few jobs: not evidence of anything
        let noise = HealthComparison(waveFailed: 1, waveTotal: 4, baselineFailed: 1, baselineTotal: 4).decide(rule)
        #expect(noise.status == .passed, "\(noise.reason)")
        // the limit fails a wave whatever the baseline (no baseline at all here)
        let limit = HealthComparison(waveFailed: 3, waveTotal: 3, baselineFailed: 0, baselineTotal: 0).decide(rule)
        #expect(limit.status == .failed && limit.reason.contains("more than 2"))
        // too few results is pending, never passed or failed
        let early = HealthComparison(waveFailed: 0, waveTotal: 1, baselineFailed: 0, baselineTotal: 10).decide(rule)
        #expect(early.status == .pending)
        // a worse baseline does not fail the wave
        let better = HealthComparison(waveFailed: 1, waveTotal: 10, baselineFailed: 9, baselineTotal: 10).decide(rule)
        #expect(better.status == .passed)
    }

    // MARK: waves

    @Test func wavesCoverEveryHostOnceCanariesFirst() throws {
        let hosts = (1...20).map { "worker\($0)" }
        let waves = try WaveSpec(canary: .count(2), percentages: [25, 50, 100]).assign(hosts.shuffled())
        #expect(waves.count == 4)
        #expect(waves[0].count == 2)
        #expect(waves.flatMap { $0 }.sorted() == hosts.sorted(), "every host exactly once")
        #expect(waves[0].count + waves[1].count == 5, "25% of 20, canaries included")
        #expect(waves[0].count + waves[1].count + waves[2].count == 10)
        // deterministic: the same hosts give the same waves, in any order
        #expect(try WaveSpec(canary: .count(2), percentages: [25, 50, 100]).assign(hosts) == waves)
        let named = try WaveSpec(canary: .hosts(["worker7"]), percentages: [100]).assign(hosts)
        #expect(named[0] == ["worker7"] && named.count == 2 && named[1].count == 19)
    }

    @Test func badWaveSpecsAreRefusedWithTheReason() {
        #expect(throws: TidemarkError.self) { try WaveSpec(canary: .count(1), percentages: [50, 40, 100]).assign(["a", "b"]) }
        #expect(throws: TidemarkError.self) { try WaveSpec(canary: .count(1), percentages: [50]).assign(["a", "b"]) }
        #expect(throws: TidemarkError.self) { try WaveSpec(canary: .hosts(["ghost"]), percentages: [100]).assign(["a", "b"]) }
        #expect(throws: TidemarkError.self) { try WaveSpec(canary: .count(0), percentages: [100]).assign(["a"]) }
    }

    // MARK: verdicts and waivers

    @Test func onlyAnActiveWaiverPassesAFailedCheckAndPendingStaysPending() {
        let t = Timestamp(seconds: 1_000)
        let failed = CheckResult(check: "openqa:group-1", status: .failed, evidence: "job 4711 failed", at: t)
        let pending = CheckResult(check: "openqa:group-2", status: .pending, evidence: "3 jobs running", at: t)
        let w = Waiver(id: 1, check: "openqa:group-1", rollout: 7, reason: "known flaky test, boo#1234", by: "admin", createdAt: t, expiresAt: Timestamp(seconds: 2_000))
        #expect(GateVerdict.judge(failed, waivers: [], rollout: 7, at: t).status == .failed)
        let waived = GateVerdict.judge(failed, waivers: [w], rollout: 7, at: Timestamp(seconds: 1_500))
        #expect(waived.status == .passed && waived.waiver == w, "the waiver is named in the decision")
        #expect(GateVerdict.judge(failed, waivers: [w], rollout: 8, at: t).status == .failed, "another rollout's waiver")
        #expect(GateVerdict.judge(failed, waivers: [w], rollout: 7, at: Timestamp(seconds: 2_000)).status == .failed, "expired")
        var revoked = w
        revoked.revokedAt = Timestamp(seconds: 1_200)
        #expect(GateVerdict.judge(failed, waivers: [revoked], rollout: 7, at: Timestamp(seconds: 1_100)).status == .passed, "as it stood before the revocation")
        #expect(GateVerdict.judge(failed, waivers: [revoked], rollout: 7, at: Timestamp(seconds: 1_300)).status == .failed)
        var pendingWaiver = w
        pendingWaiver.check = "openqa:group-2"
        #expect(GateVerdict.judge(pending, waivers: [pendingWaiver], rollout: 7, at: t).status == .pending, "a waiver does not skip waiting")
        let verdicts = [waived, GateVerdict.judge(pending, waivers: [], rollout: 7, at: t)]
        #expect(GateVerdict.combine(verdicts) == .pending)
        #expect(GateVerdict.combine([waived]) == .passed)
        #expect(GateVerdict.combine(verdicts + [GateVerdict.judge(failed, waivers: [], rollout: 7, at: t)]) == .failed)
    }
}

@Suite struct RolloutPlanTests {
    func rpm(_ name: String, _ v: String) -> Package {
        Package(format: .rpm, name: name, evr: EVR(epoch: 0, version: v, release: "1"), arch: "noarch", digest: "\(name)-\(v)")
    }

    @Test func perHostTransactionsInWavesAndOneFetchList() throws {
        let good = [rpm("perl-Mojo", "1.1"), rpm("os-autoinst", "4.6")]
        let broken = [rpm("perl-Mojo", "1.2"), rpm("os-autoinst", "4.6")]
        var hosts = (1...10).map { RolloutPlan.HostTarget(host: "worker\($0)", current: good, target: broken) }
        hosts.append(.init(host: "worker11", current: broken, target: broken))  // already there
        hosts.append(.init(host: "worker12", current: [rpm("perl-Mojo", "1.0")], target: broken))
        let plan = try RolloutPlan.make(hosts, waves: WaveSpec(canary: .hosts(["worker3", "worker11"]), percentages: [50, 100]))
        #expect(plan.unchanged == ["worker11"])
        #expect(plan.waves[0].map(\.host) == ["worker3"], "a canary that needs nothing is dropped")
        #expect(plan.waves.flatMap { $0 }.count == 11)
        #expect(Set(plan.packagesToFetch) == [rpm("perl-Mojo", "1.2"), rpm("os-autoinst", "4.6")], "once each")
        let w12 = try #require(plan.waves.flatMap { $0 }.first { $0.host == "worker12" })
        #expect(w12.transaction.steps.map(\.action).sorted { $0.rawValue < $1.rawValue } == [.install, .upgrade])
        #expect(w12.to == PackageState(broken).id)
        #expect(throws: TidemarkError.self) { try RolloutPlan.make(hosts + [hosts[0]], waves: WaveSpec(canary: .count(1), percentages: [100])) }
    }
}
