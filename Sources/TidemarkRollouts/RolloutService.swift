import Foundation
import TidemarkCore
import TidemarkStore

/// Everything people do with rollouts, over one store: create, act (approve, pause, resume,
/// abort), waive and revoke, and the views (status, log, explain). The server's routes call it.
public struct RolloutService: Sendable {
    public let store: any RolloutStore
    public let planner: RolloutPlanner

    public init(store: any RolloutStore, planner: RolloutPlanner) {
        self.store = store
        self.planner = planner
    }

    public func stored(_ id: Int64) async throws -> StoredRollout {
        guard let s = try await store.rollout(id: id) else { throw TidemarkError(.notFound, "no rollout with id \(id)") }
        return s
    }

    public func status(_ id: Int64) async throws -> RolloutStatus {
        let s = try await stored(id)
        return RolloutStatus.make(s.rollout, progress: s.progress, jobs: try await store.jobs(rollout: id), waivers: try await store.waivers(rollout: id), at: nil)
    }

    public func list() async throws -> [RolloutStatus] {
        var out: [RolloutStatus] = []
        for s in try await store.rollouts(activeOnly: false) {
            out.append(RolloutStatus.make(s.rollout, progress: s.progress, jobs: [], waivers: [], at: nil))
        }
        return out
    }

    /// The rollout as it stood at `at`: the progress after the last log line by then, the jobs
    /// created by then (with what had happened to them by then), the waivers that existed then.
    public func explain(_ id: Int64, at: Timestamp) async throws -> (status: RolloutStatus, events: [RolloutEvent]) {
        let s = try await stored(id)
        guard at >= s.rollout.createdAt else {
            throw TidemarkError(.notFound, "--at \(at.iso8601): rollout \(id) was created at \(s.rollout.createdAt.iso8601), after that time")
        }
        let events = try await store.events(rollout: id, until: at)
        let progress = events.last?.progress ?? s.progress
        let jobs = try await store.jobs(rollout: id).filter { $0.createdAt <= at }.map { j -> HostJob in
            var j = j
            if let f = j.finishedAt, f > at { j.status = .running; j.finishedAt = nil; j.message = nil; j.output = nil; j.resultState = nil }
            if let st = j.startedAt, st > at { j.status = .pending; j.startedAt = nil }
            return j
        }
        let waivers = try await store.waivers(rollout: id).filter { $0.createdAt <= at }.map { w -> Waiver in
            var w = w
            if let r = w.revokedAt, r > at { w.revokedAt = nil }
            return w
        }
        return (RolloutStatus.make(s.rollout, progress: progress, jobs: jobs, waivers: waivers, at: at), events)
    }

    public func log(_ id: Int64) async throws -> [RolloutEvent] {
        _ = try await stored(id)
        return try await store.events(rollout: id, until: nil)
    }

    /// A person's action, applied to the current version (retried if the driver wrote meanwhile).
    public func act(_ id: Int64, _ action: RolloutMachine.Action, by: String, now: Timestamp) async throws -> RolloutStatus {
        for _ in 0..<5 {
            let s = try await stored(id)
            let step = try RolloutMachine.act(action, s.rollout, s.progress, by: by, now: now)
            do {
                _ = try await store.advance(rollout: id, expectedVersion: s.version, progress: step.progress, events: step.events, jobs: step.jobs, now: now)
                return try await status(id)
            } catch let e as TidemarkError where e.code == .conflict {
                continue
            }
        }
        throw TidemarkError(.conflict, "rollout \(id) kept changing; try again")
    }

