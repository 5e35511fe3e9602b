import Foundation
import TidemarkCore

/// dpkg's `/var/log/dpkg.log`: every unpack, removal and status change dpkg made, with the old
/// and new version of each package. The record of a Debian host's past before Tidemark.
///
/// Lines are `YYYY-MM-DD HH:MM:SS ` (local time, no zone) followed by one of:
/// `startup archives|packages ACTION`, `install|upgrade|remove|purge|configure|trigproc
/// PKG[:ARCH] OLDVER NEWVER` (`<none>` for no version), `status STATE PKG[:ARCH] VER`,
/// `conffile PATH DECISION`.
public enum DpkgLog {
    public enum Action: String, Sendable, Hashable, CaseIterable {
        case install, upgrade, remove, purge, configure, trigproc
    }

    public enum Event: Sendable, Hashable {
        /// dpkg started (`archives unpack`, `packages configure`...): a new run.
        case startup(String)
        /// `old`/`new` are nil for `<none>`.
        case package(Action, name: String, arch: String, old: EVR?, new: EVR?)
        case status(state: String, name: String, arch: String, version: EVR?)
        case conffile(path: String, decision: String)
    }

    public struct Record: Sendable, Hashable {
        public var at: Timestamp
        public var event: Event
        public var file: String
        public var line: Int
    }

    /// One dpkg run: a `startup` line and what follows it.
    public struct Transaction: Sendable, Hashable {
        /// The time of its last install/upgrade/remove/purge line (the startup's when none).
        public var at: Timestamp
        /// The startup line's text (`archives unpack`), nil for lines before any startup.
        public var startup: String?
        public var records: [Record]
    }

    public struct Parsed: Sendable {
        public var records: [Record]
        public var issues: [LogIssue]
        public var lines: Int
    }

