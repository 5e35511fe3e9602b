/// The rollout state machine, pure: from where a rollout stands and what the world says now (check
/// results, waivers, the agents' jobs), the next progress, the log lines that explain it and the
/// jobs to hand to agents. The server's driver persists all three in one transaction, so a
/// restart, or another server taking over, continues exactly here; and since nothing here reads a
/// clock or a database, every decision can be tested, and replayed, from its inputs.
///
/// Rules it never breaks: no host is touched before every required check passed (or was
/// waived); pending is never taken as passed or failed (it waits, until a deadline fails it);
/// a failed check passes only under an active waiver, which the decision then names; a failed
/// transaction or an unhealthy wave stops the rollout before any further host is touched.
public enum RolloutMachine {
    /// What the driver learned this tick.
    public struct Inputs: Sendable {
        public var now: Timestamp
        /// Results of the policy's required checks (only read while gating).
        public var required: [CheckResult]
        /// Results of health checks the driver evaluates itself (openQA on the wave's hosts; only
        /// read while analyzing). Command health comes from `jobs`.
        public var health: [CheckResult]
        /// Every job of this rollout.
        public var jobs: [HostJob]
        public var waivers: [Waiver]

        public init(now: Timestamp, required: [CheckResult] = [], health: [CheckResult] = [], jobs: [HostJob] = [], waivers: [Waiver] = []) {
            self.now = now
            self.required = required
            self.health = health
            self.jobs = jobs
            self.waivers = waivers
        }
    }

    /// A job the step asks for: created in the same transaction as the progress it belongs to.
    public struct JobRequest: Sendable, Hashable, Codable {
        public var host: String
        public var kind: HostJob.Kind
        public var target: StateID
        /// Which step of the rollout it serves (`wave-0-apply`, `wave-0-health:NAME`, `rollback`).
        public var step: String
        public var command: String?
        public var timeout: Int?
    }

    public struct Step: Sendable, Hashable {
        public var progress: RolloutProgress
        public var events: [RolloutEvent]
        public var jobs: [JobRequest]
        /// Whether anything is to be written.
        public var changed: Bool
    }

    /// What the driver must evaluate before calling `step`.
    public struct Needs: Sendable {
        /// Run the required checks.
        public var required: Bool
        /// Tally openQA jobs on `waveHosts` against `baselineHosts` finished since `since`.
        public var openQAHealth: (waveHosts: [String], baselineHosts: [String], since: Timestamp)?
    }

    public static func initial(_ rollout: Rollout) -> (progress: RolloutProgress, event: RolloutEvent) {
        let p = RolloutProgress(phase: .gating, since: rollout.createdAt)
        let hosts = rollout.plan.waves.joined().count
        let checks = rollout.policy.required.isEmpty ? "no required checks" : "required checks: " + rollout.policy.required.map(\.name).joined(separator: ", ")
        let message = "created by \(rollout.createdBy): \(rollout.target); \(hosts) host\(hosts == 1 ? "" : "s") in \(rollout.plan.waves.count) wave\(rollout.plan.waves.count == 1 ? "" : "s"); \(checks)"
        return (p, RolloutEvent(at: rollout.createdAt, kind: .created, message: message, by: rollout.createdBy, progress: p))
    }

    public static func needs(_ rollout: Rollout, _ p: RolloutProgress) -> Needs {
        guard !p.phase.isFinished, !p.paused else { return Needs(required: false) }
        switch p.phase {
        case .gating:
            return Needs(required: true)
        case .analyzing where rollout.policy.health.openQA != nil:
            return Needs(required: false, openQAHealth: (waveHosts(rollout, p.wave), baselineHosts(rollout, p.wave), p.since))
        default:
            return Needs(required: false)
        }
    }

    /// Hosts of wave `i`.
    public static func waveHosts(_ rollout: Rollout, _ i: Int) -> [String] {
        i < rollout.plan.waves.count ? rollout.plan.waves[i].map(\.host) : []
    }

    /// Hosts not updated yet while wave `i` is judged: those of later waves.
    public static func baselineHosts(_ rollout: Rollout, _ i: Int) -> [String] {
        rollout.plan.waves.dropFirst(i + 1).joined().map(\.host)
    }

    public static func applyStep(_ wave: Int) -> String { "wave-\(wave)-apply" }
    public static func healthStep(_ wave: Int, _ command: String) -> String { "wave-\(wave)-health:\(command)" }
    public static let rollbackStep = "rollback"

