import ArgumentParser
import Foundation
import Synchronization
import TidemarkCore
import TidemarkHosts
import TidemarkStore

struct SnapshotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Record the current packages and repositories of a host (rpm or dpkg).",
        discussion: """
            Reads the package database under ROOT natively (rpmdb.sqlite; other rpm database \
            formats through rpm itself) or dpkg's status file, plus zypp .repo files or apt \
            sources, and records one observation in one transaction. With --backfill it also \
            reconstructs the host's earlier states from /var/log/zypp/history or \
            /var/log/dpkg.log (and their rotated siblings), walking back from the current state.
            """)

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "Root directory of the host to read.") var root: String = "/"
    @Option(help: "Host name to record under (default: this machine's hostname).") var host: String?
    @Option(parsing: .unconditional, help: "Time of the observation (ISO 8601 or -2h; default: now).") var at: TimeSpec?
    @Flag(help: "Also reconstruct earlier states from the package manager's logs.") var backfill = false
    @Option(help: "Time zone of the log timestamps (default: the zone of ROOT/etc/localtime, else UTC).")
    var logTimezone: String?

    struct Report: Encodable {
        var host: String
        var at: Timestamp
        var state: StateID
        var packages: Int
        var repositories: Int?
        var outcome: RecordOutcome
        var backfill: BackfillReport?
    }

    struct BackfillReport: Encodable {
        var states: Int
        var recorded: Int
        /// Reconstructed states at or after the host's first recorded observation, not stored.
        var skippedKnown = 0
        var files: [String]
        var lines: Int
        var malformedLines: Int
        var issues: [String]
        var notes: [String]
        var timeZone: String
    }

    func run() async throws {
        try await reportingErrors {
            let hostName = host ?? ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "localhost"
            try Observation.validateHostName(hostName)
            let when = at?.resolve(now: Clock.now()) ?? Clock.now()
            let inventory = try HostCollector.collect(root: root)
            let current = inventory.observation(host: hostName, at: when, source: .snapshot)
            // Backfilled states arrive newest first; the timeline keeps only their differences
            // and hands them back oldest first, so a long log never sits in memory whole.
            var timeline = ReplayTimeline()
            var backfillReport: BackfillReport? = nil
            if backfill {
                let zone = try logTimezone.map { (z: String) throws(TidemarkError) in try TimeZoneDetection.parse(z) }
                let result = try HostBackfill.walkBack(root: root, current: inventory, at: when, logTimeZone: zone) { at, packages in
                    timeline.visit(at, packages)
                }
                backfillReport = BackfillReport(
                    states: timeline.count, recorded: 0, files: result.filesRead, lines: result.linesRead,
                    malformedLines: result.issues.count, issues: result.issues.map(\.description), notes: result.notes,
                    timeZone: (zone ?? TimeZoneDetection.zone(root: root)).identifier)
            }
            let replay = timeline, changelogs = inventory.changelogs
            let skipped = Mutex(0)
            let outcomes = try await store.with { db in
                // Reconstructions only fill the past the store does not know: an observation
                // recorded earlier is better evidence than a log replay.
                let first = try await db.firstObservation(host: hostName)
                return try await db.record { sink in
                    try await replay.replay { at, packages in
                        if let first, at >= first.at {
                            skipped.withLock { $0 += 1 }
                            return
                        }
                        var times: [String: Int64] = [:]
                        for p in packages { if let t = p.installTime { times[p.package.identityKey] = t } }
                        try await sink.record(Observation(
                            host: hostName, at: at, state: PackageState(packages.map(\.package)), source: .backfill,
                            repositories: nil, installTimes: times, changelogs: changelogs))
                    }
                    try await sink.record(current)
                }
            }
            if backfillReport != nil {
                backfillReport!.skippedKnown = skipped.withLock { $0 }
                backfillReport!.recorded = outcomes.dropLast().filter { $0 != .duplicate }.count
            }
            let report = Report(
                host: hostName, at: when, state: current.state.id, packages: current.state.count,
                repositories: inventory.repositories?.count, outcome: outcomes.last!, backfill: backfillReport)
            if output.json { return try Output.json(report) }
            let what = switch report.outcome {
            case .recordedNewState: "new state"
            case .recorded: "known state"
            case .duplicate: "already recorded"
            }
            Output.line("\(hostName) at \(when.iso8601): state \(report.state.short) (\(report.packages) \(inventory.format.rawValue) packages, \(report.repositories.map { "\($0) repositories, " } ?? "")\(what))")
            if let b = report.backfill {
                Output.line("backfill: \(b.states) earlier states reconstructed (\(b.recorded) new\(b.skippedKnown > 0 ? ", \(b.skippedKnown) within already recorded history kept as recorded" : "")) from \(b.files.count) log file(s), \(b.lines) lines, times in \(b.timeZone)")
                if b.malformedLines > 0 {
                    Output.line("backfill: \(b.malformedLines) malformed line(s) skipped:")
                    for i in b.issues.prefix(20) { Output.line("  \(i)") }
                    if b.issues.count > 20 { Output.line("  ... and \(b.issues.count - 20) more (see --json)") }
                }
                for n in b.notes.prefix(20) { Output.line("note: \(n)") }
            }
        }
    }
}
