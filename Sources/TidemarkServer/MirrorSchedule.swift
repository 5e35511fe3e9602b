import Logging
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
