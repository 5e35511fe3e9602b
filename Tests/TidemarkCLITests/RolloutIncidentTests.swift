import Foundation
import Testing
import TidemarkCore
import TidemarkHosts
import TidemarkTestSupport

/// The incident replayed through gated rollouts, end to end: a development repository
/// publishes a broken build of perl-Mojo-IOLoop-ReadWriteProcess (its installed file makes the
/// workers' health command fail). Real rpm roots changed by real zypper through real agent
/// processes, a real `tidemark server` process driving the rollout, and a real openQA web UI whose
/// integration job gates it.
@Suite(.serialized) struct RolloutIncidentTests {
    static let health = #"test ! -e "$TIDEMARK_ROOT\#(Fleet.brokenFile)""#

    static func policy(openQA: OpenQAServer, group: Int64, soak: String = "2s", extra: String = "") -> String {
        """
        required:
          - name: openqa-in-openqa
            openqa:
              url: \(openQA.url)
              group: \(group)
              build: latest
            deadline: 10m
        waves:
          canary: [worker1]
          percentages: [50, 100]
        soak: \(soak)
        health:
          commands:
            - name: worker-health
              command: '\(health)'
              timeout: 30s
          max-failures: 0
          deadline: 5m
        apply-timeout: 5m
        \(extra)
        """
    }

    /// Publishes an openQA-in-openQA job for `build` in `group` with `result`.
    static func integrationJob(_ openQA: OpenQAServer, group: Int64, build: String, result: String, reason: String? = nil) throws {
        let job = try openQA.createJob([
            "TEST": "openqa_in_openqa", "DISTRI": "openqa", "VERSION": "1", "FLAVOR": "dev", "ARCH": "x86_64", "MACHINE": "64bit",
            "BUILD": build, "_GROUP_ID": String(group),
        ])
        try openQA.setDone(job: job, result: result, reason: reason)
    }

