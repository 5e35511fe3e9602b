import Foundation
import Logging
import TidemarkClient
import TidemarkCore
import TidemarkHosts

/// The agent on a host: collect the package state, queue it durably, deliver the queue in order.
/// Unchanged states go out as heartbeats (a state id); the server asks for the full state when it
/// does not know it. While the server is unreachable, observations wait in the spool and go out
/// later, oldest first, with exponential backoff and jitter between attempts.
public struct Agent: Sendable {
    public struct Configuration: Sendable {
        public var root: String
        public var host: String
        public var spool: String
        public var interval: Duration
        /// Longest pause between delivery attempts while the server is down.
        public var maxBackoff: Duration
        /// Upload files of the zypp package cache that the server's archive lacks.
        public var uploadPackageCache: Bool
        public init(root: String, host: String, spool: String, interval: Duration, maxBackoff: Duration? = nil, uploadPackageCache: Bool = true) {
            self.uploadPackageCache = uploadPackageCache
            self.root = root
            self.host = host
            self.spool = spool
            self.interval = interval
            self.maxBackoff = maxBackoff ?? interval
        }
    }

    /// What one cycle did.
    public struct Report: Sendable, Codable {
        public var state: StateID
        public var changed: Bool
        public var backfilled: Int
        public var delivered: Int
        public var pending: Int
        /// Package files from the host's zypp cache uploaded to the archive.
        public var uploaded: Int = 0
        /// Jobs (rollbacks) run.
        public var jobs: Int = 0
        public var error: String?
    }

    public let configuration: Configuration
    public let client: TidemarkClient
    let logger: Logger

    public init(configuration: Configuration, client: TidemarkClient, logger: Logger = Logger(label: "tidemark.agent")) {
        self.configuration = configuration
        self.client = client
        self.logger = logger
    }

    /// Collects once and queues the observation (plus, on the very first run, the past from the
    /// package manager's log), then tries to deliver everything queued.
    public func cycle(now: Timestamp) async throws -> Report {
        let spool = try Spool(directory: configuration.spool)
        let boundary = try spool.backfillBoundary(default: now)
        let inventory = try HostCollector.collect(root: configuration.root)
        let observation = inventory.observation(host: configuration.host, at: now, source: .agent)
        let lastQueued = try spool.pending().last.flatMap { try? spool.read($0).state }
        let known = lastQueued ?? spool.acknowledged
        let changed = known != observation.state.id
        try spool.enqueue(observation, heartbeat: !changed)

        var backfilled = 0
        var failure: String? = nil
        if !spool.isBackfilled {
            do {
                backfilled = try await backfill(inventory, before: boundary)
                try spool.markBackfilled()
            } catch {
                failure = "backfill not delivered yet (retried next cycle): \(error)"
            }
        }
        var delivered = 0, uploaded = 0, jobs = 0
        do {
            delivered = try await deliver(spool)
            if configuration.uploadPackageCache { uploaded = try await uploadCachedPackages(spool: spool) }
            // A job's observation comes after this cycle's, even within the same second: one
            // host has one state per second.
            jobs = try await runJobs(spool: spool, now: { Timestamp(seconds: max(Int64(Date().timeIntervalSince1970), now.seconds + 1)) })
        } catch {
            failure = "\(error)"
        }
        return Report(
            state: observation.state.id, changed: changed, backfilled: backfilled, delivered: delivered, pending: try spool.pending().count,
            uploaded: uploaded, jobs: jobs, error: failure)
    }

