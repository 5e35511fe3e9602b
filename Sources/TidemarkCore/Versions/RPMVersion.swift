/// rpm's version order, reproduced byte for byte from rpm 4.18 (`rpmio/rpmvercmp.c` and
/// `rpmio/rpmver.c`) so that "newer" in Tidemark means exactly what it means to rpm itself.
///
/// Everything works on the UTF-8 bytes of the strings, like the C code; only ASCII letters and
/// digits form segments, every other byte (including non-ASCII) is a separator. A NUL byte ends
/// a string, as it would in C.
public enum RPMVersion {
    /// rpm's `rpmvercmp`: compares one version (or release) string; returns -1, 0 or 1.
    ///
    /// Rules, in rpm's own order: identical strings are equal; separators (anything but ASCII
    /// alphanumerics, `~` and `^`) only delimit segments; `~` sorts before everything, even the
    /// end of the string (`1.0~rc1` < `1.0`); `^` sorts after the end but before any further
    /// segment (`1.0` < `1.0^git1` < `1.0.1`); numeric segments compare as numbers of any length
    /// (`1.01` == `1.1`) and beat alphabetic ones (`1.0a` < `1.0.1`); alphabetic segments compare
    /// with `strcmp` (so `B` < `a`); if all segments match, the string with something left wins,
    /// except that trailing separators do not count (`1.0` == `1.0.`).
    public static func compare(_ a: String, _ b: String) -> Int {
        vercmp(cBytes(a), cBytes(b))
    }

    /// rpm's `rpmverCmp` on an `EVR`: epoch numerically, then version, then release, each part
    /// with `rpmvercmp`.
    ///
    /// rpm treats a missing release specially (`compare_values` in `rpmver.c`): no release equals
    /// no release, and any release, even one that `rpmvercmp` would put below the empty string
    /// (`~1`), is newer than none. `EVR` has no "missing", so an empty `release` stands for it,
    /// which is how `parseEVR` maps a string without `-`.
    public static func compareEVR(_ a: EVR, _ b: EVR) -> Int {
        if a.epoch != b.epoch { return a.epoch < b.epoch ? -1 : 1 }
        let v = compare(a.version, b.version)
        if v != 0 { return v }
        switch (a.release.isEmpty, b.release.isEmpty) {
        case (true, true): return 0
        case (false, true): return 1
        case (true, false): return -1
        case (false, false): return compare(a.release, b.release)
        }
    }

    /// rpm's `rpmverParse`: `[EPOCH:]VERSION[-RELEASE]`, where EPOCH is whatever run of digits
    /// (possibly none) starts the string, and only counts when a `:` follows it; the release is
    /// what follows the last `-`. Nothing is ever rejected.
    ///
    /// So `abc:1` is the version `abc:1` with no epoch, `:1` has epoch 0, and `1:2:3` is epoch 1,
    /// version `2:3`. Two things `EVR` cannot hold are approximated: an epoch above `Int.max`
    /// becomes `Int.max`, and an empty release after a trailing `-` becomes "no release"
    /// (rpm sorts `1.0-` after `1.0`). `compareEVRStrings` has neither approximation.
    public static func parseEVR(_ s: String) -> EVR {
        let p = RawEVR(cBytes(s))
        var epoch = 0
        if let e = p.epoch {
            for d in e {
                let (m, o1) = epoch.multipliedReportingOverflow(by: 10)
                let (r, o2) = m.addingReportingOverflow(Int(d - UInt8(ascii: "0")))
                if o1 || o2 { epoch = Int.max; break }
                epoch = r
            }
        }
        return EVR(epoch: epoch, version: String(decoding: p.version, as: UTF8.self),
                   release: p.release.map { String(decoding: $0, as: UTF8.self) } ?? "")
    }

    /// Compares two full `[EPOCH:]VERSION[-RELEASE]` strings exactly as rpm 4.18's lua
    /// `rpm.vercmp(a, b)` does (`rpmverParse` on each, then `rpmverCmp`); returns -1, 0 or 1.
    ///
    /// Equal to `compareEVR(parseEVR(a), parseEVR(b))` except for the two approximations noted on
    /// `parseEVR`, which this function does not make. rpm rejects an empty string; here it is
    /// the empty version.
    public static func compareEVRStrings(_ a: String, _ b: String) -> Int {
        let x = RawEVR(cBytes(a)), y = RawEVR(cBytes(b))
        var rc = vercmp(x.epoch ?? zeroEpoch, y.epoch ?? zeroEpoch)
        if rc == 0 {
            rc = vercmp(x.version, y.version)
            if rc == 0 { rc = compareOptional(x.release, y.release) }
        }
        return rc
    }
}