    // MARK: - Advancing

    public static func step(_ rollout: Rollout, _ progress: RolloutProgress, _ inputs: Inputs) -> Step {
        var s = Step(progress: progress, events: [], jobs: [], changed: false)
        guard !progress.phase.isFinished, !progress.paused else { return s }
        switch progress.phase {
        case .gating: gate(rollout, inputs, &s)
        case .awaitingApproval: break  // only `approve` moves on
        case .applying: applying(rollout, inputs, &s)
        case .soaking:
            if inputs.now.seconds >= progress.since.seconds + Int64(rollout.policy.soak) {
                enter(.analyzing, wave: progress.wave, rollout, inputs.now, &s,
                      "wave \(progress.wave): soaked \(DurationText.words(rollout.policy.soak)); judging its health")
                s.jobs += healthJobs(rollout, progress.wave)
            }
        case .analyzing: analyzing(rollout, inputs, &s)
        case .rollingBack: rollingBack(rollout, inputs, &s)
        case .completed, .halted, .rolledBack, .aborted: break
        }
        return s
    }

    private static func gate(_ rollout: Rollout, _ inputs: Inputs, _ s: inout Step) {
        let verdicts = judge(rollout.policy.required.map(\.name), inputs.required, inputs, rollout, &s)
        let status = GateVerdict.combine(verdicts)
        if status == .passed {
            let waived = verdicts.compactMap(\.waiver)
            let note = waived.isEmpty ? "" : " (waived: " + waived.map { "\($0.check) by \($0.by), waiver \($0.id): \($0.reason)" }.joined(separator: "; ") + ")"
            let what = rollout.policy.required.isEmpty ? "no required checks" : "required checks passed\(note)"
            if rollout.plan.waves.isEmpty {
                finish(.completed, rollout, inputs.now, &s, "\(what); every host already runs its target", verdicts: verdicts)
            } else if rollout.policy.approval != .none {
                enter(.awaitingApproval, wave: 0, rollout, inputs.now, &s, "\(what); waiting for approval of wave 0", verdicts: verdicts)
            } else {
                startWave(0, rollout, inputs.now, &s, because: what, verdicts: verdicts)
            }
            return
        }
        // Not passed yet: a check past its deadline fails the rollout; no host was touched.
        for spec in rollout.policy.required {
            guard let v = verdicts.first(where: { $0.result.check == spec.name }), v.status != .passed else { continue }
            if inputs.now.seconds >= rollout.createdAt.seconds + Int64(spec.deadline) {
                failure(rollout, inputs.now, &s, "required check \(spec.name) still \(v.status.rawValue) after its deadline of \(DurationText.words(spec.deadline)): \(v.result.evidence)", verdicts: verdicts)
                return
            }
        }
    }

    private static func applying(_ rollout: Rollout, _ inputs: Inputs, _ s: inout Step) {
        let wave = s.progress.wave, step = applyStep(wave)
        let jobs = inputs.jobs.filter { $0.step == step }
        if let bad = jobs.first(where: { $0.status == .failed }) {
            failure(rollout, inputs.now, &s, "wave \(wave): the transaction on \(bad.host) failed (job \(bad.id)): \(bad.message ?? "no message")")
            return
        }
        let hosts = waveHosts(rollout, wave)
        let done = Set(jobs.filter { $0.status == .succeeded }.map(\.host))
        if hosts.allSatisfy(done.contains) {
            enter(.soaking, wave: wave, rollout, inputs.now, &s,
                  "wave \(wave): \(hosts.count) host\(hosts.count == 1 ? "" : "s") updated and verified (\(hosts.joined(separator: ", "))); soaking \(DurationText.words(rollout.policy.soak))")
            return
        }
        if inputs.now.seconds >= s.progress.since.seconds + Int64(rollout.policy.applyTimeout) {
            let late = hosts.filter { !done.contains($0) }
            failure(rollout, inputs.now, &s, "wave \(wave): \(late.joined(separator: ", ")) did not finish the transaction within \(DurationText.words(rollout.policy.applyTimeout))")
        }
    }

