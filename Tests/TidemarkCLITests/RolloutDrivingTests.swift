import Foundation
import Testing
import TidemarkCore
import TidemarkHosts
import TidemarkTestSupport

/// Driving rollouts through crashes and several servers, deadlines and expiring waivers: real
/// `tidemark server` processes (SQLite, or a real PostgreSQL shared by two), real agents and rpm
/// roots.
@Suite(.serialized) struct RolloutDrivingTests {
    struct Created: Decodable { var rollout: RolloutStatus; var plan: RolloutPlan }

    /// The broken build published, the good one still archived (from the build directory).
    static func publishNewBuild(_ fleet: Fleet, broken: Bool = false) throws {
        let next = try fleet.library("0.34", "1.2", broken: broken)
        try fleet.repo.add([next])
    }

    @Test func aKilledDriverIsTakenOverByTheOtherServerAndNothingRunsTwice() throws {
        let url = try PostgresServer.createDatabase()
        let fleet = try Fleet("rollout-failover", hosts: 3, db: url, serverArguments: ["--rollout-lease", "3"])
        try fleet.startAgents()
        defer { fleet.stopAgents() }
        try fleet.waitForHosts()
        try Self.publishNewBuild(fleet)
        let policy = try fleet.policy("""
            waves:
              canary: [worker1]
              percentages: [100]
            soak: 6s
            health:
              commands:
                - name: worker-health
                  command: 'test -e "$TIDEMARK_ROOT/usr/share/perl-mojo/VERSION"'
            """)
        let id = try fleet.json(Created.self, ["rollout", "create", "--policy", policy, "--updates-from", fleet.repo.url]).rollout.id
        // kill -9 the driving server while the canary wave soaks
        try fleet.wait(id, timeout: 120) { $0.phase == .soaking }
        fleet.server.kill9()
        // the second server on the same PostgreSQL takes over once the lease (3 s) runs out;
        // the first one comes back as well: two drivers from then on
        let other = try ServerProcess(fleet.tm, db: url, log: fleet.dir.path("server-b.log"), archive: fleet.dir.path("archive"),
                                      arguments: Fleet.serverDefaults + ["--rollout-lease", "3"])
        try other.start()
        defer { other.stop() }
        Thread.sleep(forTimeInterval: 2)
        try fleet.server.start()
        let done = try fleet.wait(id, timeout: 180, server: other) { $0.phase.isFinished }
        #expect(done.phase == .completed, "\(done.outcome ?? "")")
        for h in fleet.hosts { #expect(try fleet.installed(h) == "0.34-1.2") }
        // exactly one transaction per host and one of each decision, whoever drove
        let hosts = done.waves.flatMap(\.hosts)
        for h in hosts {
            #expect(h.jobs.filter { $0.kind == .apply }.count == 1, "\(h.host): \(h.jobs.map { "\($0.kind.rawValue) \($0.id)" })")
        }
        let log = try fleet.json([RolloutEvent].self, ["rollout", "log", String(id)], server: other)
        let decisions = log.filter { $0.kind == .decision }.map(\.message)
        #expect(Set(decisions).count == decisions.count, "no decision twice: \(decisions)")
        #expect(decisions.filter { $0.contains("wave 1: applying") }.count == 1)
        // both servers answer the same
        let (mine, theirs) = (try fleet.status(id), try fleet.status(id, server: other))
        #expect(mine == theirs)
    }

    @Test func aPendingCheckPastItsDeadlineFailsTheRolloutAndAnExpiredWaiverPassesNothing() throws {
        let fleet = try Fleet("rollout-deadline", hosts: 1)
        try fleet.startAgents()
        defer { fleet.stopAgents() }
        try fleet.waitForHosts()
        try Self.publishNewBuild(fleet)
        let silent = try ServerProcess.freePort()  // nobody answers there: the check stays pending
        let pending = try fleet.policy("""
            required:
              - name: monitoring
                http:
                  url: http://127.0.0.1:\(silent)/health
                  timeout: 1s
                deadline: 4s
            waves:
              canary: 1
              percentages: [100]
            """, name: "pending.yaml")
        let a = try fleet.json(Created.self, ["rollout", "create", "--policy", pending, "--updates-from", fleet.repo.url]).rollout.id
        let seen = try fleet.wait(a, timeout: 30) { $0.checks.first?.result.evidence.contains("no answer") == true }
        #expect(seen.checks[0].status == .pending, "pending is shown as pending")
        let halted = try fleet.wait(a, timeout: 60) { $0.phase.isFinished }
        #expect(halted.phase == .halted)
        #expect(halted.outcome?.contains("still pending after its deadline of 4s") == true, "\(halted.outcome ?? "")")
        #expect(halted.waves.flatMap(\.hosts).allSatisfy { $0.jobs.isEmpty })
        #expect(try fleet.installed("worker1") == "0.34-1.1")

        // A waiver that expired before the driver looked again passes nothing.
        let red = try fleet.policy("""
            required:
              - name: repo-published
                command: 'echo "build still failing" >&2; exit 3'
            waves:
              canary: 1
              percentages: [100]
            """, name: "red.yaml")
        let b = try fleet.json(Created.self, ["rollout", "create", "--policy", red, "--updates-from", fleet.repo.url]).rollout.id
        let failed = try fleet.wait(b, timeout: 30) { $0.checks.first?.status == .failed }
        #expect(failed.checks[0].result.evidence.contains("exit 3") && failed.checks[0].result.evidence.contains("build still failing"))
        try fleet.cli(["rollout", "pause", String(b)])
        try fleet.cli(["waive", "repo-published", "--rollout", String(b), "--reason", "short one", "--expires", "1s"])
        Thread.sleep(forTimeInterval: 2.5)
        try fleet.cli(["rollout", "resume", String(b)])
        Thread.sleep(forTimeInterval: 4)
        let after = try fleet.status(b)
        #expect(after.phase == .gating && after.checks[0].status == .failed && after.checks[0].waiver == nil, "\(after.phase) \(after.checks)")
        #expect(after.waves.flatMap(\.hosts).allSatisfy { $0.jobs.isEmpty }, "no host touched")
        #expect(after.waivers.count == 1)
        // a waiver in force lets it through, and the decision says so
        try fleet.cli(["waive", "repo-published", "--rollout", String(b), "--reason", "published by hand", "--expires", "1h"])
        let applying = try fleet.wait(b, timeout: 30) { $0.phase != .gating }
        #expect(applying.phase == .applying || applying.phase == .soaking || applying.phase.isFinished)
        let log = try fleet.cli(["rollout", "log", String(b)])
        #expect(log.contains("published by hand") && log.contains("waiver 2"), "\(log)")
        try fleet.cli(["rollout", "abort", String(b), "--rollback"])
        let aborted = try fleet.wait(b, timeout: 120) { $0.phase.isFinished }
        #expect(aborted.phase == .rolledBack, "\(aborted.phase): \(aborted.outcome ?? "") \(aborted.waves.flatMap(\.hosts).flatMap(\.jobs).map { "\($0.kind.rawValue) \($0.id) \($0.status.rawValue): \($0.message ?? "")" })\n\(fleet.agentLog("worker1").suffix(3000))")
        #expect(try fleet.installed("worker1") == "0.34-1.1", "rolled back after the abort")
    }

    @Test func badPoliciesAndActionsAreRefusedSayingWhy() throws {
        let fleet = try Fleet("rollout-refusals", hosts: 1)
        try fleet.startAgents()
        defer { fleet.stopAgents() }
        try fleet.waitForHosts()
        let bad = try fleet.policy("waves:\n  canary: 1\n  percentages: [50, 90]\n", name: "bad.yaml")
        let r = try fleet.tm.run(["rollout", "create", "--policy", bad, "--target", "worker1", "--server", fleet.server.url, "--token-file", fleet.admin], withDB: false)
        #expect(r.status == 1 && r.stderrText.contains("bad.yaml:3: waves.percentages: must end at 100"), "\(r.stderrText)")
        let typo = try fleet.policy("waves:\n  canary: 1\n  percentages: [100]\nsoak: 5m\nhelth:\n  max-failures: 1\n", name: "typo.yaml")
        let t = try fleet.tm.run(["rollout", "create", "--policy", typo, "--target", "worker1", "--server", fleet.server.url, "--token-file", fleet.admin], withDB: false)
        #expect(t.status == 1 && t.stderrText.contains("typo.yaml:5: helth: unknown key"), "\(t.stderrText)")
        // nothing to do: every host already runs the target; the rollout completes at once
        let same = try fleet.policy("waves:\n  canary: 1\n  percentages: [100]\n", name: "same.yaml")
        let created = try fleet.json(Created.self, ["rollout", "create", "--policy", same, "--target", "worker1"])
        #expect(created.plan.waves.isEmpty && created.plan.unchanged == ["worker1"])
        let done = try fleet.wait(created.rollout.id, timeout: 30) { $0.phase.isFinished }
        #expect(done.phase == .completed)
        let approve = try fleet.tm.run(["rollout", "approve", String(created.rollout.id), "--server", fleet.server.url, "--token-file", fleet.admin], withDB: false)
        #expect(approve.status == 1 && approve.stderrText.contains("completed"), "\(approve.stderrText)")
        let missing = try fleet.tm.run(["rollout", "status", "999", "--server", fleet.server.url, "--token-file", fleet.admin], withDB: false)
        #expect(missing.status == 1 && missing.stderrText.contains("no rollout with id 999"))
        // a reader may look but not create or waive
        let reader = fleet.dir.path("reader.token")
        try FileSystem.write(try fleet.tm.check(["token", "create", "--role", "reader"]).trimmed + "\n", to: reader)
        let denied = try fleet.tm.run(["rollout", "create", "--policy", same, "--target", "worker1", "--server", fleet.server.url, "--token-file", reader], withDB: false)
        #expect(denied.status == 1 && denied.stderrText.contains("admin"), "\(denied.stderrText)")
        let listed = try fleet.tm.run(["rollout", "list", "--server", fleet.server.url, "--token-file", reader], withDB: false)
        #expect(listed.status == 0 && listed.stdoutText.contains("completed"))
        // the same answers from the local database as from the server
        let local = try fleet.tm.run(["rollout", "status", String(created.rollout.id), "--json"])
        #expect(local.status == 0, "\(local.stderrText)")
        let fromDB = try JSONDecoder().decode(RolloutStatus.self, from: local.stdout), fromServer = try fleet.status(created.rollout.id)
        #expect(fromDB == fromServer)
    }

    @Test func aFailedTransactionHaltsTheRolloutAndWatchOpensOneForNewBuilds() throws {
        let fleet = try Fleet("rollout-failed-transaction", hosts: 2)
        try fleet.startAgents()
        defer { fleet.stopAgents() }
        try fleet.waitForHosts()
        // a build that needs something nobody provides: zypper cannot install it
        let needy = try fleet.builder.build(RPMSpec(name: Fleet.library, version: "0.35", release: "1.1", requires: ["perl(IO::Pty::Missing)"]))[0]
        try fleet.repo.add([needy])
        let policy = try fleet.policy("waves:\n  canary: [worker1]\nsoak: 0s\n")
        // `rollout watch --once` opens the rollout for what the repository publishes now
        let watched = try fleet.cli(["rollout", "watch", "--repo", fleet.repo.url, "--policy", policy, "--once"])
        #expect(watched.contains("rollout 1"), "\(watched)")
        let done = try fleet.wait(1, timeout: 120) { $0.phase.isFinished }
        #expect(done.phase == .rolledBack, "\(done.phase): \(done.outcome ?? "")")
        #expect(done.outcome?.contains("the transaction on worker1 failed") == true, "\(done.outcome ?? "")")
        #expect(try fleet.installed("worker1") == "0.34-1.1" && (try fleet.installed("worker2")) == "0.34-1.1")
        #expect(done.waves[1].hosts.allSatisfy { $0.jobs.isEmpty }, "worker2 was never touched")
    }
}