    /// Parses one dpkg.log's text; malformed lines are reported in `issues` and skipped.
    public static func parse(_ text: String, file: String, timeZone: TimeZone, notBefore: Timestamp? = nil) -> Parsed {
        var records: [Record] = []
        var issues: [LogIssue] = []
        var previous = notBefore
        var lineNo = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNo += 1
            var line = Substring(rawLine)
            if line.last == "\r" { line = line.dropLast() }
            if line.trimmed.isEmpty { continue }
            func issue(_ m: String) { issues.append(LogIssue(file: file, line: lineNo, message: m)) }

            guard line.utf8.count > 20, let at = LocalTime.parse(line.prefix(19), zone: timeZone, notBefore: previous) else {
                issue("bad time '\(line.prefix(19))' (expected YYYY-MM-DD HH:MM:SS at the start of the line)")
                continue
            }
            let words = line.dropFirst(20).split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard let verb = words.first else { issue("nothing after the time"); continue }
            let event: Event
            if verb == "startup" {
                guard words.count >= 2 else { issue("'startup' without what dpkg started"); continue }
                event = .startup(words.dropFirst().joined(separator: " "))
            } else if let action = Action(rawValue: verb) {
                guard words.count == 4 else { issue("'\(verb)' line has \(words.count - 1) fields, expected PKG:ARCH OLDVER NEWVER"); continue }
                guard let (name, arch) = splitPackage(words[1]) else { issue("bad package '\(words[1])'"); continue }
                guard let old = version(words[2]), let new = version(words[3]) else {
                    issue("bad version in '\(words[2]) \(words[3])' of \(name)")
                    continue
                }
                switch action {
                case .install, .upgrade:
                    guard let n = new else { issue("'\(verb)' of \(name) without a new version"); continue }
                    event = .package(action, name: name, arch: arch, old: old, new: n)
                case .remove, .purge:
                    guard old != nil else { issue("'\(verb)' of \(name) without the removed version"); continue }
                    event = .package(action, name: name, arch: arch, old: old, new: new)
                case .configure, .trigproc:
                    event = .package(action, name: name, arch: arch, old: old, new: new)
                }
            } else if verb == "status" {
                guard words.count == 4 else { issue("'status' line has \(words.count - 1) fields, expected STATE PKG:ARCH VERSION"); continue }
                guard let (name, arch) = splitPackage(words[2]) else { issue("bad package '\(words[2])'"); continue }
                guard let v = version(words[3]) else { issue("bad version '\(words[3])' of \(name)"); continue }
                event = .status(state: words[1], name: name, arch: arch, version: v)
            } else if verb == "conffile" {
                guard words.count >= 3 else { issue("'conffile' line without path and decision"); continue }
                event = .conffile(path: words[1...].dropLast().joined(separator: " "), decision: words.last!)
            } else {
                issue("unknown action '\(verb)'")
                continue
            }
            previous = at
            records.append(Record(at: at, event: event, file: file, line: lineNo))
        }
        return Parsed(records: records, issues: issues, lines: text.isEmpty ? 0 : lineNo - (text.hasSuffix("\n") ? 1 : 0))
    }

    /// Groups records into dpkg runs: each `startup` line starts one. Lines before the first
    /// startup (a log rotated in the middle of a run) form one run, and so do runs split by a gap
    /// longer than `ZyppHistory.maximumGap` between package lines (only adds a true
    /// intermediate state).
    public static func transactions(_ records: [Record]) -> [Transaction] {
        var out: [Transaction] = []
        var current: Transaction?
        var lastPackageAt: Timestamp?
        for r in records {
            if case .startup(let what) = r.event {
                if let c = current { out.append(c) }
                current = Transaction(at: r.at, startup: what, records: [r])
                lastPackageAt = nil
                continue
            }
            var changesSet = false
            if case .package(let a, _, _, _, _) = r.event, [.install, .upgrade, .remove, .purge].contains(a) {
                changesSet = true
                if let last = lastPackageAt, r.at.seconds - last.seconds > ZyppHistory.maximumGap, let c = current {
                    out.append(c)
                    current = nil
                }
            }
            if current == nil { current = Transaction(at: r.at, startup: nil, records: []) }
            current!.records.append(r)
            if changesSet {
                current!.at = r.at
                lastPackageAt = r.at
            }
        }
        if let c = current { out.append(c) }
        return out
    }

    /// The runs' package changes in the form `Backfill` takes, with what only the order of the
    /// log tells: a `purge` right after a `remove` changes nothing installed (the package was
    /// already in `config-files`), and an `install` after a `remove` replaces nothing installed,
    /// even when dpkg names the old (config-files) version.
    public static func logged(_ transactions: [Transaction]) -> [LoggedTransaction] {
        struct Key: Hashable { var name: String; var arch: String }
        var removed: [Key: Bool] = [:]  // true: last change was a removal
        var out: [LoggedTransaction] = []
        for t in transactions {
            var changes: [LoggedPackageChange] = []
            for r in t.records {
                guard case .package(let action, let name, let arch, let old, let new) = r.event else { continue }
                let key = Key(name: name, arch: arch)
                switch action {
                case .install, .upgrade:
                    let previous: LoggedPackageChange.Previous
                    if removed[key] == true { previous = .none } else { previous = old.map { .version($0) } ?? .none }
                    changes.append(LoggedPackageChange(action: .install, name: name, arch: arch, evr: new!, previous: previous))
                    removed[key] = false
                case .remove:
                    changes.append(LoggedPackageChange(action: .remove, name: name, arch: arch, evr: old!))
                    removed[key] = true
                case .purge:
                    if removed[key] == false {  // purged straight from installed
                        changes.append(LoggedPackageChange(action: .remove, name: name, arch: arch, evr: old!))
                    }
                    removed[key] = true
                case .configure, .trigproc:
                    break
                }
            }
            let origin = t.records.first.map { "\($0.file):\($0.line)" } ?? ""
            out.append(LoggedTransaction(at: t.at, changes: changes, origin: origin))
        }
        return out
    }

    /// `name:arch` (dpkg ≥ 1.16) or a bare `name` (older logs: arch "").
    static func splitPackage(_ s: String) -> (String, String)? {
        var name = Substring(s), arch = Substring("")
        if let colon = s.lastIndex(of: ":") {
            name = s[..<colon]
            arch = s[s.index(after: colon)...]
            guard !arch.isEmpty else { return nil }
        }
        guard !name.isEmpty else { return nil }
        return (String(name), String(arch))
    }

    /// `<none>` → .some(nil); a valid Debian version → .some(evr); anything else → nil.
    static func version(_ s: String) -> EVR?? {
        if s == "<none>" { return .some(nil) }
        guard let v = DebianVersion.parse(s) else { return nil }
        return .some(v)
    }
}