    private static func analyzing(_ rollout: Rollout, _ inputs: Inputs, _ s: inout Step) {
        let wave = s.progress.wave, health = rollout.policy.health
        var results = inputs.health.filter { $0.check == OpenQAHealth.checkName && health.openQA != nil }
        if health.openQA != nil, results.isEmpty {
            results.append(CheckResult(check: OpenQAHealth.checkName, status: .pending, evidence: "not evaluated yet", at: inputs.now))
        }
        let waveSet = Set(waveHosts(rollout, wave)), baseline = Set(baselineHosts(rollout, wave))
        for command in health.commands {
            let jobs = inputs.jobs.filter { $0.step == healthStep(wave, command.name) }
            let running = jobs.filter { !$0.status.isFinished }
            let w = jobs.filter { waveSet.contains($0.host) && $0.status.isFinished }, b = jobs.filter { baseline.contains($0.host) && $0.status.isFinished }
            let comparison = HealthComparison(
                waveFailed: w.filter { $0.status == .failed }.count, waveTotal: w.count,
                baselineFailed: b.filter { $0.status == .failed }.count, baselineTotal: b.count)
            var (status, reason) = comparison.decide(health.rule)
            let failedHosts = (w + b).filter { $0.status == .failed }.map { "\($0.host): \($0.message ?? "failed")" }
            if !failedHosts.isEmpty { reason += "; " + failedHosts.joined(separator: "; ") }
            if status != .failed, !running.isEmpty {
                // A verdict on part of the hosts is no verdict: wait for every host's answer.
                status = .pending
                reason = "waiting for \(running.count) of \(jobs.count) hosts (\(running.map(\.host).joined(separator: ", "))); so far " + reason
            }
            results.append(CheckResult(check: command.name, status: status, evidence: reason, at: inputs.now))
        }
        let verdicts = judge(health.checkNames, results, inputs, rollout, &s)
        switch GateVerdict.combine(verdicts) {
        case .failed:
            let failed = verdicts.filter { $0.status == .failed }.map { "\($0.result.check): \($0.result.evidence)" }
            failure(rollout, inputs.now, &s, "wave \(wave) is unhealthy: " + failed.joined(separator: "; "), verdicts: verdicts)
        case .pending:
            if inputs.now.seconds >= s.progress.since.seconds + Int64(health.deadline) {
                let pending = verdicts.filter { $0.status == .pending }.map { "\($0.result.check): \($0.result.evidence)" }
                failure(rollout, inputs.now, &s, "wave \(wave): health still pending after its deadline of \(DurationText.words(health.deadline)): " + pending.joined(separator: "; "), verdicts: verdicts)
            }
        case .passed:
            let why = verdicts.isEmpty ? "wave \(wave): no health checks configured; soak passed" : "wave \(wave) is healthy"
            let next = wave + 1
            if next >= rollout.plan.waves.count {
                finish(.completed, rollout, inputs.now, &s, "\(why); every wave is updated", verdicts: verdicts)
            } else if rollout.policy.approval == .everyWave {
                enter(.awaitingApproval, wave: next, rollout, inputs.now, &s, "\(why); waiting for approval of wave \(next)", verdicts: verdicts)
            } else {
                startWave(next, rollout, inputs.now, &s, because: why, verdicts: verdicts)
            }
        }
    }

    private static func rollingBack(_ rollout: Rollout, _ inputs: Inputs, _ s: inout Step) {
        let jobs = inputs.jobs.filter { $0.step == rollbackStep }
        let hosts = s.progress.touched
        let latest = Dictionary(jobs.map { ($0.host, $0) }, uniquingKeysWith: { a, b in a.id > b.id ? a : b })
        guard hosts.allSatisfy({ latest[$0]?.status.isFinished == true }) else { return }
        let failed = hosts.compactMap { latest[$0] }.filter { $0.status == .failed }
        if failed.isEmpty {
            finish(.rolledBack, rollout, inputs.now, &s,
                   "rolled back and verified: \(hosts.joined(separator: ", ")) \(hosts.count == 1 ? "is" : "are") in \(hosts.count == 1 ? "its" : "their") state from before the rollout")
        } else {
            finish(.halted, rollout, inputs.now, &s,
                   "rollback failed on " + failed.map { "\($0.host) (job \($0.id)): \($0.message ?? "no message")" }.joined(separator: "; ") + "; hosts left as they are")
        }
    }

    // MARK: - People

    public enum Action: Sendable, Hashable {
        case approve
        case pause
        case resume
        /// Stop; with `rollback`, return the changed hosts to their earlier states.
        case abort(rollback: Bool)
    }

