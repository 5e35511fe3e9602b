import Foundation
import Logging
import Synchronization
import TidemarkCore
import TidemarkStore

/// Evaluates what `RolloutMachine` needs from the outside world: the required checks, and the
/// openQA health of a wave. Behind a protocol so the driver is the same whatever runs the checks.
public protocol CheckEvaluating: Sendable {
    func evaluate(_ check: CheckSpec, rollout: Rollout, now: Timestamp) async -> CheckResult
    func openQAHealth(_ health: OpenQAHealth, rule: HealthComparison.Rule, waveHosts: [String], baselineHosts: [String], since: Timestamp, now: Timestamp) async -> CheckResult
}

/// The server's loop that moves rollouts on: every tick, for each unfinished rollout whose lease
/// it holds (or can take, when the holder stopped renewing it), it gathers the inputs, lets
/// `RolloutMachine` decide, and writes the step in one transaction that fails if anyone else
/// wrote first. So with several servers on one database exactly one drives a rollout at a time,
/// another takes over within `leaseSeconds` of its death, and a restarted server continues
/// exactly where the database says the rollout is.
public final class RolloutDriver: Sendable {
    public let store: any RolloutStore
    public let evaluator: any CheckEvaluating
    /// This server process (`host:pid:random`): the lease holder's name.
    public let owner: String
    public let leaseSeconds: Int64
    /// Required checks are evaluated at most this often per rollout (a command or an openQA query
    /// every tick would be load for nothing).
    public let checkInterval: Int64
    let now: @Sendable () -> Timestamp
    let logger: Logger
    private let cache = Mutex<[String: CheckResult]>([:])

    public init(
        store: any RolloutStore, evaluator: any CheckEvaluating, owner: String? = nil, leaseSeconds: Int64 = 30, checkInterval: Int64 = 15,
        logger: Logger, now: @escaping @Sendable () -> Timestamp
    ) {
        self.store = store
        self.evaluator = evaluator
        self.owner = owner ?? Self.processName()
        self.leaseSeconds = leaseSeconds
        self.checkInterval = checkInterval
        self.logger = logger
        self.now = now
    }

    static func processName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        let host = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(host):\(getpid()):\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
    }

    /// Ticks every `interval` until the task is cancelled, then hands its leases back.
    public func run(interval: Duration) async {
        while !Task.isCancelled {
            await tick()
            try? await Task.sleep(for: interval)
        }
        try? await store.releaseLeases(owner: owner)
    }

    /// One pass over every unfinished rollout. Errors are logged; the next tick tries again.
    public func tick() async {
        let active: [StoredRollout]
        do { active = try await store.rollouts(activeOnly: true) } catch {
            logger.error("rollouts: cannot list", metadata: ["error": "\(Self.text(error))"])
            return
        }
        for stored in active {
            do { try await drive(stored.rollout.id) } catch {
                logger.error("rollout step failed", metadata: ["rollout": "\(stored.rollout.id)", "error": "\(Self.text(error))"])
            }
        }
    }

    /// Takes the lease, then makes at most a few steps (a step that only created jobs is followed
    /// at once by the next tick's, not spun here).
    public func drive(_ id: Int64) async throws {
        let t = now()
        guard try await store.lease(rollout: id, owner: owner, now: t, until: Timestamp(seconds: t.seconds + leaseSeconds)) else { return }
        guard let stored = try await store.rollout(id: id), !stored.progress.phase.isFinished, !stored.progress.paused else { return }
        let rollout = stored.rollout
        let needs = RolloutMachine.needs(rollout, stored.progress)
        var inputs = RolloutMachine.Inputs(now: t)
        if needs.required {
            for spec in rollout.policy.required { inputs.required.append(await cached(spec, rollout: rollout, now: t)) }
        }
        if let h = needs.openQAHealth, let health = rollout.policy.health.openQA {
            inputs.health.append(await evaluator.openQAHealth(
                health, rule: rollout.policy.health.rule, waveHosts: h.waveHosts, baselineHosts: h.baselineHosts, since: h.since, now: t))
        }
        inputs.jobs = try await store.jobs(rollout: id)
        inputs.waivers = try await store.waivers(rollout: id)
        let step = RolloutMachine.step(rollout, stored.progress, inputs)
        guard step.changed else { return }
        do {
            _ = try await store.advance(rollout: id, expectedVersion: stored.version, progress: step.progress, events: step.events, jobs: step.jobs, now: t)
        } catch let e as TidemarkError where e.code == .conflict {
            // Someone (a person, another server after our lease lapsed) wrote first: the next
            // tick starts from what they wrote.
            logger.info("rollout changed meanwhile; step dropped", metadata: ["rollout": "\(id)"])
            return
        }
        for e in step.events {
            logger.info("rollout \(id): \(e.message)", metadata: ["rollout": "\(id)", "phase": "\(e.progress.phase.rawValue)", "kind": "\(e.kind.rawValue)"])
        }
    }

    /// A required check's result, re-evaluated once `checkInterval` has passed.
    private func cached(_ spec: CheckSpec, rollout: Rollout, now t: Timestamp) async -> CheckResult {
        let key = "\(rollout.id)/\(spec.name)"
        if let r = cache.withLock({ $0[key] }), t.seconds - r.at.seconds < checkInterval { return r }
        let r = await evaluator.evaluate(spec, rollout: rollout, now: t)
        cache.withLock { $0[key] = r }
        return r
    }

    /// Forgets cached check results of a rollout (a waiver or a person asked to look again).
    public func forget(rollout id: Int64) {
        cache.withLock { c in c = c.filter { !$0.key.hasPrefix("\(id)/") } }
    }

    static func text(_ error: any Error) -> String { (error as? TidemarkError)?.message ?? "\(error)" }
}
