/// A moment in UTC, whole seconds since 1970. Tidemark keeps every time in UTC and converts only
/// at the edges (zypp history's local times, the user's input and output).
public struct Timestamp: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var seconds: Int64
    public init(seconds: Int64) { self.seconds = seconds }
    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.seconds < b.seconds }

    /// The times Tidemark accepts from people and clients: the years 1 to 9999 (what ISO 8601's
    /// four-digit years can write, and far from any overflow in arithmetic on seconds).
    public static let supported: ClosedRange<Int64> = -62_135_596_800...253_402_300_799

    /// `2025-01-21T10:00:00Z`
    public var iso8601: String {
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secOfDay = seconds - days * 86400
        let (y, m, d) = Timestamp.civil(fromDays: days)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let year = (0..<1000).contains(y) ? String(repeating: "0", count: 4 - String(y).count) + String(y) : String(y)
        return "\(year)-\(two(m))-\(two(d))T\(two(secOfDay / 3600)):\(two(secOfDay / 60 % 60)):\(two(secOfDay % 60))Z"
    }

    public var description: String { iso8601 }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(Int64.self) {
            seconds = n
            return
        }
        let s = try c.decode(String.self)
        guard let t = Timestamp.parseISO8601(s) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an ISO 8601 time: \(s)")
        }
        self = t
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(iso8601)
    }

    /// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
    public static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    public static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// Fields of a civil date-time (no zone) → seconds, as if it were UTC.
    public static func fromCivil(_ y: Int64, _ mo: Int64, _ d: Int64, _ h: Int64, _ mi: Int64, _ s: Int64) -> Timestamp {
        Timestamp(seconds: days(year: y, month: mo, day: d) * 86400 + h * 3600 + mi * 60 + s)
    }

    /// Accepts `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.fff]]` with `Z`, `±HH:MM`, `±HHMM` or no zone
    /// (then UTC), and a space instead of `T`. Returns nil for anything else.
    public static func parseISO8601(_ text: String) -> Timestamp? {
        let b = Array(text.utf8)
        var i = 0
        func digits(_ n: Int) -> Int64? {
            guard i + n <= b.count else { return nil }
            var v: Int64 = 0
            for k in 0..<n {
                let c = b[i + k]
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int64(c - 48)
            }
            i += n
            return v
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < b.count, b[i] == c else { return false }
            i += 1
            return true
        }
        guard let y = digits(4), expect(45), let mo = digits(2), expect(45), let d = digits(2) else { return nil }
        guard (1...12).contains(mo), (1...31).contains(d) else { return nil }
        let (cy, cm, cd) = civil(fromDays: days(year: y, month: mo, day: d))
        guard cy == y, cm == mo, cd == d else { return nil }  // rejects 2025-02-30
        if i == b.count { return fromCivil(y, mo, d, 0, 0, 0) }
        guard i < b.count, b[i] == 84 || b[i] == 116 || b[i] == 32 else { return nil }
        i += 1
        guard let h = digits(2), expect(58), let mi = digits(2) else { return nil }
        var s: Int64 = 0
        if i < b.count, b[i] == 58 {
            i += 1
            guard let sv = digits(2) else { return nil }
            s = sv
            if i < b.count, b[i] == 46 || b[i] == 44 {
                i += 1
                var any = false
                while i < b.count, b[i] >= 48 && b[i] <= 57 { i += 1; any = true }
                guard any else { return nil }
            }
        }
        guard h <= 23, mi <= 59, s <= 60 else { return nil }
        var offset: Int64 = 0
        if i < b.count {
            if b[i] == 90 || b[i] == 122 {
                i += 1
            } else if b[i] == 43 || b[i] == 45 {
                let sign: Int64 = b[i] == 45 ? -1 : 1
                i += 1
                guard let oh = digits(2) else { return nil }
                _ = expect(58)
                guard let om = digits(2) else { return nil }
                offset = sign * (oh * 3600 + om * 60)
            } else {
                return nil
            }
        }
        guard i == b.count else { return nil }
        return Timestamp(seconds: fromCivil(y, mo, d, h, mi, s).seconds - offset)
    }
}

/// A point in time as a user writes it: absolute ISO 8601 or relative to now (`-2h`, `-3d`).
public enum TimeSpec: Sendable, Hashable {
    case absolute(Timestamp)
    /// Seconds before now.
    case ago(Int64)
    case now

    /// Parses `now`, `-30s`, `-15m`, `-2h`, `-3d`, `-1w` and ISO 8601 (see `Timestamp.parseISO8601`).
    public static func parse(_ text: String) throws(TidemarkError) -> TimeSpec {
        let t = text.trimmed
        if t == "now" { return .now }
        let digits = t.dropFirst().dropLast()
        if t.hasPrefix("-"), t.count >= 3, let unit = t.last, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int64(digits) {
            let mult: Int64? = switch unit {
            case "s": 1
            case "m": 60
            case "h": 3600
            case "d": 86400
            case "w": 7 * 86400
            default: nil
            }
            if let mult {
                let (seconds, overflow) = n.multipliedReportingOverflow(by: mult)
                guard !overflow, seconds <= Timestamp.supported.upperBound - Timestamp.supported.lowerBound else {
                    throw TidemarkError(.invalidArgument, "'\(text.prefix(40))' is too far in the past (times are the years 1 to 9999)")
                }
                return .ago(seconds)
            }
        }
        if let ts = Timestamp.parseISO8601(t) { return .absolute(ts) }
        throw TidemarkError(
            .invalidArgument,
            "'\(text)' is not a time: use ISO 8601 (2025-01-21, 2025-01-21T10:00:00Z, 2025-01-21T11:00:00+01:00) or a relative time (-30m, -2h, -3d, -1w)")
    }

    /// The spec as a user would write it again (what a client sends to a server, which resolves
    /// relative times by its own clock).
    public var text: String {
        switch self {
        case .absolute(let t): return t.iso8601
        case .ago(let s): return "-\(s)s"
        case .now: return "now"
        }
    }

    public func resolve(now: Timestamp) -> Timestamp {
        switch self {
        case .absolute(let t): return t
        case .ago(let s): return Timestamp(seconds: max(Timestamp.supported.lowerBound, now.seconds - s))
        case .now: return now
        }
    }
}

extension StringProtocol {
    /// The text without leading and trailing blanks and line ends.
    public var trimmed: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\n" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\n" || l == "\r" { s = s.dropLast() }
        return String(s)
    }
}
