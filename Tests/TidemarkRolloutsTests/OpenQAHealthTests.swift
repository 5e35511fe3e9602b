import Foundation
import Testing
import TidemarkCore
import TidemarkOpenQA
import TidemarkTestSupport
@testable import TidemarkRollouts

/// A wave's openQA health, read from a real openQA web UI: jobs joined to the hosts through their
/// workers, counted only after the wave's update, failures only with the matching reason, and
/// judged against the hosts not updated yet.
@Suite(.serialized) struct OpenQAHealthTests {
    @Test func canaryJobsFailingWithTheReasonMakeTheWaveUnhealthy() async throws {
        let openQA = try OpenQAServer.shared()
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let canary = "canary-\(tag)", rest = ["base1-\(tag)", "base2-\(tag)"]
        var worker: [String: Int64] = [:]
        for h in [canary] + rest { worker[h] = try openQA.registerWorker(host: h, instance: 1) }
        let since = Timestamp(seconds: Int64(Date().timeIntervalSince1970) - 600)
        func job(_ host: String, _ result: String, _ reason: String? = nil, finished: Timestamp) throws {
            let id = try openQA.createJob(["TEST": "health_\(tag)", "DISTRI": "opensuse", "VERSION": "1", "FLAVOR": "dev", "ARCH": "x86_64", "MACHINE": "64bit", "BUILD": tag])
            try openQA.setDone(job: id, result: result, reason: reason)
            try openQA.assign(job: id, worker: worker[host]!, started: Timestamp(seconds: finished.seconds - 60), finished: finished)
        }
        let after = Timestamp(seconds: since.seconds + 120)
        try job(canary, "incomplete", "setup failure: isotovideo can not be started", finished: after)
        try job(canary, "incomplete", "setup failure: isotovideo can not be started", finished: after)
        try job(canary, "passed", finished: Timestamp(seconds: since.seconds - 100))  // before the update: not counted
        for h in rest {
            for _ in 0..<3 { try job(h, "passed", finished: after) }
        }
        let evaluator = PolicyCheckEvaluator.shared
        let now = Timestamp(seconds: Int64(Date().timeIntervalSince1970))
        // a failure limit high enough that only Fisher's test can fail the wave: 2/2 vs 0/6, p = 1/28
        let rule = HealthComparison.Rule(maxFailures: 5, significance: 0.05, minResults: 1)
        let sick = await evaluator.openQAHealth(
            OpenQAHealth(url: openQA.url, reason: "isotovideo can not be started"), rule: rule, waveHosts: [canary], baselineHosts: rest, since: since, now: now)
        #expect(sick.status == .failed, "\(sick.evidence)")
        #expect(sick.evidence.contains("wave 2/2 failed, not-yet-updated hosts 0/6") && sick.evidence.contains("Fisher"), "\(sick.evidence)")
        #expect(sick.evidence.contains(canary), "names the host and its jobs: \(sick.evidence)")
        // failures whose reason does not match are not this wave's problem
        let other = await evaluator.openQAHealth(
            OpenQAHealth(url: openQA.url, reason: "needle .* not found"), rule: rule, waveHosts: [canary], baselineHosts: rest, since: since, now: now)
        #expect(other.status == .passed, "\(other.evidence)")
        // an openQA that cannot be reached is pending, never passed or failed
        let port = try ServerProcess.freePort()
        let away = await evaluator.openQAHealth(OpenQAHealth(url: "http://127.0.0.1:\(port)"), rule: rule, waveHosts: [canary], baselineHosts: rest, since: since, now: now)
        #expect(away.status == .pending, "\(away.evidence)")
    }

    @Test func theRequiredOpenQACheckReadsTheLatestBuildOfTheGroup() async throws {
        let openQA = try OpenQAServer.shared()
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let group = try openQA.createJobGroup(name: "gate-\(tag)")
        let spec = CheckSpec(name: "openqa-in-openqa", kind: .openQA(OpenQACheck(url: openQA.url, group: group)))
        let rollout = Rollout(id: 1, target: "t", createdAt: Timestamp(seconds: 0), createdBy: "test", policy: RolloutPolicy(required: [spec], waves: WaveSpec(canary: .count(1), percentages: [100])), plan: try RolloutPlan.make([], waves: WaveSpec(canary: .count(1), percentages: [100])))
        let now = Timestamp(seconds: Int64(Date().timeIntervalSince1970))
        let empty = await PolicyCheckEvaluator.shared.evaluate(spec, rollout: rollout, now: now)
        #expect(empty.status == .pending, "no build yet: \(empty.evidence)")
        func post(_ build: String, _ result: String?) throws {
            let id = try openQA.createJob(["TEST": "openqa_in_openqa", "DISTRI": "openqa", "VERSION": "1", "FLAVOR": "dev", "ARCH": "x86_64", "MACHINE": "64bit", "BUILD": build, "_GROUP_ID": String(group)])
            if let result { try openQA.setDone(job: id, result: result, reason: result == "incomplete" ? "setup failure: isotovideo can not be started" : nil) }
        }
        try post("\(tag)-1", "incomplete")
        let red = await PolicyCheckEvaluator.shared.evaluate(spec, rollout: rollout, now: now)
        #expect(red.status == .failed && red.evidence.contains("incomplete"), "\(red.evidence)")
        try post("\(tag)-2", nil)  // scheduled, not finished
        let running = await PolicyCheckEvaluator.shared.evaluate(spec, rollout: rollout, now: now)
        #expect(running.status == .pending, "the newest build is still running: \(running.evidence)")
    }
}
