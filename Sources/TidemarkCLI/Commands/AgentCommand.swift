import ArgumentParser
import Foundation
import Logging
import TidemarkAgent
import TidemarkClient
import TidemarkCore

struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Report this host's packages to a Tidemark server, every interval, losing nothing.",
        discussion: """
            Each cycle collects the host's state and queues it in the spool (written durably before \
            anything is sent), then delivers the queue in order. An unchanged state is sent as a \
            heartbeat (its id only). While the server cannot be reached, observations wait in the \
            spool and are delivered later, oldest first, with exponential backoff and jitter. The \
            first run also sends the host's past, reconstructed from zypp history or dpkg.log. \
            After delivering, it uploads package files of the zypp package cache that the server's \
            archive lacks, and runs the jobs the server has for this host (`tidemark rollback \
            HOST --server URL`): zypper from the server's archive, then the new state is reported. \
            With --once: one cycle (for cron, timers and salt), exit status 0 when the observation \
            is safely spooled, even if the server was unreachable (it goes out next time).
            """)

    @Option(help: "Tidemark server URL (default: $TIDEMARK_SERVER).") var server: String?
    @Option(help: "File holding this host's token (tidemark token create --host NAME).") var tokenFile: String?
    @Option(help: "Root directory of the host.") var root: String = "/"
    @Option(help: "Host name to report as (default: this machine's hostname).") var host: String?
    @Option(help: "Time between collections: 30s, 5m, 1h.") var interval: String = "5m"
    @Option(help: "Spool directory (default: /var/spool/tidemark as root, else ~/.local/state/tidemark/spool).") var spool: String?
    @Flag(help: "Don't upload package files of the zypp package cache that the server's archive lacks.") var noUploadPackageCache = false
    @Flag(help: "Run one cycle and exit.") var once = false
    @Flag(help: "Print the cycle's report as JSON (with --once).") var json = false

    func run() async throws {
        try await reportingErrors {
            let url = server ?? ProcessInfo.processInfo.environment["TIDEMARK_SERVER"]
            guard let url, !url.isEmpty else { throw TidemarkError(.invalidArgument, "give --server URL (or set TIDEMARK_SERVER)") }
            let token = try ServerOptions(server: url, tokenFile: tokenFile).token()
            let hostName = host ?? ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "localhost"
            try Observation.validateHostName(hostName)
            let every = try AgentCommand.parseDuration(interval)
            let spoolDir = spool ?? (getuid() == 0 ? "/var/spool/tidemark" : NSHomeDirectory() + "/.local/state/tidemark/spool")
            let client = try TidemarkClient(baseURL: url, token: token)
            let agent = Agent(
                configuration: .init(root: root, host: hostName, spool: spoolDir, interval: every, uploadPackageCache: !noUploadPackageCache),
                client: client)
            if once {
                let report: Agent.Report
                do { report = try await agent.cycle(now: Clock.now()) } catch {
                    await client.shutdown()
                    throw error
                }
                await client.shutdown()
                if json { return try Output.json(report) }
                Output.line("\(hostName): state \(report.state.short)\(report.changed ? " (changed)" : ""), delivered \(report.delivered), pending \(report.pending)\(report.backfilled > 0 ? ", backfilled \(report.backfilled)" : "")")
                if let e = report.error { Output.warn("tidemark: \(e)") }
                return
            }
            // SIGTERM/SIGINT end the loop between cycles; the spool keeps whatever is undelivered.
            let task = Task { await agent.run(now: { Clock.now() }) }
            let signals = [SIGTERM, SIGINT].map { sig -> DispatchSourceSignal in
                signal(sig, SIG_IGN)
                let s = DispatchSource.makeSignalSource(signal: sig)
                s.setEventHandler { task.cancel() }
                s.resume()
                return s
            }
            await task.value
            signals.forEach { $0.cancel() }
            await client.shutdown()
        }
    }

    /// `30s`, `5m`, `1h`, `1d` (a bare number is seconds; `DurationText`).
    static func parseDuration(_ text: String) throws(TidemarkError) -> Duration {
        guard let n = DurationText.parse(text.trimmed), n > 0 else {
            throw TidemarkError(.invalidArgument, "--interval '\(text)' is not a duration: use 30s, 5m, 1h or 1d")
        }
        return .seconds(n)
    }
}

extension ServerOptions {
    init(server: String?, tokenFile: String?) {
        self.init()
        self.server = server
        self.tokenFile = tokenFile
    }
}
