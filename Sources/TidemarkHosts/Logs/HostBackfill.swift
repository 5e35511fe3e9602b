import Foundation
import TidemarkCore

/// What a backfill found: the reconstructed earlier states and everything the operator should
/// know about how much to trust them.
public struct BackfillResult: Sendable {
    /// One state per logged transaction (the state right after it), oldest first, without the
    /// current state; see `Backfill`.
    public var states: [(at: Timestamp, packages: [InstalledPackage])]
    /// Log lines that could not be understood and were skipped.
    public var issues: [LogIssue]
    /// Inconsistencies between the log and the current state, ignored transactions, the zone used.
    public var notes: [String]
    /// The log files read, oldest first.
    public var filesRead: [String]
    public var linesRead: Int

    public init(
        states: [(at: Timestamp, packages: [InstalledPackage])] = [], issues: [LogIssue] = [],
        notes: [String] = [], filesRead: [String] = [], linesRead: Int = 0
    ) {
        self.states = states
        self.issues = issues
        self.notes = notes
        self.filesRead = filesRead
        self.linesRead = linesRead
    }
}

/// Backfills a host's history from its own package-manager log: zypp history for rpm hosts,
/// dpkg.log for Debian hosts.
public enum HostBackfill {
    /// - Parameters:
    ///   - root: the host's root directory (`/` for the machine itself).
    ///   - current: the inventory collected at `at`; the reconstruction walks back from it.
    ///   - logTimeZone: the zone the log's local times are in; nil detects it under `root`.
    /// - Throws: only when a log file exists but cannot be read or decompressed (a silently
    ///   skipped file would make the result wrong). No log at all is an empty result with a note.
    public static func reconstruct(
        root: String, current: HostInventory, at: Timestamp, logTimeZone: TimeZone?
    ) throws(TidemarkError) -> BackfillResult {
        var result = try read(root: root, current: current, logTimeZone: logTimeZone)
        guard let transactions = result.transactions else { return result.result }
        let r = Backfill.reconstruct(format: current.format, current: current.packages, currentAt: at, transactions: transactions)
        result.result.states = r.states
        result.result.notes += r.notes
        return result.result
    }

    /// Like `reconstruct`, but hands each state to `visit` as soon as it is known, NEWEST first,
    /// without holding them all (see `Backfill.walkBack`); the result's `states` stay empty.
    public static func walkBack(
        root: String, current: HostInventory, at: Timestamp, logTimeZone: TimeZone?,
        visit: (Timestamp, [InstalledPackage]) throws(TidemarkError) -> Void
    ) throws(TidemarkError) -> BackfillResult {
        var result = try read(root: root, current: current, logTimeZone: logTimeZone)
        guard let transactions = result.transactions else { return result.result }
        result.result.notes += try Backfill.walkBack(
            format: current.format, current: current.packages, currentAt: at, transactions: transactions, visit: visit)
        return result.result
    }

    /// Finds, reads and parses the host's log into transactions (nil: no log).
    private static func read(
        root: String, current: HostInventory, logTimeZone: TimeZone?
    ) throws(TidemarkError) -> (result: BackfillResult, transactions: [LoggedTransaction]?) {
        var notes: [String] = []
        let zone: TimeZone
        if let logTimeZone {
            zone = logTimeZone
        } else {
            let d = TimeZoneDetection.detect(root: root)
            zone = d.zone
            notes.append("log times read in time zone \(d.zone.identifier) (from \(d.source))")
        }

        let files: [LogFile]
        switch current.format {
        case .rpm: files = try LogFiles.zyppHistory(root: root)
        case .deb: files = try LogFiles.dpkgLog(root: root)
        }
        if files.isEmpty {
            let where_ = current.format == .rpm ? "var/log/zypp/history" : "var/log/dpkg.log"
            notes.append("no \(where_) under \(root): nothing to backfill from")
            return (BackfillResult(notes: notes), nil)
        }

        var issues: [LogIssue] = []
        var lines = 0
        var transactions: [LoggedTransaction] = []
        // Each file continues the previous one's clock (a DST hour repeated across a rotation).
        var notBefore: Timestamp?
        switch current.format {
        case .rpm:
            var records: [ZyppHistory.Record] = []
            for f in files {
                let p = ZyppHistory.parse(f.text, file: f.path, timeZone: zone, notBefore: notBefore)
                records += p.records
                issues += p.issues
                lines += p.lines
                notBefore = p.records.last?.at ?? notBefore
            }
            transactions = ZyppHistory.transactions(records).map(\.logged)
        case .deb:
            var records: [DpkgLog.Record] = []
            for f in files {
                let p = DpkgLog.parse(f.text, file: f.path, timeZone: zone, notBefore: notBefore)
                records += p.records
                issues += p.issues
                lines += p.lines
                notBefore = p.records.last?.at ?? notBefore
            }
            transactions = resolveMissingArches(DpkgLog.logged(DpkgLog.transactions(records)), current: current.packages)
        }
        return (BackfillResult(issues: issues, notes: notes, filesRead: files.map(\.path), linesRead: lines), transactions)
    }

    /// dpkg logs older than multiarch (dpkg < 1.16) name packages without `:ARCH`: take the
    /// arch the package has now when that is unambiguous.
    static func resolveMissingArches(_ ts: [LoggedTransaction], current: [InstalledPackage]) -> [LoggedTransaction] {
        var arches: [String: Set<String>] = [:]
        for p in current { arches[p.package.name, default: []].insert(p.package.arch) }
        return ts.map { t in
            var t = t
            for i in t.changes.indices where t.changes[i].arch.isEmpty {
                if let a = arches[t.changes[i].name], a.count == 1 { t.changes[i].arch = a.first! }
            }
            return t
        }
    }
}
