import ArgumentParser
import Foundation
import Logging
import TidemarkCore
import TidemarkCulprits
import TidemarkServer
import TidemarkStore

/// `tidemark server`: the HTTP API the fleet's agents report to and `--server` clients read from.
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Serve the HTTP API (observations, imports, queries, tokens, archive, repositories, jobs, /metrics, /openapi.json).",
        discussion: """
            Listens on 127.0.0.1:8795 by default: put it behind a TLS-terminating reverse proxy \
            (nginx, haproxy) to serve a fleet. Every /api/v1 call needs `Authorization: Bearer \
            TOKEN` (or HTTP basic authentication with the token as password and any user name); \
            make the first admin token with `tidemark token create --role admin` on the same \
            database. /healthz, /metrics and /openapi.json need no token. Logs one line per \
            request to stderr (LOG_LEVEL=debug|info|warning). SIGTERM or SIGINT: stops accepting, \
            finishes the requests in flight, stops mirroring, exits 0.

            The package archive (--archive DIR, records in the same database) is served as rpm-md \
            repositories zypper installs from: everything archived at \
            http://tidemark:TOKEN@HOST:PORT/api/v1/repos/all/ and exactly one recorded state at \
            …/api/v1/repos/state/STATE-ID/ (a reader, admin or host token). Packages come in by \
            upload (POST /api/v1/archive/files, up to --max-upload), by POST \
            /api/v1/archive/mirror, and every --mirror-interval (default 1h, 0: never) the server \
            mirrors each enabled repository the fleet's hosts have configured (as of their latest \
            observations). Rollbacks reach hosts as jobs their agents claim \
            (POST /api/v1/hosts/HOST/jobs).
            """)

    @OptionGroup var store: StoreOptions
    @OptionGroup var archive: ArchiveOptions

    @Option(help: ArgumentHelp("Address and port to listen on (IPv6 as [::1]:8795).", valueName: "host:port"))
    var listen: String = "127.0.0.1:8795"

    @Option(help: ArgumentHelp("Largest accepted request body, in bytes or with K, M, G (default 64M).", valueName: "size"))
    var maxBody: String = "64M"

    @Option(help: ArgumentHelp("Seconds a client has to send its whole request body.", valueName: "seconds"))
    var requestTimeout: Int = 300

    @Option(help: ArgumentHelp("Seconds an idle keep-alive connection stays open.", valueName: "seconds"))
    var idleTimeout: Int = 75

    @Option(help: ArgumentHelp("Count a host as stale (tidemark_hosts_stale) when its last observation is older than this many seconds; default: older than twice the median gap of its last 10 observations.", valueName: "seconds"))
    var staleAfter: Int64?

    @Option(help: ArgumentHelp("How often to mirror every repository the fleet's hosts have configured into the archive: 90s, 30m, 1h, 1d; 0: never.", valueName: "interval"))
    var mirrorInterval: String = "1h"

    @Option(help: ArgumentHelp("Largest accepted package upload, in bytes or with K, M, G.", valueName: "size"))
    var maxUpload: String = "2G"

    @Option(help: ArgumentHelp("Seconds a found token is trusted before the database is asked again; a token revoked through another server process stops within this time (0: ask on every request).", valueName: "seconds"))
    var tokenCache: Int = 5

    @Option(help: ArgumentHelp("How often this server moves its rollouts on (checks, waves, health, rollback): 1s, 5s, 1m; 0: it drives none (another server on the same database does).", valueName: "interval"))
    var rolloutInterval: String = "5s"

    @Option(help: ArgumentHelp("Seconds a server's lease on a rollout lasts without renewal; another server takes the rollout over this long after this one stops.", valueName: "seconds"))
    var rolloutLease: Int = 30

    @Option(help: ArgumentHelp("Seconds between two evaluations of one required check of a rollout (an openQA query, a command, an HTTP request).", valueName: "seconds"))
    var checkInterval: Int = 15

    @Option(help: ArgumentHelp("Import this openQA's finished jobs as signals on a schedule (repeat for several instances).", valueName: "url"))
    var openqaSignals: [String] = []

    @Option(help: ArgumentHelp("With --openqa-signals: only failures whose reason matches this regular expression count.", valueName: "regex"))
    var openqaReason: String?

    @Option(help: ArgumentHelp("With --openqa-signals: the API key and secret (default: $TIDEMARK_OPENQA_APIKEY, $TIDEMARK_OPENQA_APISECRET; none: anonymous reads).", valueName: "key"))
    var openqaApikey: String?
    @Option(help: ArgumentHelp("See --openqa-apikey.", valueName: "secret"))
    var openqaApisecret: String?

    @Option(help: ArgumentHelp("How often to import openQA signals: 1m, 5m, 1h.", valueName: "interval"))
    var signalInterval: String = "5m"

    func signalSources() throws -> [OpenQASignalSource] {
        let env = ProcessInfo.processInfo.environment
        let key = openqaApikey ?? env["TIDEMARK_OPENQA_APIKEY"], secret = openqaApisecret ?? env["TIDEMARK_OPENQA_APISECRET"]
        return try openqaSignals.map { try OpenQASignalSource(url: $0, apiKey: key, apiSecret: secret, reason: openqaReason) }
    }

    func validate() throws {
        do { _ = try signalSources() } catch let e as TidemarkError { throw ValidationError(e.message) }
        guard try Self.parseInterval(signalInterval, option: "--signal-interval") != nil else { throw ValidationError("--signal-interval must be positive") }
        _ = try Self.parseListen(listen)
        _ = try Self.parseSize(maxBody)
        _ = try Self.parseSize(maxUpload, option: "--max-upload")
        _ = try Self.parseInterval(mirrorInterval)
        _ = try Self.parseInterval(rolloutInterval, option: "--rollout-interval")
        guard rolloutLease > 0, checkInterval > 0 else { throw ValidationError("--rollout-lease and --check-interval must be positive") }
        guard requestTimeout > 0, idleTimeout > 0 else { throw ValidationError("--request-timeout and --idle-timeout must be positive") }
        guard tokenCache >= 0 else { throw ValidationError("--token-cache must be 0 or more seconds") }
        if let staleAfter, staleAfter <= 0 { throw ValidationError("--stale-after must be positive") }
    }

    func run() async throws {
        try await reportingErrors {
            var config = ServerConfiguration()
            (config.host, config.port) = try Self.parseListen(listen)
            config.maxBody = try Self.parseSize(maxBody)
            config.requestTimeout = .seconds(requestTimeout)
            config.idleTimeout = .seconds(idleTimeout)
            config.staleAfter = staleAfter
            config.maxUpload = try Self.parseSize(maxUpload, option: "--max-upload")
            config.mirrorInterval = try Self.parseInterval(mirrorInterval)
            config.tokenCacheTTL = .seconds(tokenCache)
            config.rolloutInterval = try Self.parseInterval(rolloutInterval, option: "--rollout-interval")
            config.rolloutLease = Int64(rolloutLease)
            config.checkInterval = Int64(checkInterval)
            config.signalImports = try signalSources()
            config.signalImportInterval = try Self.parseInterval(signalInterval, option: "--signal-interval") ?? .seconds(300)
            var logger = Logger(label: "tidemark.server") { StreamLogHandler.standardError(label: $0) }
            logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
            let history = try await store.open()
            let app = TidemarkServer(store: history, archiveDirectory: archive.path, configuration: config, logger: logger).application(logger: logger)
            do {
                try await app.runService()
            } catch {
                try? await history.close()
                throw TidemarkError(.toolFailed, "server on \(listen) stopped: \(error)")
            }
            try await history.close()
        }
    }

    static func parseListen(_ text: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":") else { throw ValidationError("--listen '\(text)': expected HOST:PORT") }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ValidationError("--listen '\(text)': expected HOST:PORT with a port from 0 to 65535")
        }
        return (host, port)
    }

    static func parseSize(_ text: String, option: String = "--max-body") throws -> Int {
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        var digits = text.uppercased()
        var mult = 1
        if let last = digits.last, let m = units[last] { mult = m; digits.removeLast() }
        if digits.hasSuffix("I") { digits.removeLast() }  // 64Mi
        guard let n = Int(digits), n > 0, n <= Int.max / mult else { throw ValidationError("\(option) '\(text)': expected a size such as 67108864, 512K or 64M") }
        return n * mult
    }

    /// `90s`, `30m`, `1h`, `1d` or plain seconds (`DurationText`); `0` (in any unit): nil, never.
    static func parseInterval(_ text: String, option: String = "--mirror-interval") throws -> Duration? {
        guard let n = DurationText.parse(text.lowercased()), n <= 366 * 86400 else {
            throw ValidationError("\(option) '\(text)': expected an interval such as 90s, 30m, 1h or 1d (0: never)")
        }
        return n == 0 ? nil : .seconds(n)
    }
}