    /// A person's action, checked against the phase: a `conflict` error says why it does not apply.
    public static func act(_ action: Action, _ rollout: Rollout, _ progress: RolloutProgress, by: String, now: Timestamp) throws(TidemarkError) -> Step {
        var s = Step(progress: progress, events: [], jobs: [], changed: true)
        guard !progress.phase.isFinished else {
            throw TidemarkError(.conflict, "rollout \(rollout.id) is \(progress.phase.rawValue); nothing to \(action.word)")
        }
        switch action {
        case .approve:
            guard progress.phase == .awaitingApproval else {
                throw TidemarkError(.conflict, "rollout \(rollout.id) is \(progress.phase.rawValue), not waiting for approval")
            }
            s.progress.approved.append(progress.wave)
            startWave(progress.wave, rollout, now, &s, because: "wave \(progress.wave) approved by \(by)", by: by)
        case .pause:
            guard !progress.paused else { throw TidemarkError(.conflict, "rollout \(rollout.id) is already paused") }
            s.progress.paused = true
            log(.`operator`, "paused by \(by): nothing advances until resume", by: by, now, &s)
        case .resume:
            guard progress.paused else { throw TidemarkError(.conflict, "rollout \(rollout.id) is not paused") }
            s.progress.paused = false
            log(.`operator`, "resumed by \(by)", by: by, now, &s)
        case .abort(let rollback):
            let reason = "aborted by \(by)"
            if rollback, !progress.touched.isEmpty {
                s.progress.paused = false
                rollBack(rollout, now, &s, reason, by: by)
            } else {
                finish(.aborted, rollout, now, &s, reason + (progress.touched.isEmpty ? "; no host was changed" : "; hosts left as they are"), by: by)
            }
        }
        return s
    }

    /// A waiver made or revoked: logged in the rollout's history (the next step uses it).
    public static func noteWaiver(_ waiver: Waiver, revoked: Bool, _ progress: RolloutProgress, by: String, now: Timestamp) -> RolloutEvent {
        let message = revoked
            ? "waiver \(waiver.id) for \(waiver.check) revoked by \(by)"
            : "waiver \(waiver.id) for \(waiver.check) by \(waiver.by) until \(waiver.expiresAt.iso8601): \(waiver.reason)"
        return RolloutEvent(at: now, kind: .waiver, message: message, by: by, progress: progress)
    }

    // MARK: - Transitions

    private static func startWave(_ wave: Int, _ rollout: Rollout, _ now: Timestamp, _ s: inout Step, because: String, verdicts: [GateVerdict] = [], by: String? = nil) {
        let plans = rollout.plan.waves[wave]
        for p in plans where !s.progress.touched.contains(p.host) { s.progress.touched.append(p.host) }
        s.jobs += plans.map { JobRequest(host: $0.host, kind: .apply, target: $0.to, step: applyStep(wave), command: nil, timeout: nil) }
        enter(.applying, wave: wave, rollout, now, &s,
              "\(because); wave \(wave): applying to \(plans.map(\.host).joined(separator: ", "))", verdicts: verdicts, by: by)
    }

    private static func healthJobs(_ rollout: Rollout, _ wave: Int) -> [JobRequest] {
        let hosts = waveHosts(rollout, wave) + baselineHosts(rollout, wave)
        return rollout.policy.health.commands.flatMap { c in
            hosts.compactMap { h in
                // A host runs the check in the state it is in: its target for the wave, its
                // starting state for the baseline.
                guard let plan = rollout.hostPlan(h) else { return nil }
                let target = waveHosts(rollout, wave).contains(h) ? plan.to : plan.from
                return JobRequest(host: h, kind: .check, target: target, step: healthStep(wave, c.name), command: c.command, timeout: c.timeout)
            }
        }
    }

    private static func failure(_ rollout: Rollout, _ now: Timestamp, _ s: inout Step, _ reason: String, verdicts: [GateVerdict] = []) {
        if rollout.policy.onFailure == .rollback, !s.progress.touched.isEmpty {
            rollBack(rollout, now, &s, reason, verdicts: verdicts)
        } else {
            let hosts = s.progress.touched.isEmpty ? "no host was changed" : "on-failure is halt: \(s.progress.touched.joined(separator: ", ")) left as they are"
            finish(.halted, rollout, now, &s, "halted: \(reason); \(hosts)", verdicts: verdicts)
        }
    }

