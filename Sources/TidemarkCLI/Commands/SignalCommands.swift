import ArgumentParser
import Foundation
import TidemarkClient
import TidemarkCore
import TidemarkCulprits
import TidemarkOpenQA
import TidemarkStore

/// Signals and suspects, answered by a server (`--server`) or the local store: one rendering.
protocol CulpritSource: Sendable {
    func recordSignals(_ signals: [Signal]) async throws -> SignalImportResult
    func signals(since: TimeSpec?, until: TimeSpec?, host: String?) async throws -> [Signal]
    func suspects(reason: String?, window: String?, at: TimeSpec?, test: String?) async throws -> SuspectReport
}

struct LocalCulprits: CulpritSource {
    let store: SQLHistoryStore
    var culprits: SQLCulpritStore { SQLCulpritStore(backend: store.backend) }

    func recordSignals(_ signals: [Signal]) async throws -> SignalImportResult {
        try await culprits.recordSignals(signals, now: Clock.now())
    }
    func signals(since: TimeSpec?, until: TimeSpec?, host: String?) async throws -> [Signal] {
        let now = Clock.now()
        if let host { try Observation.validateHostName(host) }
        return try await culprits.signals(since: since?.resolve(now: now), until: until?.resolve(now: now), host: host)
    }
    func suspects(reason: String?, window: String?, at: TimeSpec?, test: String?) async throws -> SuspectReport {
        let regex = try reason.map { text throws(TidemarkError) in try SuspectQuery.regex(text) }
        let seconds = try window.map { text throws(TidemarkError) in try SuspectQuery.window(text) } ?? SuspectQuery.defaultWindow
        let finder = SuspectFinder(history: store, culprits: culprits)
        return try await finder.report(reason: regex, window: seconds, at: at?.resolve(now: Clock.now()) ?? Clock.now(), test: test)
    }
}

struct RemoteCulprits: CulpritSource {
    let client: TidemarkClient
    func recordSignals(_ signals: [Signal]) async throws -> SignalImportResult { try await client.recordSignals(signals) }
    func signals(since: TimeSpec?, until: TimeSpec?, host: String?) async throws -> [Signal] {
        try await client.signals(since: since?.text, until: until?.text, host: host)
    }
    func suspects(reason: String?, window: String?, at: TimeSpec?, test: String?) async throws -> SuspectReport {
        try await client.suspects(reason: reason, window: window, at: at?.text, test: test)
    }
}

/// `--db` or `--server`, for the signal and suspect commands.
struct CulpritAccess: ParsableArguments {
    @OptionGroup var store: StoreOptions
    @OptionGroup var remote: ServerOptions

    func with<T>(_ body: (any CulpritSource) async throws -> T) async throws -> T {
        if let client = try remote.client() {
            do {
                let r = try await body(RemoteCulprits(client: client))
                await client.shutdown()
                return r
            } catch {
                await client.shutdown()
                throw error
            }
        }
        return try await store.with { try await body(LocalCulprits(store: $0)) }
    }
}

/// `tidemark signal`: evidence that a host was failing or healthy at a moment.
struct SignalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signal",
        abstract: "Record and list evidence that hosts were failing or healthy (what `tidemark suspects` explains).",
        subcommands: [Add.self, Import.self, List.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record one signal: HOST was failing (or healthy) at TIME.")
        @OptionGroup var access: CulpritAccess
        @OptionGroup var output: OutputOptions
        @Option(help: "The host (as recorded).") var host: String
        @Option(parsing: .unconditional, help: "When (ISO 8601 or -2h).") var at: TimeSpec
        @Flag(help: "Whether the host was failing or healthy then.") var status: Signal.Status
        @Option(help: "Why (matched by `suspects --reason`).") var reason: String?

        func run() async throws {
            try await reportingErrors {
                let signal = try Signal(host: host, at: at.resolve(now: Clock.now()), status: status, reason: reason, source: "manual").validated(field: "signal")
                let result = try await access.with { try await $0.recordSignals([signal]) }
                if output.json { return try Output.json(result) }
                Output.line("recorded: \(host) \(status.rawValue) at \(signal.at.iso8601)\(signal.reason.map { " (\($0))" } ?? "")")
            }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import signals from elsewhere.",
            subcommands: [OpenQA.self])

        struct OpenQA: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "openqa",
                abstract: "Each finished openQA job on a worker host as a signal: failures whose reason matches as failing, passed/softfailed as healthy.",
                discussion: """
                    Reads finished jobs and the workers from the openQA API and joins each job to \
                    the host of the worker that ran it (the API has no such filter). Jobs already \
                    imported (same openQA job URL) are not stored twice, so importing again, or on \
                    a schedule (`tidemark server --openqa-signals URL`), is harmless.
                    """)
            @OptionGroup var access: CulpritAccess
            @OptionGroup var output: OutputOptions
            @Option(help: ArgumentHelp("The openQA web UI (https://openqa.opensuse.org).", valueName: "url")) var url: String
            @Option(help: ArgumentHelp("API key (default: $TIDEMARK_OPENQA_APIKEY; none: anonymous reads).", valueName: "key")) var apikey: String?
            @Option(help: ArgumentHelp("API secret (default: $TIDEMARK_OPENQA_APISECRET).", valueName: "secret")) var apisecret: String?
            @Option(help: ArgumentHelp("Only failures whose reason matches this regular expression count as failing.", valueName: "regex")) var reason: String?
            @Option(parsing: .unconditional, help: ArgumentHelp("Only jobs finished since then (ISO 8601 or -2d; default: every job the API lists).", valueName: "time")) var since: TimeSpec?
            @Option(help: ArgumentHelp("Most jobs to read (newest first).", valueName: "n")) var limit: Int = 5000

            func run() async throws {
                try await reportingErrors {
                    let env = ProcessInfo.processInfo.environment
                    let source = try OpenQASignalSource(
                        url: url, apiKey: apikey ?? env["TIDEMARK_OPENQA_APIKEY"], apiSecret: apisecret ?? env["TIDEMARK_OPENQA_APISECRET"], reason: reason, limit: limit)
                    let (signals, jobs) = try await source.fetch(since: since?.resolve(now: Clock.now()))
                    let result = try await access.with { try await $0.recordSignals(signals) }
                    if output.json { return try Output.json(result) }
                    Output.line("\(jobs) finished job\(jobs == 1 ? "" : "s") read, \(signals.count) signal\(signals.count == 1 ? "" : "s") (\(signals.filter { $0.status == .failing }.count) failing): \(result.recorded) recorded, \(result.duplicates) already there")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Signals in time order.")
        @OptionGroup var access: CulpritAccess
        @OptionGroup var output: OutputOptions
        @Option(help: "Only this host's.") var host: String?
        @Option(parsing: .unconditional, help: "From this time (ISO 8601 or -2h).") var since: TimeSpec?
        @Option(parsing: .unconditional, help: "Up to this time.") var until: TimeSpec?

        func run() async throws {
            try await reportingErrors {
                let all = try await access.with { try await $0.signals(since: since, until: until, host: host) }
                if output.json { return try Output.json(all) }
                var t = Table("AT", "HOST", "STATUS", "SOURCE", "REASON")
                for s in all { t.add(s.at.short, s.host, s.status.rawValue, s.source, s.reason ?? "") }
                t.print()
            }
        }
    }
}

