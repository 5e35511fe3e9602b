import Logging
import TidemarkCore
import TidemarkCulprits
import TidemarkRollouts
// Hummingbird's own service machinery (it runs the HTTP server as a Service in a ServiceGroup).
import ServiceLifecycle

/// Scheduled mirroring (`--mirror-interval`): right after start, then every interval, every
/// repository the fleet's hosts have configured is mirrored into the archive, so a build is
/// kept the moment it is published, before any host installs it. Runs beside the HTTP server
/// in the application's service group: a graceful shutdown (SIGTERM) cancels a round in
/// progress (what was archived stays archived: each file is recorded only once it is on disk).
struct MirrorSchedule: Service {
    let server: TidemarkServer
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await server.mirrorFleetRepositories(logger: logger)
                try? await Task.sleep(for: interval)
            }
        }
    }
}

/// The rollout driver's loop as a service: stops with the server and hands its leases back, so
/// another server takes its rollouts over at once instead of after the lease runs out.
struct RolloutSchedule: Service {
    let driver: RolloutDriver
    let interval: Duration

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await driver.run(interval: interval)
        }
    }
}

/// Scheduled signal import (`--openqa-signals URL`): right after start, then every interval,
/// the jobs openQA finished since the last round (with an overlap; importing a job twice stores
/// it once) become signals, so `suspects` answers from fresh evidence without a cron job.
struct SignalImportSchedule: Service {
    let server: TidemarkServer
    let source: OpenQASignalSource
    let interval: Duration
    /// How far back the first round reads.
    let lookback: Int64
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var since = Timestamp(seconds: server.configuration.now().seconds - lookback)
            while !Task.isCancelled {
                let started = server.configuration.now()
                do {
                    let (signals, jobs) = try await source.fetch(since: since)
                    let result = try await server.culprits.recordSignals(signals, now: server.configuration.now())
                    logger.info("openQA signals imported", metadata: [
                        "openqa": "\(source.url)", "jobs": "\(jobs)", "recorded": "\(result.recorded)", "duplicates": "\(result.duplicates)",
                    ])
                    // the next round overlaps this one by an interval: jobs finishing as it ran
                    since = Timestamp(seconds: started.seconds - max(60, Int64(interval.components.seconds)))
                } catch {
                    logger.warning("openQA signal import failed", metadata: ["openqa": "\(source.url)", "error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