    private static func rollBack(_ rollout: Rollout, _ now: Timestamp, _ s: inout Step, _ reason: String, verdicts: [GateVerdict] = [], by: String? = nil) {
        s.progress.outcome = reason
        s.jobs += s.progress.touched.compactMap { h in
            rollout.hostPlan(h).map { JobRequest(host: h, kind: .rollback, target: $0.from, step: rollbackStep, command: nil, timeout: nil) }
        }
        enter(.rollingBack, wave: s.progress.wave, rollout, now, &s,
              "\(reason); rolling back \(s.progress.touched.joined(separator: ", ")) from the archive", verdicts: verdicts, by: by)
        s.progress.outcome = reason
        s.events[s.events.count - 1].progress = s.progress
    }

    private static func finish(_ phase: RolloutProgress.Phase, _ rollout: Rollout, _ now: Timestamp, _ s: inout Step, _ message: String, verdicts: [GateVerdict] = [], by: String? = nil) {
        let cause = s.progress.outcome
        enter(phase, wave: s.progress.wave, rollout, now, &s, message, verdicts: verdicts, by: by)
        s.progress.outcome = phase == .rolledBack && cause != nil ? "\(cause!); \(message)" : message
        s.events[s.events.count - 1].progress = s.progress
    }

    private static func enter(_ phase: RolloutProgress.Phase, wave: Int, _ rollout: Rollout, _ now: Timestamp, _ s: inout Step, _ message: String, verdicts: [GateVerdict] = [], by: String? = nil) {
        s.progress.phase = phase
        s.progress.wave = wave
        s.progress.since = now
        log(.decision, message, verdicts: verdicts, by: by, now, &s)
    }

    private static func log(_ kind: RolloutEvent.Kind, _ message: String, verdicts: [GateVerdict] = [], by: String? = nil, _ now: Timestamp, _ s: inout Step) {
        s.changed = true
        s.events.append(RolloutEvent(at: now, kind: kind, message: message, verdicts: verdicts, by: by, progress: s.progress))
    }

    /// Judges `results` (a missing one is pending) under the waivers, stores the verdicts in the
    /// progress and logs each check whose status (or waiver) changed.
    private static func judge(_ names: [String], _ results: [CheckResult], _ inputs: Inputs, _ rollout: Rollout, _ s: inout Step) -> [GateVerdict] {
        names.map { name in
            let result = results.last { $0.check == name } ?? CheckResult(check: name, status: .pending, evidence: "not evaluated yet", at: inputs.now)
            let verdict = GateVerdict.judge(result, waivers: inputs.waivers, rollout: rollout.id, at: inputs.now)
            let old = s.progress.verdicts[name]
            s.progress.verdicts[name] = verdict
            if old?.status != verdict.status || old?.result.status != verdict.result.status || old?.waiver?.id != verdict.waiver?.id {
                var line = "\(name): \(verdict.result.status.rawValue): \(result.evidence)"
                if let w = verdict.waiver { line += " (passes under waiver \(w.id) by \(w.by) until \(w.expiresAt.iso8601): \(w.reason))" }
                log(.check, line, verdicts: [verdict], inputs.now, &s)
            } else if old != verdict {
                s.changed = true  // evidence moved on (counts); keep it current without a log line
            }
            return verdict
        }
    }
}

extension RolloutMachine.Action {
    var word: String {
        switch self {
        case .approve: "approve"
        case .pause: "pause"
        case .resume: "resume"
        case .abort: "abort"
        }
    }
}

/// Durations as people write them in policies and on the command line (`90`, `30s`, `5m`,
/// `1h30m`, `2d`, `1w`) and as log lines print them.
public enum DurationText {
    /// Seconds, or nil when `text` is not a duration. A bare number is seconds.
    public static func parse(_ text: String) -> Int? {
        if let n = Int(text), n >= 0 { return n }
        var total = 0, number = "", sawUnit = false
        for c in text {
            if c.isASCII, c.isNumber { number.append(c); continue }
            guard let n = Int(number), let size = ["s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800][String(c)] else { return nil }
            let (product, o1) = n.multipliedReportingOverflow(by: size)
            let (sum, o2) = total.addingReportingOverflow(product)
            guard !o1, !o2 else { return nil }
            total = sum
            number = ""
            sawUnit = true
        }
        return number.isEmpty && sawUnit ? total : nil
    }

    /// Seconds in words for log lines: `90` → `1m30s`, `3600` → `1h`.
    public static func words(_ seconds: Int) -> String {
        if seconds == 0 { return "0s" }
        var rest = seconds, out = ""
        for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] where rest >= size {
            out += "\(rest / size)\(unit)"
            rest %= size
        }
        return out
    }
}
