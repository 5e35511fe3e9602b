import Foundation
import TidemarkArchive
import TidemarkClient
import TidemarkCore
import TidemarkHosts
import TidemarkRollouts

extension Agent {
    /// Runs the host's pending jobs (rollbacks, a rollout's transactions and health checks), oldest first: claim, run, spool and deliver the
    /// state the host is in afterwards, post the result. A job that cannot run (a package
    /// missing from the archive, not an rpm host) is finished as failed with the reason.
    func runJobs(spool: Spool, now clock: @escaping @Sendable () -> Timestamp) async throws -> Int {
        var done = 0
        // One host has one state per second: a job's observation comes after the previous job's,
        // even when both finish within the same second (an apply, then the rollout's rollback).
        var lastObserved = Int64.min
        for pending in try await client.pendingJobs(host: configuration.host) {
            let floor = lastObserved
            let now: @Sendable () -> Timestamp = { Timestamp(seconds: floor == Int64.min ? clock().seconds : max(clock().seconds, floor + 1)) }
            let job: HostJob
            do { job = try await client.claimJob(pending.id) } catch let e as TidemarkError where e.code == .conflict { continue }
            logger.info("job \(job.id): \(job.kind.rawValue) to state \(job.target.short)\(job.dryRun ? " (dry run)" : "")")
            if job.kind == .check {
                let result = await check(job, now: now)
                _ = try await client.finishJob(job.id, succeeded: result.status == .passed, resultState: nil, message: result.evidence, output: nil)
                logger.info("job \(job.id) (\(job.step ?? "check")): \(result.status.rawValue): \(result.evidence)")
                done += 1
                continue
            }
            do {
                let (report, observedAt) = try await rollback(job, spool: spool, now: now)
                if let observedAt { lastObserved = max(lastObserved, observedAt.seconds) }
                let ok = report.status != .failed
                _ = try await client.finishJob(job.id, succeeded: ok, resultState: report.after ?? report.before, message: report.message, output: report.output)
                logger.info("job \(job.id) \(ok ? "succeeded" : "failed"): \(report.message)")
            } catch {
                let message = (error as? TidemarkError)?.message ?? "\(error)"
                _ = try await client.finishJob(job.id, succeeded: false, resultState: nil, message: message, output: nil)
                logger.warning("job \(job.id) failed: \(message)")
            }
            done += 1
        }
        return done
    }

    /// A rollout's health command on this host: `/bin/sh -c`, with the host's root and name in
    /// the environment, passed by exit 0 within its timeout.
    private func check(_ job: HostJob, now: @Sendable () -> Timestamp) async -> CheckResult {
        guard let command = job.command else {
            return CheckResult(check: job.step ?? "check", status: .failed, evidence: "job \(job.id) has no command", at: now())
        }
        var env = ProcessInfo.processInfo.environment
        env["TIDEMARK_ROOT"] = configuration.root
        env["TIDEMARK_HOST"] = configuration.host
        env["TIDEMARK_JOB"] = String(job.id)
        if let r = job.rollout { env["TIDEMARK_ROLLOUT"] = String(r) }
        return await CommandCheckRunner().run(CommandCheck(command: command, timeout: job.timeout ?? 300), name: job.step ?? "check", environment: env, now: now())
    }

    /// Runs the transaction; returns its report and the time of the observation it recorded.
    private func rollback(_ job: HostJob, spool: Spool, now: @Sendable () -> Timestamp) async throws -> (RollbackReport, Timestamp?) {
        let target = try await client.jobTarget(job.id).packages.map { $0.package(format: .rpm) }
        let work = configuration.spool + "/job-\(job.id)"
        defer { try? FileManager.default.removeItem(atPath: work) }
        let client = self.client
        let (report, observation) = try await HostRollback.run(
            root: configuration.root, host: configuration.host, target: target, targetID: job.target, dryRun: job.dryRun, work: work,
            source: .agent, now: now
        ) { packages, directory in
            // The needed files from the server's archive, checked and made into a local repository.
            try await PackageArchive.fetchedRepository(
                for: packages, available: try await client.archivedFiles(), fetch: { try await client.downloadPackage($0) }, to: directory, now: now())
        }
        if let observation {
            try spool.enqueue(observation, heartbeat: false)
            _ = try await deliver(spool)
        }
        return (report, observation?.at)
    }
}