    /// Sends every queued entry in order; stops at the first failure (the rest stays queued). A
    /// changed state goes as what changed since the state the server acknowledged last, when the
    /// spool still has that one (the whole state if the server does not know it).
    public func deliver(_ spool: Spool) async throws -> Int {
        var delivered = 0
        for entry in try spool.pending() {
            var payload = try spool.read(entry)
            if payload.packages != nil {
                try spool.keep(payload)
                if let acked = spool.acknowledged, let base = try spool.keptPayload(acked), let delta = payload.delta(against: base) {
                    if case .recorded = try await client.post(delta) {
                        try spool.setAcknowledged(payload.state)
                        try spool.remove(entry)
                        delivered += 1
                        continue
                    }
                }
            }
            if case .unknownState = try await client.post(payload) {
                guard let full = try spool.fullPayload(for: payload) else {
                    throw TidemarkError(.storage, "the server does not know state \(payload.state.short) and the spool has no copy of it")
                }
                payload = full
                _ = try await client.post(full)
            }
            try spool.setAcknowledged(payload.state)
            try spool.remove(entry)
            delivered += 1
        }
        return delivered
    }

    /// The host's past from its package-manager log, sent straight to the server oldest first.
    /// It is not spooled: it can always be read again from the log, so a failure only means the
    /// next cycle tries again (the server ignores what it already has).
    func backfill(_ inventory: HostInventory, before boundary: Timestamp) async throws -> Int {
        var timeline = ReplayTimeline()
        _ = try HostBackfill.walkBack(root: configuration.root, current: inventory, at: Timestamp(seconds: Int64(Date().timeIntervalSince1970)), logTimeZone: nil) { at, packages in
            if at < boundary { timeline.visit(at, packages) }
        }
        var sent = 0
        let host = configuration.host
        let changelogs = inventory.changelogs
        try await timeline.replay { at, packages in
            var times: [String: Int64] = [:]
            for p in packages { if let t = p.installTime { times[p.package.identityKey] = t } }
            let o = Observation(host: host, at: at, state: PackageState(packages.map(\.package)), source: .backfill,
                                repositories: nil, installTimes: times, changelogs: changelogs)
            _ = try await client.post(ObservationPayload(o, full: true))
            sent += 1
        }
        return sent
    }

    /// Runs cycles every `interval` until cancelled. Between failed deliveries it backs off
    /// exponentially (1 s, 2 s, 4 s … up to `maxBackoff`) with full jitter, so a fleet returning
    /// after a server outage does not arrive all at once.
    public func run(now: @Sendable () -> Timestamp) async {
        var failures = 0
        var nextCollect = ContinuousClock.now
        while !Task.isCancelled {
            if ContinuousClock.now >= nextCollect {
                nextCollect = ContinuousClock.now + configuration.interval
                do {
                    let r = try await cycle(now: now())
                    log(r)
                    failures = r.error == nil ? 0 : failures + 1
                } catch {
                    logger.error("collection failed: \(error)")
                    failures += 1
                }
            } else if failures > 0 {
                do {
                    let delivered = try await deliver(try Spool(directory: configuration.spool))
                    logger.info("delivered \(delivered) spooled observation(s)")
                    failures = 0
                } catch {
                    failures += 1
                    logger.warning("delivery failed (\(failures) in a row): \(error)")
                }
            }
            let backoff = failures == 0 ? nil : Agent.backoff(failures: failures, max: configuration.maxBackoff)
            let untilCollect = nextCollect - ContinuousClock.now
            let pause = backoff.map { min($0, untilCollect) } ?? untilCollect
            try? await Task.sleep(for: max(pause, .milliseconds(10)))
        }
    }

    /// Full-jitter exponential backoff: uniform in [0, min(max, 2^failures s)].
    public static func backoff(failures: Int, max: Duration) -> Duration {
        let cap = min(Double(max.components.seconds), pow(2, Double(min(failures, 30))))
        return .milliseconds(Int64(Double.random(in: 0...cap) * 1000))
    }

    func log(_ r: Report) {
        let what = "state \(r.state.short)\(r.changed ? " (changed)" : ""), delivered \(r.delivered), pending \(r.pending)\(r.backfilled > 0 ? ", backfilled \(r.backfilled)" : "")\(r.uploaded > 0 ? ", uploaded \(r.uploaded) package(s)" : "")\(r.jobs > 0 ? ", ran \(r.jobs) job(s)" : "")"
        if let e = r.error { logger.warning("\(what): \(e)") } else { logger.info("\(what)") }
    }
}
