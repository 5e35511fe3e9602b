/// A pull reader over UTF-8 JSON bytes, for the one document that is both large and frequent:
/// an observation with thousands of packages. Foundation's `JSONDecoder` builds a tree of the
/// whole document first and then walks it through `Codable`'s dynamic containers; reading the
/// bytes straight into values is several times faster, which is what lets one server take many
/// changed snapshots a second.
///
/// Errors are `TidemarkError(.invalidInput)` naming the field path (`packages[3].evr.version:
/// expected a string`) or, for broken syntax, the byte offset.
public struct JSONReader {
    public let bytes: [UInt8]
    public private(set) var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// JSON's value kinds, as seen from the next byte.
    public enum Kind: Sendable { case object, array, string, number, bool, null }

    // MARK: structure

    public mutating func kind() throws(TidemarkError) -> Kind {
        skipSpace()
        guard offset < bytes.count else { throw syntax("unexpected end of input") }
        switch bytes[offset] {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "n"): return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        default: throw syntax("unexpected character \(Self.show(bytes[offset]))")
        }
    }

    /// Calls `body` with each key of the object at the cursor; `body` must read (or skip) the value.
    public mutating func readObject(at path: @autoclosure () -> String, _ body: (inout JSONReader, String) throws(TidemarkError) -> Void) throws(TidemarkError) {
        guard try kind() == .object else { throw mismatch(path(), "an object") }
        offset += 1
        skipSpace()
        if peek == UInt8(ascii: "}") {
            offset += 1
            return
        }
        while true {
            skipSpace()
            guard peek == UInt8(ascii: "\"") else { throw syntax("expected a key") }
            let key = try rawString()
            skipSpace()
            guard peek == UInt8(ascii: ":") else { throw syntax("expected ':' after key \"\(key)\"") }
            offset += 1
            try body(&self, key)
            skipSpace()
            guard offset < bytes.count else { throw syntax("unexpected end of input in an object") }
            if bytes[offset] == UInt8(ascii: ",") {
                offset += 1
                continue
            }
            if bytes[offset] == UInt8(ascii: "}") {
                offset += 1
                return
            }
            throw syntax("expected ',' or '}'")
        }
    }

    /// Calls `body` with each index of the array at the cursor; `body` must read the element.
    public mutating func readArray(at path: @autoclosure () -> String, _ body: (inout JSONReader, Int) throws(TidemarkError) -> Void) throws(TidemarkError) {
        guard try kind() == .array else { throw mismatch(path(), "an array") }
        offset += 1
        skipSpace()
        if peek == UInt8(ascii: "]") {
            offset += 1
            return
        }
        var index = 0
        while true {
            try body(&self, index)
            index += 1
            skipSpace()
            guard offset < bytes.count else { throw syntax("unexpected end of input in an array") }
            if bytes[offset] == UInt8(ascii: ",") {
                offset += 1
                continue
            }
            if bytes[offset] == UInt8(ascii: "]") {
                offset += 1
                return
            }
            throw syntax("expected ',' or ']'")
        }
    }

    /// True (and consumed) when the value at the cursor is `null`.
    public mutating func readNull() throws(TidemarkError) -> Bool {
        guard try kind() == .null else { return false }
        try literal("null")
        return true
    }

    /// Skips one value of any kind, checking its syntax; returns its byte range.
    @discardableResult
    public mutating func skipValue() throws(TidemarkError) -> Range<Int> {
        let k = try kind()
        let start = offset
        switch k {
        case .object: try readObject(at: "") { r, _ throws(TidemarkError) in try r.skipValue() }
        case .array: try readArray(at: "") { r, _ throws(TidemarkError) in try r.skipValue() }
        case .string: _ = try rawString()
        case .number: _ = try numberText()
        case .bool: _ = try readBool(at: "")
        case .null: try literal("null")
        }
        return start..<offset
    }

    /// A guess at the object at the cursor: from it to just past the `closingBraces`-th `}` byte,
    /// found eight bytes at a time without looking at strings or nesting. Only a caller that can
    /// confirm the guess may use it: `WirePackageCache` confirms by finding exactly those bytes
    /// among objects it has parsed before (a complete JSON value is never a prefix of another),
    /// and parses in full otherwise. Nil when the cursor is not at `{` or the bytes run out.
    mutating func guessObject(closingBraces: Int) -> Range<Int>? {
        skipSpace()
        let start = offset, n = bytes.count
        guard start < n, bytes[start] == UInt8(ascii: "{") else { return nil }
        return bytes.withUnsafeBytes { b -> Range<Int>? in
            var i = start + 1, found = 0
            while i < n {
                if i + 8 <= n {
                    let w = b.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ 0x7D7D_7D7D_7D7D_7D7D
                    if (w &- 0x0101_0101_0101_0101) & ~w & 0x8080_8080_8080_8080 == 0 {
                        i += 8
                        continue
                    }
                }
                if b[i] == UInt8(ascii: "}") {
                    found += 1
                    if found == closingBraces { return start..<(i + 1) }
                }
                i += 1
            }
            return nil
        }
    }

    /// Moves the cursor to `offset` (the end of a confirmed `guessObject`).
    mutating func seek(to offset: Int) { self.offset = offset }

    /// Moves past white space (before noting where a value starts).
    mutating func skipWhiteSpace() { skipSpace() }

    /// After the top-level value: only white space may follow.
    public mutating func end() throws(TidemarkError) {
        skipSpace()
        guard offset == bytes.count else { throw syntax("unexpected \(Self.show(bytes[offset])) after the document") }
    }

    // MARK: scalars

    public mutating func readString(at path: @autoclosure () -> String) throws(TidemarkError) -> String {
        guard try kind() == .string else { throw mismatch(path(), "a string") }
        return try rawString()
    }

    public mutating func readInt64(at path: @autoclosure () -> String) throws(TidemarkError) -> Int64 {
        guard try kind() == .number else { throw mismatch(path(), "an integer") }
        let (text, integer) = try numberText()
        guard integer else { throw TidemarkError(.invalidInput, "\(path()): expected an integer, found \(text)") }
        guard let n = Int64(text) else { throw TidemarkError(.invalidInput, "\(path()): \(text) is not a 64-bit integer") }
        return n
    }

    public mutating func readBool(at path: @autoclosure () -> String) throws(TidemarkError) -> Bool {
        guard try kind() == .bool else { throw mismatch(path(), "a boolean") }
        if bytes[offset] == UInt8(ascii: "t") {
            try literal("true")
            return true
        }
        try literal("false")
        return false
    }

    public mutating func readOptionalString(at path: @autoclosure () -> String) throws(TidemarkError) -> String? {
        try readNull() ? nil : try readString(at: path())
    }

    public mutating func readOptionalInt64(at path: @autoclosure () -> String) throws(TidemarkError) -> Int64? {
        try readNull() ? nil : try readInt64(at: path())
    }

    // MARK: errors

    public func mismatch(_ path: String, _ expected: String) -> TidemarkError {
        let found: String
        if offset < bytes.count {
            switch bytes[offset] {
            case UInt8(ascii: "{"): found = "an object"
            case UInt8(ascii: "["): found = "an array"
            case UInt8(ascii: "\""): found = "a string"
            case UInt8(ascii: "t"), UInt8(ascii: "f"): found = "a boolean"
            case UInt8(ascii: "n"): found = "null"
            default: found = "a number"
            }
        } else {
            found = "the end of input"
        }
        return TidemarkError(.invalidInput, "\(path.isEmpty ? "body" : path): expected \(expected), found \(found)")
    }

    public func syntax(_ what: String) -> TidemarkError {
        TidemarkError(.invalidInput, "body is not valid JSON: \(what) at byte \(offset)")
    }

    // MARK: lexing

    private var peek: UInt8? { offset < bytes.count ? bytes[offset] : nil }

    private mutating func skipSpace() {
        while offset < bytes.count {
            switch bytes[offset] {
            case 0x20, 0x0a, 0x0d, 0x09: offset += 1
            default: return
            }
        }
    }

    private mutating func literal(_ word: StaticString) throws(TidemarkError) {
        let n = word.utf8CodeUnitCount
        guard offset + n <= bytes.count else { throw syntax("unexpected end of input") }
        let ok = word.withUTF8Buffer { w in
            for i in 0..<n where bytes[offset + i] != w[i] { return false }
            return true
        }
        guard ok else { throw syntax("unexpected character \(Self.show(bytes[offset]))") }
        offset += n
    }

    private mutating func numberText() throws(TidemarkError) -> (text: String, integer: Bool) {
        let start = offset
        if peek == UInt8(ascii: "-") { offset += 1 }
        var digits = 0
        while let c = peek, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") {
            offset += 1
            digits += 1
        }
        guard digits > 0 else { throw syntax("a number needs digits") }
        // JSON (and JSONDecoder) refuse 007: a leading zero stands alone.
        guard digits == 1 || bytes[offset - digits] != UInt8(ascii: "0") else { throw syntax("a number with a leading zero") }
        var integer = true
        if peek == UInt8(ascii: ".") {
            integer = false
            offset += 1
            var fraction = 0
            while let c = peek, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") {
                offset += 1
                fraction += 1
            }
            guard fraction > 0 else { throw syntax("a fraction needs digits") }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            integer = false
            offset += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { offset += 1 }
            var exponent = 0
            while let c = peek, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") {
                offset += 1
                exponent += 1
            }
            guard exponent > 0 else { throw syntax("an exponent needs digits") }
        }
        return (String(decoding: bytes[start..<offset], as: UTF8.self), integer)
    }

    /// The string at the cursor (opening quote included), unescaped; refuses invalid UTF-8.
    private mutating func rawString() throws(TidemarkError) -> String {
        offset += 1
        let start = offset
        var ascii = true
        // Fast path: no escapes.
        while offset < bytes.count {
            let c = bytes[offset]
            if c == UInt8(ascii: "\"") {
                let end = offset
                offset += 1
                if ascii {
                    return bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[start..<end]), as: UTF8.self) }
                }
                guard let string = String(validating: bytes[start..<end], as: UTF8.self) else { throw syntax("invalid UTF-8 in a string") }
                return string
            }
            if c == UInt8(ascii: "\\") { break }
            guard c >= 0x20 else { throw syntax("unescaped control character in a string") }
            if c >= 0x80 { ascii = false }
            offset += 1
        }
        var out = Array(bytes[start..<offset])
        while offset < bytes.count {
            let c = bytes[offset]
            switch c {
            case UInt8(ascii: "\""):
                offset += 1
                guard let string = String(validating: out, as: UTF8.self) else { throw syntax("invalid UTF-8 in a string") }
                return string
            case UInt8(ascii: "\\"):
                offset += 1
                guard let e = peek else { throw syntax("unexpected end of input in a string") }
                offset += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0c)
                case UInt8(ascii: "n"): out.append(0x0a)
                case UInt8(ascii: "r"): out.append(0x0d)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard offset + 1 < bytes.count, bytes[offset] == UInt8(ascii: "\\"), bytes[offset + 1] == UInt8(ascii: "u") else {
                            throw syntax("unpaired surrogate \\u\(String(scalar, radix: 16))")
                        }
                        offset += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw syntax("unpaired surrogate \\u\(String(scalar, radix: 16))") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw syntax("unpaired surrogate \\u\(String(scalar, radix: 16))")
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw syntax("invalid \\u escape") }
                    out.append(contentsOf: Array(String(Character(u)).utf8))
                default:
                    throw syntax("invalid escape \\\(Self.show(e))")
                }
            default:
                guard c >= 0x20 else { throw syntax("unescaped control character in a string") }
                out.append(c)
                offset += 1
            }
        }
        throw syntax("unterminated string")
    }

    private mutating func hex4() throws(TidemarkError) -> UInt32 {
        guard offset + 4 <= bytes.count else { throw syntax("unexpected end of input in a \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[offset]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw syntax("invalid \\u escape")
            }
            v = v << 4 | d
            offset += 1
        }
        return v
    }

    private static func show(_ c: UInt8) -> String {
        c >= 0x21 && c < 0x7f ? "'\(Character(Unicode.Scalar(c)))'" : "byte 0x\(String(c, radix: 16))"
    }
}

/// Writes JSON straight into bytes (the counterpart of `JSONReader` for the same hot document).
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    public init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    public mutating func raw(_ s: StaticString) { s.withUTF8Buffer { bytes.append(contentsOf: $0) } }
    public mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }

    /// `"key":` (keys here are plain ASCII identifiers, written as given).
    public mutating func key(_ k: StaticString) {
        bytes.append(UInt8(ascii: "\""))
        raw(k)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    public mutating func string(_ s: String) { JSONWriter.quote(s, into: &bytes) }

    /// Appends `s` as a JSON string literal, byte by byte (UTF-8 passes through unchanged): the
    /// one string escaper, shared with the store's bulk rows.
    public static func quote(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\t"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hexDigits[Int(b >> 4)], hexDigits[Int(b & 15)]])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    public mutating func optionalString(_ s: String?) {
        if let s { string(s) } else { raw("null") }
    }

    public mutating func int(_ n: Int64) { bytes.append(contentsOf: String(n).utf8) }
}