    public func waive(_ id: Int64, check: String, reason: String, by: String, expiresAt: Timestamp, now: Timestamp) async throws -> Waiver {
        let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw TidemarkError(.invalidArgument, "--reason: a waiver needs a reason people can read later") }
        guard expiresAt > now else { throw TidemarkError(.invalidArgument, "--expires \(expiresAt.iso8601) is not in the future") }
        let s = try await stored(id)
        guard !s.progress.phase.isFinished else { throw TidemarkError(.conflict, "rollout \(id) is \(s.progress.phase.rawValue); a waiver cannot change it any more") }
        return try await store.createWaiver(rollout: id, check: check, reason: trimmed, by: by, expiresAt: expiresAt, now: now)
    }

    public func revoke(waiver id: Int64, by: String, now: Timestamp) async throws -> Waiver {
        try await store.revokeWaiver(id: id, by: by, now: now)
    }
}

/// `RolloutOperations` on a store, acting as `by`: what the server does for a request, and what
/// the CLI does without `--server`.
public struct LocalRollouts: RolloutOperations {
    public let service: RolloutService
    public let by: String
    public let now: @Sendable () -> Timestamp
    /// Told when a waiver changes, so cached check results are looked at again.
    public let waiverChanged: @Sendable (Int64) -> Void

    public init(service: RolloutService, by: String, now: @escaping @Sendable () -> Timestamp, waiverChanged: @escaping @Sendable (Int64) -> Void = { _ in }) {
        self.service = service
        self.by = by
        self.now = now
        self.waiverChanged = waiverChanged
    }

    public func createRollout(_ request: RolloutRequest) async throws -> RolloutCreated {
        let stored = try await service.planner.create(request, by: by, now: now())
        let dry = request.dryRun == true
        let status = dry ? RolloutStatus.make(stored.rollout, progress: stored.progress, jobs: [], waivers: [], at: nil) : try await service.status(stored.rollout.id)
        return RolloutCreated(rollout: status, plan: stored.rollout.plan, dryRun: dry)
    }
    public func rollouts() async throws -> [RolloutStatus] { try await service.list() }
    public func rollout(_ id: Int64) async throws -> RolloutStatus { try await service.status(id) }
    public func rolloutLog(_ id: Int64) async throws -> [RolloutEvent] { try await service.log(id) }
    public func explainRollout(_ id: Int64, at: String) async throws -> RolloutExplanation {
        let t = try TimeSpec.parse(at).resolve(now: now())
        let (status, events) = try await service.explain(id, at: t)
        return RolloutExplanation(rollout: status, events: events)
    }
    public func act(_ id: Int64, _ action: RolloutMachine.Action) async throws -> RolloutStatus {
        try await service.act(id, action, by: by, now: now())
    }
    public func waive(_ id: Int64, check: String, reason: String, expires: String) async throws -> Waiver {
        let t = now()
        let expiresAt: Timestamp
        if let seconds = DurationText.parse(expires) {
            guard Int64(seconds) <= Timestamp.supported.upperBound - t.seconds else {
                throw TidemarkError(.invalidArgument, "expires: '\(expires.prefix(40))' ends after the year 9999")
            }
            expiresAt = Timestamp(seconds: t.seconds + Int64(seconds))
        } else {
            do { expiresAt = try TimeSpec.parse(expires).resolve(now: t) } catch {
                throw TidemarkError(.invalidArgument, "expires: \(error.message) (or a duration from now such as 2h or 3d)")
            }
        }
        let w = try await service.waive(id, check: check, reason: reason, by: by, expiresAt: expiresAt, now: t)
        waiverChanged(id)
        return w
    }
    public func revokeWaiver(_ id: Int64) async throws -> Waiver {
        let w = try await service.revoke(waiver: id, by: by, now: now())
        waiverChanged(w.rollout)
        return w
    }
    public func waivers(_ id: Int64) async throws -> [Waiver] {
        _ = try await service.stored(id)
        return try await service.store.waivers(rollout: id)
    }
    public func setLabel(host: String, key: String, value: String?) async throws -> [String: String] {
        try HostLabel.validate(key: key, value: value)
        try await service.store.setLabel(host: host, key: key, value: value)
        return try await service.store.labels()[host] ?? [:]
    }
    public func labels() async throws -> [String: [String: String]] { try await service.store.labels() }
}