// MARK: - The C algorithms

// Nested and private so that helper names cannot collide with anything else in the module.
extension RPMVersion {

    /// `parseEVR` of `rpmver.c` on bytes; `nil` means the C pointer was NULL (part absent).
    private struct RawEVR {
        var epoch: [UInt8]?
        var version: [UInt8]
        var release: [UInt8]?

        init(_ s: [UInt8]) {
            var k = 0
            while k < s.count, isDigit(s[k]) { k += 1 }
            // strrchr(s, '-') from the end of the digit run; digits hold no '-', so this is the last '-'.
            let dash = s.lastIndex(of: UInt8(ascii: "-"))
            var versionStart = 0
            if k < s.count, s[k] == UInt8(ascii: ":") {
                epoch = k == 0 ? zeroEpoch : Array(s[0..<k])
                versionStart = k + 1
            } else {
                epoch = nil
            }
            if let dash {
                version = Array(s[versionStart..<dash])
                release = Array(s[(dash + 1)...])
            } else {
                version = Array(s[versionStart...])
                release = nil
            }
        }
    }

    private static let zeroEpoch: [UInt8] = [UInt8(ascii: "0")]

    /// `compare_values` of `rpmver.c`: a present part beats an absent one.
    private static func compareOptional(_ a: [UInt8]?, _ b: [UInt8]?) -> Int {
        switch (a, b) {
        case (nil, nil): return 0
        case (.some, nil): return 1
        case (nil, .some): return -1
        case let (a?, b?): return vercmp(a, b)
        }
    }

    /// `rpmvercmp` of rpm 4.18, transcribed statement by statement (indices instead of pointers).
    private static func vercmp(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a == b { return 0 }
        let tilde = UInt8(ascii: "~"), caret = UInt8(ascii: "^"), zero = UInt8(ascii: "0")
        let n = a.count, m = b.count
        var i = 0, j = 0
        while i < n || j < m {
            while i < n, !isAlnum(a[i]), a[i] != tilde, a[i] != caret { i += 1 }
            while j < m, !isAlnum(b[j]), b[j] != tilde, b[j] != caret { j += 1 }

            // Tilde sorts before everything else, including the end of the string.
            let tildeA = i < n && a[i] == tilde, tildeB = j < m && b[j] == tilde
            if tildeA || tildeB {
                if !tildeA { return 1 }
                if !tildeB { return -1 }
                i += 1; j += 1
                continue
            }
            // Caret is like tilde, except that the end of the string sorts before it.
            let caretA = i < n && a[i] == caret, caretB = j < m && b[j] == caret
            if caretA || caretB {
                if i == n { return -1 }
                if j == m { return 1 }
                if !caretA { return 1 }
                if !caretB { return -1 }
                i += 1; j += 1
                continue
            }
            if i == n || j == m { break }

            // One all-digit or all-letter segment from each side, of the kind a's segment is.
            let isNum = isDigit(a[i])
            var endA = i, endB = j
            if isNum {
                while endA < n, isDigit(a[endA]) { endA += 1 }
                while endB < m, isDigit(b[endB]) { endB += 1 }
            } else {
                while endA < n, isAlpha(a[endA]) { endA += 1 }
                while endB < m, isAlpha(b[endB]) { endB += 1 }
            }
            // Segments of different kinds: numeric is newer than alphabetic.
            if endB == j { return isNum ? 1 : -1 }

            var startA = i, startB = j
            if isNum {
                while startA < endA, a[startA] == zero { startA += 1 }
                while startB < endB, b[startB] == zero { startB += 1 }
                let lenA = endA - startA, lenB = endB - startB
                if lenA != lenB { return lenA > lenB ? 1 : -1 }
            }
            let segA = a[startA..<endA], segB = b[startB..<endB]
            if segA != segB { return segA.lexicographicallyPrecedes(segB) ? -1 : 1 }
            i = endA; j = endB
        }
        if i == n && j == m { return 0 }
        return i == n ? -1 : 1
    }

    /// The bytes C would see: UTF-8, cut at the first NUL.
    private static func cBytes(_ s: String) -> [UInt8] {
        Array(s.utf8.prefix { $0 != 0 })
    }

    // rpm's risdigit/risalpha/risalnum: ASCII only, independent of locale.
    private static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    private static func isAlpha(_ c: UInt8) -> Bool { (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }
    private static func isAlnum(_ c: UInt8) -> Bool { isDigit(c) || isAlpha(c) }
}
