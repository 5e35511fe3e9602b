import Foundation
import TidemarkCore

/// A line of a package-manager log that could not be understood. Log parsing never aborts on
/// one: the line is skipped and reported, because a single odd line (a crash, a hand edit) must
/// not cost the operator the rest of the history.
public struct LogIssue: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    /// 1-based; 0 when the issue concerns the whole file.
    public var line: Int
    public var message: String

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }
}

/// One log file's text, decompressed.
public struct LogFile: Sendable, Hashable {
    public var path: String
    public var text: String
    public init(path: String, text: String) {
        self.path = path
        self.text = text
    }
}

/// Finds a log and its rotated siblings and reads them, oldest first.
///
/// logrotate names rotated copies `NAME.1`, `NAME.2.gz` (numbered) or `NAME-20250121.xz`
/// (dateext), compressed with whatever the distribution configured. The names alone do not give
/// a reliable order (numbered and dated copies can coexist after a configuration change), so the
/// files are ordered by their first timestamp; the live file is always last.
public enum LogFiles {
    /// `ROOT/var/log/zypp/history` and its rotated copies.
    public static func zyppHistory(root: String) throws(TidemarkError) -> [LogFile] {
        try read(directory: join(root, "var/log/zypp"), baseName: "history")
    }

    /// `ROOT/var/log/dpkg.log` and its rotated copies.
    public static func dpkgLog(root: String) throws(TidemarkError) -> [LogFile] {
        try read(directory: join(root, "var/log"), baseName: "dpkg.log")
    }

    /// The files in `directory` named `baseName`, `baseName.N[.EXT]` or
    /// `baseName-YYYYMMDD[-N][.EXT]` (EXT: gz, xz, bz2, zst), decompressed, oldest first.
    /// A missing directory or log is no files. A file that cannot be read or decompressed is an
    /// error: silently leaving out part of the history would make a backfill wrong.
    public static func read(directory: String, baseName: String) throws(TidemarkError) -> [LogFile] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
            return []
        }
        var found: [(file: LogFile, first: String?, rank: Int)] = []
        for name in names {
            guard let rank = rotationRank(name, baseName: baseName) else { continue }
            let path = directory + "/" + name
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else { continue }
            let text = try readText(path: path)
            found.append((LogFile(path: path, text: text), firstTimestamp(text), rank))
        }
        // Live file last; others by first timestamp, then by rotation rank (higher = older).
        found.sort { a, b in
            if (a.rank == 0) != (b.rank == 0) { return b.rank == 0 }
            switch (a.first, b.first) {
            case let (x?, y?) where x != y: return x < y
            case (nil, _?): return true
            case (_?, nil): return false
            default: return a.rank != b.rank ? a.rank > b.rank : a.file.path < b.file.path
            }
        }
        return found.map(\.file)
    }

    /// Reads a file, decompressing it by its magic number (gzip, xz, bzip2, zstd) with the
    /// system's tool, because rotated logs are compressed whatever their name says.
    public static func readText(path: String) throws(TidemarkError) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw TidemarkError(.unreadable, "\(path): cannot open for reading")
        }
        let head = handle.readData(ofLength: 6)
        try? handle.close()
        let magic = [UInt8](head)
        let tool: String?
        if magic.starts(with: [0x1f, 0x8b]) { tool = "gzip" }
        else if magic.starts(with: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) { tool = "xz" }
        else if magic.starts(with: [0x42, 0x5a, 0x68]) { tool = "bzip2" }
        else if magic.starts(with: [0x28, 0xb5, 0x2f, 0xfd]) { tool = "zstd" }
        else { tool = nil }
        if let tool {
            let r: Subprocess.Result
            do { r = try Subprocess.check(tool, ["-dc", "--", path]) } catch {
                throw TidemarkError(.unreadable, "\(path): cannot decompress with \(tool): \(error.message)")
            }
            return String(decoding: r.stdout, as: UTF8.self)
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TidemarkError(.unreadable, "\(path): cannot read")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// 0 for the live file, N for `NAME.N`, 1 for dated copies (ordered by content anyway);
    /// nil for files that are not copies of this log.
    static func rotationRank(_ name: String, baseName: String) -> Int? {
        if name == baseName { return 0 }
        guard name.hasPrefix(baseName), name.count > baseName.count else { return nil }
        var rest = Substring(name.dropFirst(baseName.count))
        for ext in [".gz", ".xz", ".bz2", ".zst", ".zstd"] where rest.hasSuffix(ext) {
            rest = rest.dropLast(ext.count)
            break
        }
        let sep = rest.removeFirst()
        let allDigits = !rest.isEmpty && rest.allSatisfy { $0.isASCII && $0.isNumber }
        if sep == ".", allDigits, let n = Int(rest) { return n + 1 }
        if sep == "-" {
            // YYYYMMDD, optionally -N or -HH (logrotate dateformat variants)
            let parts = rest.split(separator: "-", omittingEmptySubsequences: false)
            guard let date = parts.first, date.count == 8, date.allSatisfy({ $0.isASCII && $0.isNumber }),
                  parts.dropFirst().allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } })
            else { return nil }
            return 1
        }
        return nil
    }

    /// The `YYYY-MM-DD HH:MM:SS` that starts the first record line (zypp history and dpkg.log
    /// both start lines so); comparable as text.
    static func firstTimestamp(_ text: String) -> String? {
        for line in text.split(separator: "\n", maxSplits: 1000, omittingEmptySubsequences: true).prefix(1000) {
            if line.hasPrefix("#") { continue }
            let head = line.prefix(19)
            if LocalTime.parseFields(head) != nil { return String(head) }
        }
        return nil
    }

    static func join(_ root: String, _ rel: String) -> String {
        root.hasSuffix("/") ? root + rel : root + "/" + rel
    }
}

