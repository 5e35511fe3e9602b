import Testing
import TidemarkCore

/// The rollout state machine from its inputs alone: the rules it must never break (no host
/// before the gate, pending never passes or fails, a waiver is the only way past red, a failed
/// wave stops everything and rolls back) and the whole course of a good rollout.
@Suite struct RolloutMachineTests {
    static let t0 = Timestamp(seconds: 1_800_000_000)

    static func package(_ name: String, _ version: String) -> Package {
        Package(format: .rpm, name: name, evr: EVR(epoch: 0, version: version, release: "1"), arch: "noarch", digest: name + version)
    }

    /// Four hosts on perl-Mojo 1.0, to 2.0: canary worker1, then 50 %, then 100 %.
    static func rollout(required: [CheckSpec] = [], health: HealthSpec = HealthSpec(), approval: RolloutPolicy.Approval = .none, onFailure: RolloutPolicy.OnFailure = .rollback) throws -> Rollout {
        let old = [package("perl-Mojo", "1.0"), package("bash", "5.2")], new = [package("perl-Mojo", "2.0"), package("bash", "5.2")]
        let hosts = (1...4).map { RolloutPlan.HostTarget(host: "worker\($0)", current: old, target: new) }
        let policy = RolloutPolicy(
            required: required, waves: WaveSpec(canary: .hosts(["worker1"]), percentages: [50, 100]), approval: approval, soak: 60, health: health,
            onFailure: onFailure, applyTimeout: 600)
        return Rollout(id: 7, target: "--target test", createdAt: t0, createdBy: "alice", policy: policy, plan: try RolloutPlan.make(hosts, waves: policy.waves))
    }

    static let gate = CheckSpec(name: "openqa-in-openqa", kind: .command(CommandCheck(command: "true")), deadline: 3600)

    static func at(_ s: Int64) -> Timestamp { Timestamp(seconds: t0.seconds + s) }

    /// The jobs a step asked for, as the store would create them (ids from 1), in `status`.
    static func jobs(_ requests: [RolloutMachine.JobRequest], _ status: HostJob.Status, from id: Int64 = 1, message: String? = nil) -> [HostJob] {
        requests.enumerated().map { i, r in
            HostJob(id: id + Int64(i), host: r.host, kind: r.kind, target: r.target, dryRun: false, status: status, createdAt: t0, message: message, rollout: 7, step: r.step, command: r.command)
        }
    }

    @Test func noHostIsTouchedWhileAGateIsPendingOrFailedAndPendingNeverCountsAsEither() throws {
        let r = try Self.rollout(required: [Self.gate])
        var p = RolloutMachine.initial(r).progress
        let pending = CheckResult(check: Self.gate.name, status: .pending, evidence: "2 jobs running", at: Self.at(10))
        var s = RolloutMachine.step(r, p, .init(now: Self.at(10), required: [pending]))
        #expect(s.jobs.isEmpty && s.progress.phase == .gating)
        #expect(s.progress.verdicts[Self.gate.name]?.status == .pending, "pending is shown as pending")
        p = s.progress
        let failed = CheckResult(check: Self.gate.name, status: .failed, evidence: "job 17: incomplete", at: Self.at(20))
        s = RolloutMachine.step(r, p, .init(now: Self.at(20), required: [failed]))
        #expect(s.jobs.isEmpty && s.progress.phase == .gating, "failed blocks; it does not start")
        #expect(s.events.contains { $0.kind == .check && $0.message.contains("failed") })
        // a missing result is pending too
        s = RolloutMachine.step(r, s.progress, .init(now: Self.at(30)))
        #expect(s.jobs.isEmpty && s.progress.verdicts[Self.gate.name]?.status == .pending)
    }

    @Test func aPendingCheckPastItsDeadlineFailsTheRolloutWithNoHostTouched() throws {
        let r = try Self.rollout(required: [Self.gate])
        let pending = CheckResult(check: Self.gate.name, status: .pending, evidence: "no jobs yet for build 42", at: Self.at(3600))
        let s = RolloutMachine.step(r, RolloutMachine.initial(r).progress, .init(now: Self.at(3600), required: [pending]))
        #expect(s.progress.phase == .halted && s.jobs.isEmpty)
        #expect(s.progress.outcome?.contains("still pending after its deadline of 1h") == true, "\(s.progress.outcome ?? "")")
        #expect(s.progress.outcome?.contains("no host was changed") == true)
    }

