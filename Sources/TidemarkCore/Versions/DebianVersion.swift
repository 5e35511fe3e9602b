/// dpkg's version syntax and order, reproduced from dpkg 1.21 (`lib/dpkg/parsehelp.c`
/// `parseversion` and `lib/dpkg/version.c` `verrevcmp`), so that "newer" on a Debian host means
/// exactly what it means to dpkg and apt.
///
/// A version is `[EPOCH:]UPSTREAM[-REVISION]`; the result is an `EVR` whose `release` is the
/// Debian revision (empty for native packages). Everything works on UTF-8 bytes like the C code.
public enum DebianVersion {
    /// Parses a version the way `dpkg --compare-versions` does; `nil` where dpkg reports an
    /// error and refuses to compare.
    ///
    /// Blanks (space, tab) around the string are ignored. Errors: empty, a blank inside, an
    /// epoch (text before the first `:`) that is not a whole C `strtol` number (optional leading
    /// whitespace and sign, then digits) or is negative or exceeds `INT_MAX`, nothing after the
    /// `:`, an empty upstream version, an empty revision after the last `-`.
    ///
    /// Like dpkg, and unlike Debian policy, this accepts (dpkg only warns) an upstream version
    /// not starting with a digit and characters outside `[A-Za-z0-9.+~:-]` (upstream) or
    /// `[A-Za-z0-9.+~]` (revision): such versions occur on real systems and dpkg orders them.
    /// dpkg's CLI also takes `""` and `<unknown>` as the blank version; that convention of the
    /// CLI is not mirrored here.
    public static func parse(_ s: String) -> EVR? {
        var bytes = Array(s.utf8.prefix { $0 != 0 })  // what C would see
        // Leading and trailing blanks (c_isblank: space and tab only) are trimmed; a blank
        // inside is an error. Other control characters (even newlines) only earn a warning.
        while let f = bytes.first, isBlank(f) { bytes.removeFirst() }
        while let l = bytes.last, isBlank(l) { bytes.removeLast() }
        guard !bytes.isEmpty, !bytes.contains(where: isBlank) else { return nil }

        var epoch = 0
        var rest = bytes[...]
        if let colon = bytes.firstIndex(of: UInt8(ascii: ":")) {
            guard let e = strtolEpoch(bytes[..<colon]) else { return nil }
            epoch = e
            rest = bytes[(colon + 1)...]
            guard !rest.isEmpty else { return nil }  // "nothing after colon"
        }
        var upstream = rest, revision = rest[rest.endIndex...]
        if let dash = rest.lastIndex(of: UInt8(ascii: "-")) {
            upstream = rest[..<dash]
            revision = rest[(dash + 1)...]
            guard !revision.isEmpty else { return nil }  // "revision number is empty"
        }
        guard !upstream.isEmpty else { return nil }  // "version number is empty"
        return EVR(epoch: epoch, version: String(decoding: upstream, as: UTF8.self),
                   release: String(decoding: revision, as: UTF8.self))
    }

    /// dpkg's `dpkg_version_compare`: epoch numerically, then upstream version, then revision,
    /// each with `verrevcmp`; returns -1, 0 or 1.
    ///
    /// `verrevcmp` alternates non-digit and digit runs. Non-digit runs compare character by
    /// character with `~` before the end of the string, the end before letters, and letters
    /// before everything else (so `1.0~rc1` < `1.0` < `1.0a` < `1.0+b1`). Digit runs compare as
    /// numbers of any length, and an absent run counts as 0, so an empty revision equals `0`
    /// (`1.0` == `1.0-0`).
    public static func compare(_ a: EVR, _ b: EVR) -> Int {
        if a.epoch != b.epoch { return a.epoch < b.epoch ? -1 : 1 }
        let rc = verrevcmp(Array(a.version.utf8), Array(b.version.utf8))
        if rc != 0 { return rc }
        return verrevcmp(Array(a.release.utf8), Array(b.release.utf8))
    }

    /// Compares two full version strings like `dpkg --compare-versions`; returns -1, 0 or 1.
    ///
    /// A string dpkg would reject (see `parse`) is compared as an upstream version with epoch 0
    /// and no revision, so the result is still a total order; call `parse` first where rejecting
    /// it matters.
    public static func compare(_ a: String, _ b: String) -> Int {
        compare(parse(a) ?? EVR(version: a, release: ""), parse(b) ?? EVR(version: b, release: ""))
    }
}

// Nested and private so that helper names cannot collide with anything else in the module.
extension DebianVersion {
    /// `strtol(text, &end, 10)` must consume exactly the epoch text and give 0...INT_MAX.
    /// (dpkg's own checks: "empty", "not number", "negative", "too big".)
    private static func strtolEpoch(_ text: ArraySlice<UInt8>) -> Int? {
        var digits = text.drop(while: isSpace)  // strtol skips isspace, sign, then digits
        var negative = false
        if let sign = digits.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            negative = sign == UInt8(ascii: "-")
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty, digits.allSatisfy(isDigit) else { return nil }
        var value = 0
        for d in digits {
            value = value * 10 + Int(d - UInt8(ascii: "0"))
            if value > Int(Int32.max) { return nil }
        }
        // "-0" is zero, not negative; any other minus is an error.
        if negative && value != 0 { return nil }
        return value
    }

    /// dpkg's `order`: digits (and the end) 0, `~` -1, letters their code, anything else its
    /// code + 256. dpkg passes a signed `char`, so a non-ASCII byte b arrives as b - 256 and ends
    /// up as b: after the letters, before ASCII punctuation.
    private static func order(_ c: UInt8?) -> Int {
        guard let c else { return 0 }
        if isDigit(c) { return 0 }
        if isAlpha(c) { return Int(c) }
        if c == UInt8(ascii: "~") { return -1 }
        if c >= 0x80 { return Int(c) }
        return Int(c) + 256
    }

    /// dpkg's `verrevcmp`, transcribed (indices instead of pointers; `nil` is the C terminator).
    private static func verrevcmp(_ a: [UInt8], _ b: [UInt8]) -> Int {
        let a = a.prefix { $0 != 0 }, b = b.prefix { $0 != 0 }
        func at(_ s: ArraySlice<UInt8>, _ i: Int) -> UInt8? { i < s.endIndex ? s[i] : nil }
        func nonDigit(_ c: UInt8?) -> Bool { c.map { !isDigit($0) } ?? false }
        var i = 0, j = 0
        while i < a.endIndex || j < b.endIndex {
            var firstDiff = 0
            while nonDigit(at(a, i)) || nonDigit(at(b, j)) {
                let ac = order(at(a, i)), bc = order(at(b, j))
                if ac != bc { return ac < bc ? -1 : 1 }
                i += 1; j += 1
            }
            while at(a, i) == UInt8(ascii: "0") { i += 1 }
            while at(b, j) == UInt8(ascii: "0") { j += 1 }
            while let x = at(a, i), let y = at(b, j), isDigit(x), isDigit(y) {
                if firstDiff == 0 { firstDiff = Int(x) - Int(y) }
                i += 1; j += 1
            }
            if let x = at(a, i), isDigit(x) { return 1 }
            if let y = at(b, j), isDigit(y) { return -1 }
            if firstDiff != 0 { return firstDiff < 0 ? -1 : 1 }
        }
        return 0
    }

    // dpkg's c_isdigit/c_isalpha/c_isblank and strtol's isspace (C locale): ASCII only.
    private static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    private static func isAlpha(_ c: UInt8) -> Bool { (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }
    private static func isBlank(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }
    private static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0D) }
}