/// Local wall-clock times of a log, turned into UTC.
public enum LocalTime {
    /// Parses exactly `YYYY-MM-DD HH:MM:SS` into its fields (validated: real date, 00-23 hours).
    public static func parseFields<S: StringProtocol>(_ text: S) -> (Int64, Int64, Int64, Int64, Int64, Int64)? {
        let b = Array(text.utf8)
        guard b.count == 19, b[4] == 45, b[7] == 45, b[10] == 32, b[13] == 58, b[16] == 58 else { return nil }
        func num(_ r: Range<Int>) -> Int64? {
            var v: Int64 = 0
            for i in r {
                guard b[i] >= 48, b[i] <= 57 else { return nil }
                v = v * 10 + Int64(b[i] - 48)
            }
            return v
        }
        guard let y = num(0..<4), let mo = num(5..<7), let d = num(8..<10),
              let h = num(11..<13), let mi = num(14..<16), let s = num(17..<19) else { return nil }
        guard (1...12).contains(mo), (1...31).contains(d), h <= 23, mi <= 59, s <= 60 else { return nil }
        let (cy, cm, cd) = Timestamp.civil(fromDays: Timestamp.days(year: y, month: mo, day: d))
        guard cy == y, cm == mo, cd == d else { return nil }
        return (y, mo, d, h, mi, s)
    }