    @Test func onlyAnActiveWaiverPassesAFailedCheckAndTheDecisionNamesIt() throws {
        let r = try Self.rollout(required: [Self.gate])
        let failed = CheckResult(check: Self.gate.name, status: .failed, evidence: "job 17: incomplete", at: Self.at(20))
        let waiver = Waiver(id: 3, check: Self.gate.name, rollout: 7, reason: "known flake, boo#1234", by: "bob", createdAt: Self.at(5), expiresAt: Self.at(100))
        let expired = RolloutMachine.step(r, RolloutMachine.initial(r).progress, .init(now: Self.at(200), required: [failed], waivers: [waiver]))
        #expect(expired.jobs.isEmpty, "an expired waiver passes nothing")
        var revoked = waiver
        revoked.revokedAt = Self.at(10)
        #expect(RolloutMachine.step(r, RolloutMachine.initial(r).progress, .init(now: Self.at(20), required: [failed], waivers: [revoked])).jobs.isEmpty)
        var other = waiver
        other.rollout = 8
        #expect(RolloutMachine.step(r, RolloutMachine.initial(r).progress, .init(now: Self.at(20), required: [failed], waivers: [other])).jobs.isEmpty, "another rollout's waiver")
        let s = RolloutMachine.step(r, RolloutMachine.initial(r).progress, .init(now: Self.at(20), required: [failed], waivers: [waiver]))
        #expect(s.progress.phase == .applying && s.jobs.map(\.host) == ["worker1"])
        let decision = try #require(s.events.last { $0.kind == .decision })
        #expect(decision.message.contains("waiver 3") && decision.message.contains("bob") && decision.message.contains("boo#1234"), "\(decision.message)")
        #expect(decision.verdicts.first?.waiver?.id == 3)
        // a waiver never skips waiting: pending stays pending
        let pending = CheckResult(check: Self.gate.name, status: .pending, evidence: "running", at: Self.at(20))
        #expect(RolloutMachine.step(r, RolloutMachine.initial(r).progress, .init(now: Self.at(20), required: [pending], waivers: [waiver])).jobs.isEmpty)
    }

    @Test func aGoodRolloutGoesThroughEveryWave() throws {
        let health = HealthSpec(commands: [HealthCommand(name: "worker-health", command: "check")], rule: .init(maxFailures: 0))
        let r = try Self.rollout(required: [Self.gate], health: health)
        let ok = CheckResult(check: Self.gate.name, status: .passed, evidence: "all passed", at: Self.at(1))
        var s = RolloutMachine.step(r, RolloutMachine.initial(r).progress, .init(now: Self.at(1), required: [ok]))
        var all: [HostJob] = [], nextID: Int64 = 1, t: Int64 = 1
        func run(_ requests: [RolloutMachine.JobRequest], _ status: HostJob.Status = .succeeded) {
            all += Self.jobs(requests, status, from: nextID)
            nextID += Int64(requests.count)
        }
        var waves: [[String]] = []
        while !s.progress.phase.isFinished {
            if s.progress.phase == .applying { waves.append(s.jobs.map(\.host)) }
            run(s.jobs)
            t += 61
            s = RolloutMachine.step(r, s.progress, .init(now: Self.at(t), jobs: all))
            #expect(t < 5000, "the rollout must end")
        }
        #expect(s.progress.phase == .completed, "\(s.progress.outcome ?? "")")
        #expect(waves == [["worker1"], ["worker2"], ["worker3", "worker4"]] || waves.joined().sorted() == ["worker1", "worker2", "worker3", "worker4"])
        #expect(waves.first == ["worker1"], "the canary first")
        // health ran on the wave and on the hosts not updated yet
        let canaryHealth = all.filter { $0.step == RolloutMachine.healthStep(0, "worker-health") }
        #expect(Set(canaryHealth.map(\.host)) == ["worker1", "worker2", "worker3", "worker4"])
    }