extension Signal.Status: EnumerableFlag {}

/// `tidemark suspects`: which package change explains the failures.
struct SuspectsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suspects",
        abstract: "Rank the package changes (by source package) that best explain the failure signals.",
        discussion: """
            A change fits a failing host when it happened there before the host's first failure \
            (within --window); it is contradicted by every host that had it installed while it \
            reported healthy. Suspects are ranked by the share of hosts they explain, then by how \
            many failing hosts they fit, then by how close the change came before the failure. \
            Each comes with its evidence. When several changes fit exactly equally (they arrived \
            together everywhere), it says so and prints the `tidemark bisect` command that \
            separates them.
            """)

    @OptionGroup var access: CulpritAccess
    @OptionGroup var output: OutputOptions
    @Option(help: ArgumentHelp("Only failing signals whose reason matches this regular expression.", valueName: "regex")) var reason: String?
    @Option(help: ArgumentHelp("How far back signals and changes count (48h, 3d).", valueName: "duration")) var window: String = "48h"
    @Option(parsing: .unconditional, help: ArgumentHelp("The end of the period (default: now).", valueName: "time")) var at: TimeSpec?
    @Option(help: ArgumentHelp("The health command to put in the suggested bisect command.", valueName: "command")) var test: String?
    @Option(help: ArgumentHelp("Show this many suspects (all with --json).", valueName: "n")) var top: Int = 10

    func run() async throws {
        try await reportingErrors {
            let report = try await access.with { try await $0.suspects(reason: reason, window: window, at: at, test: test) }
            if output.json { return try Output.json(report) }
            Self.print(report, top: top)
        }
    }

    static func lag(_ seconds: Int64) -> String {
        seconds < 0 ? "-" + DurationText.words(Int(-seconds)) : DurationText.words(Int(seconds))
    }

    static func print(_ r: SuspectReport, top: Int) {
        Output.line("\(r.failing.count) failing host\(r.failing.count == 1 ? "" : "s") (\(r.failingSignals) failing signals), \(r.healthyHosts.count) host\(r.healthyHosts.count == 1 ? "" : "s") with healthy signals (\(r.healthySignals)); changes within \(DurationText.words(Int(r.window))) before each first failure")
        if !r.suspects.isEmpty {
            Output.line()
            var t = Table("RANK", "SOURCE", "SCORE", "FITS", "CONTRADICTS", "MEDIAN LAG", "CHANGES")
            for s in r.suspects.prefix(top) {
                t.add(String(s.rank), s.source, String(format: "%.2f", s.score), "\(s.fits.count)/\(r.failing.count)", String(s.contradictions.count),
                      s.medianLag.map(lag) ?? "-", s.changes.joined(separator: ", "))
            }
            t.print()
            for s in r.suspects.prefix(min(top, 3)) {
                Output.line()
                Output.line("#\(s.rank) \(s.source)\(s.tiedWith.isEmpty ? "" : " (tied with \(s.tiedWith.joined(separator: ", ")))")")
                for f in s.fits { Output.line("  fits        \(f.host): \(f.change) at \(f.changedAt.short), first failure \(f.firstFailure.short) (\(lag(f.lag)) later)") }
                if !s.missing.isEmpty { Output.line("  missing     failing without this change before: \(s.missing.joined(separator: ", "))") }
                for c in s.contradictions { Output.line("  contradicts \(c.host): healthy at \(c.at.short) with \(c.package) (\(c.healthySignals) healthy signal\(c.healthySignals == 1 ? "" : "s") with it)") }
            }
        }
        Output.line()
        Output.line(r.verdict)
        if let b = r.bisect { Output.line("separate them: \(b.command)") }
    }
}
