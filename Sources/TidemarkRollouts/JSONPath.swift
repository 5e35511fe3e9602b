import TidemarkCore

/// A JSON document as an HTTP check reads it. Numbers keep the text they were written with
/// (`3`, `1.50`, `2e3`), so a check compares what the endpoint said with what the policy says,
/// character for character, and never through a lossy `Double`.
public indirect enum JSONValue: Sendable, Hashable {
    /// Keys are unique; a document that repeats a key keeps the last value (as most parsers do).
    case object([String: JSONValue])
    case array([JSONValue])
    case string(String)
    /// The number exactly as written in the document.
    case number(String)
    case bool(Bool)
    case null

    /// Deeper documents are refused (a hostile endpoint must not exhaust the stack).
    public static let maxDepth = 256

    /// Parses a complete JSON document (RFC 8259; only white space may follow the value).
    public static func parse(_ bytes: [UInt8]) throws(TidemarkError) -> JSONValue {
        var reader = JSONReader(bytes)
        let value = try read(&reader, depth: 0)
        try reader.end()
        return value
    }

    public static func parse(_ text: String) throws(TidemarkError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    private static func read(_ r: inout JSONReader, depth: Int) throws(TidemarkError) -> JSONValue {
        guard depth < maxDepth else { throw r.syntax("nested more than \(maxDepth) levels deep") }
        switch try r.kind() {
        case .object:
            var members: [String: JSONValue] = [:]
            try r.readObject(at: "") { r, key throws(TidemarkError) in
                members[key] = try read(&r, depth: depth + 1)
            }
            return .object(members)
        case .array:
            var elements: [JSONValue] = []
            try r.readArray(at: "") { r, _ throws(TidemarkError) in
                elements.append(try read(&r, depth: depth + 1))
            }
            return .array(elements)
        case .string:
            return .string(try r.readString(at: ""))
        case .number:
            let range = try r.skipValue()
            return .number(String(decoding: r.bytes[range], as: UTF8.self))
        case .bool:
            return .bool(try r.readBool(at: ""))
        case .null:
            _ = try r.readNull()
            return .null
        }
    }

    /// A scalar as text: a string without quotes, a number as written, `true`, `false`, `null`;
    /// nil for an object or an array.
    public var scalarText: String? {
        switch self {
        case .string(let s): s
        case .number(let n): n
        case .bool(let b): b ? "true" : "false"
        case .null: "null"
        case .object, .array: nil
        }
    }

    /// "an object", "an array", "a string", "a number", "a boolean", "null": for messages.
    public var kindName: String {
        switch self {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        }
    }
}

/// A small, exact JSONPath: `$`, then any number of `.key`, `['key']` / `["key"]` and `[N]`
/// (N a non-negative index). Nothing else (no wildcards, slices, filters, recursive descent,
/// negative indices): a path selects exactly one value or none, so a check can never be
/// satisfied by "some" element. Dot keys are ASCII letters, digits, `_` and `-` (and any
/// non-ASCII letter); any other key is written in brackets, where `\\`, `\'`, `\"`, `\/`, `\b`,
/// `\f`, `\n`, `\r`, `\t` and `\uXXXX` are escapes.
public struct JSONPath: Sendable, Hashable, CustomStringConvertible {
    public enum Step: Sendable, Hashable {
        case key(String)
        case index(Int)
    }

    /// The path as written.
    public let text: String
    public let steps: [Step]

    /// Why a path selected nothing: `at` is the part of the path that did resolve (`$.builds`),
    /// `reason` what stopped it (`has no index 3 (2 elements)`).
    public struct Miss: Error, Sendable, Hashable, CustomStringConvertible {
        public var at: String
        public var reason: String
        public var description: String { "\(at) \(reason)" }
    }

    /// Parses `text`; an error names the (1-based) character position that is wrong:
    /// `'$.a[x]' at position 5: expected an index or a quoted key after '['`.
    public init(_ text: String) throws(TidemarkError) {
        self.text = text
        var parser = Parser(Array(text))
        do {
            steps = try parser.parse()
        } catch {
            throw TidemarkError(.invalidInput, "'\(text)' at position \(error.position): \(error.message)")
        }
    }

    public var description: String { text }

    /// The one value the path selects.
    public func evaluate(_ root: JSONValue) -> Result<JSONValue, Miss> {
        var current = root, at = "$"
        for step in steps {
            switch (step, current) {
            case (.key(let k), .object(let members)):
                guard let v = members[k] else { return .failure(Miss(at: at, reason: "has no key \(Self.quote(k))")) }
                current = v
            case (.key(let k), _):
                return .failure(Miss(at: at, reason: "is \(current.kindName), not an object (looking for key \(Self.quote(k)))"))
            case (.index(let i), .array(let elements)):
                guard i < elements.count else {
                    return .failure(Miss(at: at, reason: "has no index \(i) (\(elements.count) element\(elements.count == 1 ? "" : "s"))"))
                }
                current = elements[i]
            case (.index(let i), _):
                return .failure(Miss(at: at, reason: "is \(current.kindName), not an array (looking for index \(i))"))
            }
            at += Self.render(step)
        }
        return .success(current)
    }

    /// `$` and the steps in canonical form: `.key` where that is unambiguous, else `['key']`.
    public var canonical: String { "$" + steps.map(Self.render).joined() }

    static func render(_ step: Step) -> String {
        switch step {
        case .index(let i): return "[\(i)]"
        case .key(let k):
            if !k.isEmpty, k.allSatisfy(Parser.isDotKeyCharacter) { return "." + k }
            var s = "['"
            for c in k.unicodeScalars {
                switch c {
                case "\\": s += "\\\\"
                case "'": s += "\\'"
                case "\n": s += "\\n"
                case "\t": s += "\\t"
                case "\r": s += "\\r"
                default: s.unicodeScalars.append(c)
                }
            }
            return s + "']"
        }
    }

    static func quote(_ key: String) -> String { "'" + key + "'" }

    struct Parser {
        struct Failure: Error {
            var position: Int
            var message: String
        }

        let chars: [Character]
        var i = 0

        init(_ chars: [Character]) { self.chars = chars }

        static func isDotKeyCharacter(_ c: Character) -> Bool {
            if c.isASCII { return c.isLetter || c.isNumber || c == "_" || c == "-" }
            return c.isLetter || c.isNumber
        }

        /// 1-based position of character `at` (or just past the end).
        func fail(_ message: String, at: Int? = nil) -> Failure {
            Failure(position: (at ?? i) + 1, message: message)
        }

        var peek: Character? { i < chars.count ? chars[i] : nil }

        mutating func parse() throws(Failure) -> [Step] {
            guard peek == "$" else {
                throw fail(chars.isEmpty ? "a path starts with '$' (the path is empty)" : "a path starts with '$', not '\(chars[0])'")
            }
            i += 1
            var steps: [Step] = []
            while let c = peek {
                switch c {
                case ".":
                    i += 1
                    if peek == "." { throw fail("'..' (recursive descent) is not supported; name every step", at: i - 1) }
                    if peek == "*" { throw fail("wildcards are not supported; a path selects one value") }
                    let start = i
                    while let k = peek, Self.isDotKeyCharacter(k) { i += 1 }
                    guard i > start else {
                        if let k = peek { throw fail("'\(k)' cannot start a .key; write ['…'] for such keys") }
                        throw fail("expected a key after '.'")
                    }
                    steps.append(.key(String(chars[start..<i])))
                case "[":
                    i += 1
                    steps.append(try bracket())
                default:
                    throw fail("unexpected '\(c)'; expected '.key', '[N]' or ['key']")
                }
            }
            return steps
        }

        mutating func skipSpaces() {
            while peek == " " { i += 1 }
        }

        mutating func bracket() throws(Failure) -> Step {
            skipSpaces()
            guard let c = peek else { throw fail("expected an index or a quoted key after '['") }
            let step: Step
            switch c {
            case "'", "\"":
                step = .key(try quoted(c))
            case "0"..."9":
                let start = i
                while let d = peek, d.isASCII, d.isNumber { i += 1 }
                let digits = String(chars[start..<i])
                guard digits.count == 1 || !digits.hasPrefix("0") else { throw fail("an index has no leading zeros", at: start) }
                guard let n = Int(digits) else { throw fail("index \(digits) is too large", at: start) }
                step = .index(n)
            case "-":
                throw fail("negative indices are not supported; count from the start")
            case "*":
                throw fail("wildcards are not supported; a path selects one value")
            case "?":
                throw fail("filters are not supported")
            case ":":
                throw fail("slices are not supported")
            default:
                throw fail("expected an index or a quoted key after '[', got '\(c)'")
            }
            skipSpaces()
            guard let close = peek else { throw fail("expected ']'") }
            guard close == "]" else {
                if close == ":" { throw fail("slices are not supported") }
                if close == "," { throw fail("unions are not supported; a path selects one value") }
                throw fail("expected ']', got '\(close)'")
            }
            i += 1
            return step
        }

        mutating func quoted(_ q: Character) throws(Failure) -> String {
            let open = i
            i += 1
            var out = ""
            while let c = peek {
                i += 1
                if c == q { return out }
                guard c == "\\" else {
                    out.append(c)
                    continue
                }
                guard let e = peek else { break }
                i += 1
                switch e {
                case "\\": out.append("\\")
                case "'": out.append("'")
                case "\"": out.append("\"")
                case "/": out.append("/")
                case "b": out.append("\u{8}")
                case "f": out.append("\u{c}")
                case "n": out.append("\n")
                case "r": out.append("\r")
                case "t": out.append("\t")
                case "u":
                    var v = try hex4()
                    if (0xD800...0xDBFF).contains(v) {
                        guard peek == "\\", i + 1 < chars.count, chars[i + 1] == "u" else { throw fail("a \\u high surrogate must be followed by a \\u low surrogate") }
                        i += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw fail("expected a \\u low surrogate", at: i - 6) }
                        v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(v) else { throw fail("\\u escape is not a character", at: i - 6) }
                    out.unicodeScalars.append(scalar)
                default:
                    throw fail("unknown escape '\\\(e)'", at: i - 2)
                }
            }
            throw fail("unterminated \(q == "'" ? "'…'" : "\"…\"") key", at: open)
        }

        mutating func hex4() throws(Failure) -> UInt32 {
            var v: UInt32 = 0
            for _ in 0..<4 {
                guard let c = peek, let d = c.hexDigitValue, c.isASCII else { throw fail("expected 4 hex digits after \\u") }
                v = v * 16 + UInt32(d)
                i += 1
            }
            return v
        }
    }
}