    @Test func unhealthyCanariesHaltTheRolloutAndRollOnlyThemBack() throws {
        let health = HealthSpec(commands: [HealthCommand(name: "worker-health", command: "check")], rule: .init(maxFailures: 0))
        let r = try Self.rollout(health: health)
        var s = RolloutMachine.step(r, RolloutMachine.initial(r).progress, .init(now: Self.at(1)))
        var all = Self.jobs(s.jobs, .succeeded)  // canary updated
        s = RolloutMachine.step(r, s.progress, .init(now: Self.at(2), jobs: all))
        #expect(s.progress.phase == .soaking)
        s = RolloutMachine.step(r, s.progress, .init(now: Self.at(30), jobs: all))
        #expect(s.progress.phase == .soaking, "soak is 60 s")
        s = RolloutMachine.step(r, s.progress, .init(now: Self.at(63), jobs: all))
        #expect(s.progress.phase == .analyzing && s.jobs.count == 4)
        // the canary's health command fails, the others pass; one host still running: pending
        let checks = s.jobs
        var results = Self.jobs(checks.filter { $0.host != "worker1" && $0.host != "worker4" }, .succeeded, from: 10)
        results += Self.jobs(checks.filter { $0.host == "worker4" }, .running, from: 20)
        all += results
        s = RolloutMachine.step(r, s.progress, .init(now: Self.at(64), jobs: all))
        #expect(s.progress.phase == .analyzing, "a verdict on part of the hosts is no verdict")
        all += Self.jobs(checks.filter { $0.host == "worker1" }, .failed, from: 30, message: "exit 1: isotovideo can not be started")
        s = RolloutMachine.step(r, s.progress, .init(now: Self.at(65), jobs: all))
        #expect(s.progress.phase == .rollingBack, "\(s.events.map(\.message))")
        #expect(s.jobs.map(\.host) == ["worker1"] && s.jobs.allSatisfy { $0.kind == .rollback && $0.target == r.hostPlan("worker1")!.from })
        #expect(s.events.last?.message.contains("worker1: exit 1: isotovideo") == true, "\(s.events.last?.message ?? "")")
        all += Self.jobs(s.jobs, .succeeded, from: 40)
        s = RolloutMachine.step(r, s.progress, .init(now: Self.at(70), jobs: all))
        #expect(s.progress.phase == .rolledBack)
        #expect(all.filter { $0.kind == .apply }.map(\.host) == ["worker1"], "no other host ever got the build")
        // finished is final
        #expect(!RolloutMachine.step(r, s.progress, .init(now: Self.at(80), jobs: all)).changed)
    }

    @Test func aFailedTransactionHaltsAndOnFailureHaltLeavesHostsAlone() throws {
        let r = try Self.rollout(onFailure: .halt)
        var s = RolloutMachine.step(r, RolloutMachine.initial(r).progress, .init(now: Self.at(1)))
        let all = Self.jobs(s.jobs, .failed, message: "zypper: nothing provides perl(IO::Pty)")
        s = RolloutMachine.step(r, s.progress, .init(now: Self.at(2), jobs: all))
        #expect(s.progress.phase == .halted && s.jobs.isEmpty)
        #expect(s.progress.outcome?.contains("nothing provides perl(IO::Pty)") == true && s.progress.outcome?.contains("left as they are") == true)
    }

    @Test func applyTimeoutFailsAndRollsBackWhatWasStarted() throws {
        let r = try Self.rollout()
        var s = RolloutMachine.step(r, RolloutMachine.initial(r).progress, .init(now: Self.at(1)))
        let all = Self.jobs(s.jobs, .pending)
        s = RolloutMachine.step(r, s.progress, .init(now: Self.at(300), jobs: all))
        #expect(s.progress.phase == .applying && !s.changed)
        s = RolloutMachine.step(r, s.progress, .init(now: Self.at(601), jobs: all))
        #expect(s.progress.phase == .rollingBack && s.jobs.map(\.host) == ["worker1"])
    }

