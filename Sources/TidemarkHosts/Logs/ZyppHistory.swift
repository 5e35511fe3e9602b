import Foundation
import TidemarkCore

/// libzypp's `/var/log/zypp/history`: what zypper (and YaST, PackageKit...) installed and
/// removed, and when. It is the only record of a SUSE host's past before Tidemark watched it.
///
/// Format (libzypp `HistoryLogData.h`): one record per line, `|`-separated, `\|` for a literal
/// `|`; `#` lines are comments (rpm script output); the action field may be padded (`remove `).
/// Times are the host's local wall-clock time without a zone.
public enum ZyppHistory {
    public struct PackageRecord: Sendable, Hashable {
        public var name: String
        public var evr: EVR
        public var arch: String
        /// `user@host`, `pid:app`, or nil when the solver pulled the package in.
        public var requestedBy: String?
        /// install only: the repository alias it came from.
        public var repoAlias: String?
        /// install only: the checksum of the `.rpm` file (not rpm's SIGMD5).
        public var checksum: String?
        public var userData: String?
    }

    public enum Event: Sendable, Hashable {
        case install(PackageRecord)
        case remove(PackageRecord)
        case repoAdd(alias: String, url: String)
        case repoRemove(alias: String)
        case repoAlias(old: String, new: String)
        case repoURL(alias: String, url: String)
        /// The command line that started a zypp transaction.
        case command(user: String, argv: [String])
    }

    public struct Record: Sendable, Hashable {
        public var at: Timestamp
        public var event: Event
        public var file: String
        public var line: Int
    }

    /// A zypp run: a `command` record and the package records after it (see `transactions`).
    public struct Transaction: Sendable, Hashable {
        /// The time of its last package record (the command's own time when it has none).
        public var at: Timestamp
        public var user: String?
        public var argv: [String]?
        public var records: [Record]

        /// The package changes in the form `Backfill` takes.
        public var logged: LoggedTransaction {
            var changes: [LoggedPackageChange] = []
            for r in records {
                switch r.event {
                case .install(let p): changes.append(LoggedPackageChange(action: .install, name: p.name, arch: p.arch, evr: p.evr))
                case .remove(let p): changes.append(LoggedPackageChange(action: .remove, name: p.name, arch: p.arch, evr: p.evr))
                default: break
                }
            }
            let origin = records.first.map { "\($0.file):\($0.line)" } ?? ""
            return LoggedTransaction(at: at, changes: changes, origin: origin)
        }
    }

    public struct Parsed: Sendable {
        public var records: [Record]
        public var issues: [LogIssue]
        /// Lines read, comments and blanks included.
        public var lines: Int
    }