    @Test func theIncidentIsStoppedAtTheGateThenAtTheCanaryAndAGoodBuildGoesEverywhere() throws {
        let openQA = try OpenQAServer.shared()
        let group = try openQA.createJobGroup(name: "openQA-in-openQA-\(UInt32.random(in: 0...UInt32.max))")
        let fleet = try Fleet("rollout-incident", hosts: 4)
        try fleet.startAgents()
        defer { fleet.stopAgents() }
        try fleet.waitForHosts()
        // every host's agent uploads its cached packages: the good build gets into the archive
        // (then the repository may drop it)
        struct File: Decodable { var fileName: String }
        for _ in 0..<100 where (try? fleet.json([File].self, ["archive", "list"]).count) != 2 { Thread.sleep(forTimeInterval: 0.3) }
        #expect(try fleet.json([File].self, ["archive", "list"]).count == 2)
        let before = try Dictionary(uniqueKeysWithValues: fleet.hosts.map { ($0, try fleet.binaries($0)) })

        // The development repository publishes the broken build and drops the good one (as OBS
        // does); the integration test of that build failed in openQA.
        let broken = try fleet.library("0.34", "1.2", broken: true)
        try fleet.repo.remove(["\(Fleet.library)-0.34-1.1.noarch.rpm"], update: false)
        try fleet.repo.add([broken])
        try Self.integrationJob(openQA, group: group, build: "20250121-1", result: "incomplete", reason: "setup failure: isotovideo can not be started")

        let policy = try fleet.policy(Self.policy(openQA: openQA, group: group))
        struct Created: Decodable { var rollout: RolloutStatus; var plan: RolloutPlan }
        let created = try fleet.json(Created.self, ["rollout", "create", "--policy", policy, "--updates-from", fleet.repo.url])
        #expect(created.plan.waves.map { $0.map(\.host) }.first == ["worker1"], "the canary first")
        #expect(created.plan.waves.joined().count == 4)
        let id = created.rollout.id

        // (a) The integration job failed: the gate is red, and no host is touched.
        let red = try fleet.wait(id, timeout: 60) { s in s.checks.first?.status == .failed }
        #expect(red.phase == .gating)
        #expect(red.checks[0].result.evidence.contains("incomplete"), "\(red.checks[0].result.evidence)")
        Thread.sleep(forTimeInterval: 3)
        let still = try fleet.status(id)
        #expect(still.phase == .gating && still.waves.allSatisfy { $0.hosts.allSatisfy { $0.jobs.isEmpty } }, "no job for any host")
        for h in fleet.hosts { #expect(try fleet.installed(h) == "0.34-1.1", "\(h) untouched") }
        let redAt = Timestamp(seconds: Int64(Date().timeIntervalSince1970))
        Thread.sleep(forTimeInterval: 1.1)  // times are to the second: the waiver comes in a later one

        // (b) Someone waives the red check; the canary installs the build and its health command
        // fails: the rollout halts after the canary wave and rolls the canary back from the
        // archive; no other host ever installs the build.
        let waiver = try fleet.cli(["waive", "openqa-in-openqa", "--rollout", String(id), "--reason", "believed unrelated (poo#123)", "--expires", "1h"])
        #expect(waiver.contains("waiver"))
        let done = try fleet.wait(id) { $0.phase.isFinished }
        #expect(done.phase == .rolledBack, "\(done.outcome ?? "")")
        #expect(done.outcome?.contains("worker-health") == true && done.outcome?.contains("worker1") == true, "\(done.outcome ?? "")")
        #expect(try fleet.binaries("worker1") == before["worker1"], "the canary has exactly its binaries from before again")
        for h in ["worker2", "worker3", "worker4"] {
            #expect(try fleet.installed(h) == "0.34-1.1", "\(h) never installed the broken build")
            #expect(try fleet.binaries(h) == before[h])
            #expect(done.waves.flatMap(\.hosts).first { $0.host == h }!.jobs.allSatisfy { $0.kind != .apply && $0.kind != .rollback }, "no transaction on \(h)")
        }
        let log = try fleet.cli(["rollout", "log", String(id)])
        #expect(log.contains("waiver 1 by token") || log.contains("(waived: openqa-in-openqa"), "the decision names the waiver:\n\(log)")
        #expect(log.contains("rolled back and verified"), "\(log)")
        // explain: as it stood while the gate was red
        struct Explained: Decodable { var rollout: RolloutStatus; var events: [RolloutEvent] }
        let then = try fleet.json(Explained.self, ["rollout", "explain", String(id), "--at", redAt.iso8601])
        // (red, or pending while openQA was too slow to answer on a loaded machine: never passed)
        #expect(then.rollout.phase == .gating && then.rollout.checks[0].status != .passed && then.rollout.waivers.isEmpty, "\(then.rollout.checks)")
        #expect(then.events.contains { $0.kind == .check && $0.message.contains("openqa-in-openqa: failed") })
        #expect(!then.events.contains { $0.kind == .waiver })

        // (c) A good build, whose integration test passed, goes through all waves.
        let good = try fleet.library("0.35", "1.1")
        try fleet.repo.add([good])
        try Self.integrationJob(openQA, group: group, build: "20250121-2", result: "passed")
        let second = try fleet.json(Created.self, ["rollout", "create", "--policy", policy, "--updates-from", fleet.repo.url])
        let finished = try fleet.wait(second.rollout.id, timeout: 240) { $0.phase.isFinished }
        #expect(finished.phase == .completed, "\(finished.outcome ?? "")")
        #expect(finished.waves.count == 3)
        for h in fleet.hosts {
            #expect(try fleet.installed(h) == "0.35-1.1", "\(h) updated")
            #expect(try fleet.installed(h, "openQA-worker") == "5.1-1")
        }
        let list = try fleet.json([RolloutStatus].self, ["rollout", "list"])
        #expect(list.map(\.phase) == [.completed, .rolledBack])
    }
}