    /// The UTC moment a wall-clock time in `zone` names.
    ///
    /// Around DST changes a wall-clock time can name two moments (the repeated hour in autumn)
    /// or none (the skipped hour in spring). Logs are written in order, so for a repeated hour
    /// the first moment not before `notBefore` (the previous line's) is taken, else the earlier
    /// one; a skipped time is read with the offset in force before the change (as a clock that
    /// was not yet turned would show it).
    public static func utc(_ local: Timestamp, zone: TimeZone, notBefore: Timestamp? = nil) -> Timestamp {
        let l = local.seconds
        func offset(_ utc: Int64) -> Int64 {
            Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(utc))))
        }
        var candidates: [Int64] = []
        for probe in [l - 86400, l, l + 86400] {
            let o = offset(probe)
            let u = l - o
            if offset(u) == o, !candidates.contains(u) { candidates.append(u) }
        }
        candidates.sort()
        guard let earliest = candidates.first else {
            return Timestamp(seconds: l - offset(l - 86400))
        }
        if let notBefore, let fit = candidates.first(where: { $0 >= notBefore.seconds }) {
            return Timestamp(seconds: fit)
        }
        return Timestamp(seconds: earliest)
    }

    /// Parses `YYYY-MM-DD HH:MM:SS` in `zone`; nil if it is not such a time.
    public static func parse<S: StringProtocol>(_ text: S, zone: TimeZone, notBefore: Timestamp? = nil) -> Timestamp? {
        guard let (y, mo, d, h, mi, s) = parseFields(text) else { return nil }
        return utc(Timestamp.fromCivil(y, mo, d, h, mi, s), zone: zone, notBefore: notBefore)
    }
}

/// Which time zone a host's logs are written in: zypp history and dpkg.log hold local
/// wall-clock times without a zone, so the host's zone must be known to place them in UTC.
public enum TimeZoneDetection {
    /// The zone of the system under `root`: `etc/localtime` (a symlink into `.../zoneinfo/`),
    /// else `etc/timezone` (Debian), else `TIMEZONE=` in `etc/sysconfig/clock` (SUSE), else UTC.
    public static func zone(root: String) -> TimeZone { detect(root: root).zone }

    /// Like `zone(root:)`, and also says where the answer came from (for reports).
    public static func detect(root: String) -> (zone: TimeZone, source: String) {
        let fm = FileManager.default
        let localtime = LogFiles.join(root, "etc/localtime")
        if let target = try? fm.destinationOfSymbolicLink(atPath: localtime),
           let r = target.range(of: "zoneinfo/", options: .backwards) {
            var name = String(target[r.upperBound...])
            for prefix in ["posix/", "right/"] where name.hasPrefix(prefix) { name.removeFirst(prefix.count) }
            if let z = TimeZone(identifier: name) { return (z, localtime + " -> " + target) }
        }
        let debian = LogFiles.join(root, "etc/timezone")
        if let data = fm.contents(atPath: debian) {
            let name = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).first.map { $0.trimmed } ?? ""
            if let z = TimeZone(identifier: name) { return (z, debian) }
        }
        let clock = LogFiles.join(root, "etc/sysconfig/clock")
        if let data = fm.contents(atPath: clock) {
            for line in String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline) {
                let t = line.trimmed
                guard t.hasPrefix("TIMEZONE=") else { continue }
                var v = Substring(t.dropFirst("TIMEZONE=".count))
                if v.count >= 2, let f = v.first, f == "\"" || f == "'", v.last == f { v = v.dropFirst().dropLast() }
                if let z = TimeZone(identifier: String(v)) { return (z, clock) }
            }
        }
        return (TimeZone(identifier: "UTC")!, "default (no zone configured under \(root))")
    }

    /// Parses a zone the operator names (`--log-timezone`): an IANA name (`Europe/Berlin`),
    /// `UTC`, or a fixed offset `+01:00`/`-0530`.
    public static func parse(_ text: String) throws(TidemarkError) -> TimeZone {
        let t = text.trimmed
        if t == "UTC" || t == "Z" || t == "utc" { return TimeZone(identifier: "UTC")! }
        if let f = t.first, f == "+" || f == "-" {
            let digits = t.dropFirst().filter { $0 != ":" }
            if digits.count == 4, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
               let h = Int(digits.prefix(2)), let m = Int(digits.suffix(2)), h <= 14, m <= 59,
               let z = TimeZone(secondsFromGMT: (f == "-" ? -1 : 1) * (h * 3600 + m * 60)) {
                return z
            }
        }
        if !t.isEmpty, let z = TimeZone(identifier: t) { return z }
        throw TidemarkError(
            .invalidArgument,
            "unknown time zone '\(text)': use an IANA name such as Europe/Berlin or America/New_York, UTC, or an offset such as +01:00")
    }
}