    /// Parses one history file's text. Malformed lines (wrong field count, bad time, bad
    /// version) are reported in `issues` and skipped.
    public static func parse(_ text: String, file: String, timeZone: TimeZone, notBefore: Timestamp? = nil) -> Parsed {
        var records: [Record] = []
        var issues: [LogIssue] = []
        var previous = notBefore
        var lineNo = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNo += 1
            var line = Substring(rawLine)
            if line.last == "\r" { line = line.dropLast() }
            if line.trimmed.isEmpty || line.hasPrefix("#") { continue }
            func issue(_ m: String) { issues.append(LogIssue(file: file, line: lineNo, message: m)) }

            let f = splitFields(line)
            guard f.count >= 2 else { issue("not a history record (no '|' separated fields)"); continue }
            guard let at = LocalTime.parse(f[0], zone: timeZone, notBefore: previous) else {
                issue("bad time '\(f[0])' (expected YYYY-MM-DD HH:MM:SS)")
                continue
            }
            let action = f[1].trimmed
            func fields(_ n: ClosedRange<Int>) -> Bool {
                if n.contains(f.count) { return true }
                issue("'\(action)' record has \(f.count) fields, expected \(n.lowerBound == n.upperBound ? "\(n.lowerBound)" : "\(n.lowerBound) or \(n.upperBound)")")
                return false
            }
            func opt(_ i: Int) -> String? { i < f.count && !f[i].isEmpty ? f[i] : nil }
            let event: Event
            switch action {
            case "install", "remove":
                let isInstall = action == "install"
                // Older libzypp wrote no trailing USERDATA field.
                guard fields(isInstall ? 8...9 : 6...7) else { continue }
                guard !f[2].isEmpty, !f[2].contains(where: \.isWhitespace) else { issue("bad package name '\(f[2])'"); continue }
                guard let evr = parseEVR(f[3]) else { issue("bad version '\(f[3])' of \(f[2]) (expected [EPOCH:]VERSION-RELEASE)"); continue }
                guard !f[4].isEmpty, !f[4].contains(where: \.isWhitespace) else { issue("bad architecture '\(f[4])' of \(f[2])"); continue }
                let p = PackageRecord(
                    name: f[2], evr: evr, arch: f[4], requestedBy: opt(5),
                    repoAlias: isInstall ? opt(6) : nil, checksum: isInstall ? opt(7) : nil,
                    userData: opt(isInstall ? 8 : 6))
                event = isInstall ? .install(p) : .remove(p)
            case "radd":
                guard fields(4...5) else { continue }
                event = .repoAdd(alias: f[2], url: f[3])
            case "rremove":
                guard fields(3...4) else { continue }
                event = .repoRemove(alias: f[2])
            case "ralias":
                guard fields(4...5) else { continue }
                event = .repoAlias(old: f[2], new: f[3])
            case "rurl":
                guard fields(4...5) else { continue }
                event = .repoURL(alias: f[2], url: f[3])
            case "command":
                guard fields(4...5) else { continue }
                event = .command(user: f[2], argv: splitCommandLine(f[3]))
            case "patch", "stamp":
                continue  // patch status changes and markers: not package changes
            default:
                issue("unknown action '\(action)'")
                continue
            }
            previous = at
            records.append(Record(at: at, event: event, file: file, line: lineNo))
        }
        return Parsed(records: records, issues: issues, lines: text.isEmpty ? 0 : lineNo - (text.hasSuffix("\n") ? 1 : 0))
    }

    /// Package records that follow each other by more than this are never one transaction.
    /// Splitting a run only adds a true intermediate state; merging two runs would hide one.
    public static let maximumGap: Int64 = 15 * 60

    /// Groups records into transactions: a `command` record starts one and the package records
    /// after it belong to it. Package records before any command (written by tools that log no
    /// command line) form one transaction per timestamp. A gap of more than `maximumGap` between
    /// two package records also starts a new one. Repository records do not start transactions.
    public static func transactions(_ records: [Record]) -> [Transaction] {
        var out: [Transaction] = []
        var current: Transaction?
        var lastPackageAt: Timestamp?
        func close() {
            if let c = current { out.append(c) }
            current = nil
            lastPackageAt = nil
        }
        for r in records {
            switch r.event {
            case .command(let user, let argv):
                close()
                current = Transaction(at: r.at, user: user, argv: argv, records: [r])
            case .install, .remove:
                if let c = current, let last = lastPackageAt {
                    let orphanSplit = c.argv == nil && last != r.at
                    if orphanSplit || r.at.seconds - last.seconds > maximumGap { close() }
                }
                if current == nil {
                    current = Transaction(at: r.at, user: nil, argv: nil, records: [])
                }
                current!.records.append(r)
                current!.at = r.at
                lastPackageAt = r.at
            default:
                if current != nil { current!.records.append(r) }
            }
        }
        close()
        return out
    }

    /// Splits a record on unescaped `|`; `\|` is a literal `|` and `\\` a backslash, any other
    /// backslash stays as it is.
    static func splitFields(_ line: Substring) -> [String] {
        var fields: [String] = []
        var cur = ""
        var it = line.makeIterator()
        while let c = it.next() {
            if c == "\\" {
                guard let n = it.next() else { cur.append(c); break }
                if n == "|" || n == "\\" { cur.append(n) } else { cur.append(c); cur.append(n) }
            } else if c == "|" {
                fields.append(cur)
                cur = ""
            } else {
                cur.append(c)
            }
        }
        fields.append(cur)
        // libzypp ends every record with a `|` before its (usually empty) USERDATA field: that
        // empty last field is kept and counted.
        return fields
    }

    /// `[EPOCH:]VERSION-RELEASE` as zypp writes an rpm edition; nil unless it has a non-empty
    /// version and release, no blanks and a numeric epoch if any.
    static func parseEVR(_ s: String) -> EVR? {
        guard !s.isEmpty, !s.contains(where: { $0.isWhitespace }) else { return nil }
        if let colon = s.firstIndex(of: ":") {
            let e = s[..<colon]
            guard !e.isEmpty, e.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        }
        let evr = RPMVersion.parseEVR(s)
        guard !evr.version.isEmpty, !evr.release.isEmpty, !evr.version.contains(":") else { return nil }
        return evr
    }

    /// zypper logs its argv shell-quoted (`'zypper' '-n' 'in' 'foo'`): undo the quoting.
    static func splitCommandLine(_ s: String) -> [String] {
        var words: [String] = []
        var cur = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for c in s {
            if escaped { cur.append(c); escaped = false; continue }
            if let q = quote {
                if c == q { quote = nil }
                else if c == "\\" && q == "\"" { escaped = true }
                else { cur.append(c) }
                continue
            }
            switch c {
            case "'", "\"": quote = c; inWord = true
            case "\\": escaped = true; inWord = true
            case " ", "\t":
                if inWord { words.append(cur); cur = ""; inWord = false }
            default: cur.append(c); inWord = true
            }
        }
        if inWord { words.append(cur) }
        return words
    }
}