    @Test func approvalPauseResumeAndAbortFollowThePhase() throws {
        let r = try Self.rollout(approval: .firstWave)
        var s = RolloutMachine.step(r, RolloutMachine.initial(r).progress, .init(now: Self.at(1)))
        #expect(s.progress.phase == .awaitingApproval && s.jobs.isEmpty)
        #expect(!RolloutMachine.step(r, s.progress, .init(now: Self.at(2))).changed, "only approve moves on")
        #expect(throws: TidemarkError.self) { try RolloutMachine.act(.resume, r, s.progress, by: "bob", now: Self.at(2)) }
        let paused = try RolloutMachine.act(.pause, r, s.progress, by: "bob", now: Self.at(3))
        #expect(paused.progress.paused && paused.events.last?.by == "bob")
        let approved = try RolloutMachine.act(.approve, r, s.progress, by: "bob", now: Self.at(4))
        #expect(approved.progress.phase == .applying && approved.jobs.map(\.host) == ["worker1"])
        #expect(approved.events.last?.message.contains("approved by bob") == true)
        #expect(throws: TidemarkError.self) { try RolloutMachine.act(.approve, r, approved.progress, by: "bob", now: Self.at(5)) }
        s = approved
        let aborted = try RolloutMachine.act(.abort(rollback: true), r, s.progress, by: "carol", now: Self.at(6))
        #expect(aborted.progress.phase == .rollingBack && aborted.jobs.map(\.kind) == [.rollback])
        let stopped = try RolloutMachine.act(.abort(rollback: false), r, s.progress, by: "carol", now: Self.at(6))
        #expect(stopped.progress.phase == .aborted && stopped.jobs.isEmpty)
        #expect(throws: TidemarkError.self) { try RolloutMachine.act(.pause, r, stopped.progress, by: "carol", now: Self.at(7)) }
        // paused: nothing advances
        let frozen = RolloutMachine.step(r, paused.progress, .init(now: Self.at(9)))
        #expect(!frozen.changed)
    }

    @Test func everyEventCarriesTheProgressItLedTo() throws {
        let r = try Self.rollout(required: [Self.gate])
        let ok = CheckResult(check: Self.gate.name, status: .passed, evidence: "all passed", at: Self.at(1))
        let s = RolloutMachine.step(r, RolloutMachine.initial(r).progress, .init(now: Self.at(1), required: [ok]))
        #expect(s.events.last?.progress == s.progress)
        #expect(s.events.first?.kind == .check && s.events.first?.progress.phase == .gating)
    }

    @Test func durationsParseAndPrint() {
        #expect(DurationText.parse("90") == 90)
        #expect(DurationText.parse("1h30m") == 5400)
        #expect(DurationText.parse("2d") == 172_800)
        #expect(DurationText.parse("5x") == nil && DurationText.parse("h") == nil && DurationText.parse("") == nil && DurationText.parse("-5m") == nil)
        #expect(DurationText.words(5400) == "1h30m" && DurationText.words(0) == "0s")
    }

    @Test func hostSelectorsByPatternAndLabel() throws {
        let hosts = ["worker1", "worker12", "openqa-webui", "worker2"]
        let labels = ["worker1": ["role": "worker"], "openqa-webui": ["role": "web"]]
        #expect(HostSelector.select([try .parse("worker?")], hosts: hosts, labels: labels) == ["worker1", "worker2"])
        #expect(HostSelector.select([try .parse("worker*")], hosts: hosts, labels: labels) == ["worker1", "worker12", "worker2"])
        #expect(HostSelector.select([try .parse("worker[1-2]")], hosts: hosts, labels: labels) == ["worker1", "worker2"])
        #expect(HostSelector.select([try .parse("role=web"), try .parse("worker2")], hosts: hosts, labels: labels) == ["openqa-webui", "worker2"])
        #expect(HostSelector.select([], hosts: hosts, labels: labels) == hosts)
        #expect(throws: TidemarkError.self) { try HostSelector.parse("=x") }
    }

    @Test func updateTargetTakesTheHighestOfferedVersionInRPMOrder() {
        let current = [Self.package("perl-Mojo", "1.0"), Self.package("bash", "5.2"), Self.package("vim", "9.0")]
        let offered = [Self.package("perl-Mojo", "1.10"), Self.package("perl-Mojo", "1.9"), Self.package("bash", "5.1"), Self.package("new-thing", "1")]
        let target = RolloutPlan.updateTarget(current: current, offered: offered)
        #expect(target.map(\.nevra) == ["perl-Mojo-1.10-1.noarch", "bash-5.2-1.noarch", "vim-9.0-1.noarch"])
    }
}
