import TidemarkCore

/// A small pull scanner for the XML of rpm-md repositories (repomd.xml, primary.xml), so that
/// reading a mirror needs neither FoundationXML nor libxml2 at run time.
///
/// It checks well-formedness where it matters for trusting the data: tags nest and close,
/// attributes are quoted (either quote), entities are known (`&amp; &lt; &gt; &quot; &apos;`
/// and numeric references), the document has one root and is not cut short. It skips the XML
/// declaration, processing instructions, comments and a DOCTYPE; CDATA sections are text.
/// Namespaces are not resolved: names are compared with their prefixes (`rpm:entry`).
///
/// Every error is `TidemarkError(.corrupt, "FILE: what at line N")`.
struct XMLScanner {
    enum Event {
        /// A start tag; its attributes are in `attributes` until the next call of `next()`.
        /// A self-closing tag is followed by its `.end`.
        case start(name: Range<Int>)
        case end(name: Range<Int>)
        /// Character data, raw (entities not yet decoded): see `text(_:)`.
        case text(Range<Int>)
        /// The contents of a CDATA section, literal.
        case cdata(Range<Int>)
    }

    struct Attribute {
        var name: Range<Int>
        /// The raw value between the quotes (entities not yet decoded).
        var value: Range<Int>
    }

    let bytes: [UInt8]
    /// Names the document in errors.
    let file: String
    private(set) var pos = 0
    /// Open elements: name ranges and the offsets of their start tags.
    private(set) var stack: [(name: Range<Int>, offset: Int)] = []
    private(set) var attributes: [Attribute] = []
    private var pendingEnd: Range<Int>?
    private var sawRoot = false
    private var rootClosed = false

    init(bytes: [UInt8], file: String) {
        self.bytes = bytes
        self.file = file
        // A UTF-8 byte order mark is allowed before the declaration.
        if bytes.count >= 3, bytes[0] == 0xef, bytes[1] == 0xbb, bytes[2] == 0xbf { pos = 3 }
    }

    var depth: Int { stack.count }

    /// 1-based line of a byte offset (counted only when an error needs it).
    func line(at offset: Int) -> Int {
        var n = 1
        for i in 0..<min(offset, bytes.count) where bytes[i] == 0x0a { n += 1 }
        return n
    }

    func error(_ what: String, at offset: Int) -> TidemarkError {
        TidemarkError(.corrupt, "\(file): \(what) at line \(line(at: offset))")
    }

    func string(_ r: Range<Int>) -> String { String(decoding: bytes[r], as: UTF8.self) }

    func equals(_ r: Range<Int>, _ s: StaticString) -> Bool {
        s.withUTF8Buffer { b in
            guard b.count == r.count else { return false }
            var i = r.lowerBound
            for c in b {
                if bytes[i] != c { return false }
                i += 1
            }
            return true
        }
    }

    /// The decoded value of attribute `name` of the current start tag, nil when absent.
    func attribute(_ name: StaticString) throws(TidemarkError) -> String? {
        for a in attributes where equals(a.name, name) { return try decode(a.value) }
        return nil
    }

    /// Text with its entity and character references replaced.
    func decode(_ r: Range<Int>) throws(TidemarkError) -> String {
        guard bytes[r].contains(UInt8(ascii: "&")) else { return string(r) }
        var out: [UInt8] = []
        out.reserveCapacity(r.count)
        var i = r.lowerBound
        while i < r.upperBound {
            let b = bytes[i]
            guard b == UInt8(ascii: "&") else {
                out.append(b)
                i += 1
                continue
            }
            let (scalar, next) = try resolve(at: i, limit: r.upperBound)
            var buf = String(Character(scalar))
            buf.withUTF8 { out.append(contentsOf: $0) }
            i = next
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Checks the reference starting with the `&` at `i`; returns the offset after its `;`.
    private func reference(at i: Int, limit: Int) throws(TidemarkError) -> Int {
        try resolve(at: i, limit: limit).next
    }

    /// The character a reference (`&amp;`, `&#233;`, `&#xE9;`) at `i` stands for, and the
    /// offset after it.
    private func resolve(at i: Int, limit: Int) throws(TidemarkError) -> (scalar: Unicode.Scalar, next: Int) {
        guard let semi = bytes[i..<min(limit, i + 12)].firstIndex(of: UInt8(ascii: ";")) else {
            throw error("'&' that starts no entity reference (write &amp;)", at: i)
        }
        let name = String(decoding: bytes[(i + 1)..<semi], as: UTF8.self)
        switch name {
        case "amp": return ("&", semi + 1)
        case "lt": return ("<", semi + 1)
        case "gt": return (">", semi + 1)
        case "quot": return ("\"", semi + 1)
        case "apos": return ("'", semi + 1)
        default:
            guard name.hasPrefix("#") else { throw error("unknown entity &\(name);", at: i) }
            let hex = name.hasPrefix("#x")
            let digits = name.dropFirst(hex ? 2 : 1)
            guard !digits.isEmpty, digits.allSatisfy({ $0.isHexDigit }), let v = UInt32(digits, radix: hex ? 16 : 10), v != 0,
                let scalar = Unicode.Scalar(v)
            else {
                throw error("bad character reference &\(name);", at: i)
            }
            return (scalar, semi + 1)
        }
    }

    /// The next event, nil at the end of a well-formed document.
    mutating func next() throws(TidemarkError) -> Event? {
        if let end = pendingEnd {
            pendingEnd = nil
            stack.removeLast()
            if stack.isEmpty { rootClosed = true }
            return .end(name: end)
        }
        let n = bytes.count
        while pos < n {
            if bytes[pos] != UInt8(ascii: "<") {
                // Character data up to the next '<'
                let start = pos
                while pos < n, bytes[pos] != UInt8(ascii: "<") {
                    if bytes[pos] == UInt8(ascii: "&") {
                        pos = try reference(at: pos, limit: n)
                    } else {
                        pos += 1
                    }
                }
                if stack.isEmpty {
                    for i in start..<pos where !Self.isSpace(bytes[i]) {
                        throw error(rootClosed ? "text after the root element" : "text before the root element", at: i)
                    }
                    continue
                }
                return .text(start..<pos)
            }
            // Markup
            guard pos + 1 < n else { throw error("truncated: the document ends inside a tag", at: pos) }
            let c = bytes[pos + 1]
            if c == UInt8(ascii: "?") {
                pos = try skip(past: "?>", from: pos + 2, what: "processing instruction")
                continue
            }
            if c == UInt8(ascii: "!") {
                if starts(with: "<!--", at: pos) {
                    pos = try skip(past: "-->", from: pos + 4, what: "comment")
                    continue
                }
                if starts(with: "<![CDATA[", at: pos) {
                    let start = pos + 9
                    let end = try skip(past: "]]>", from: start, what: "CDATA section")
                    pos = end
                    if stack.isEmpty { throw error("CDATA outside the root element", at: start) }
                    return .cdata(start..<(end - 3))
                }
                if starts(with: "<!DOCTYPE", at: pos) {
                    pos = try skipDoctype(from: pos)
                    continue
                }
                throw error("unknown markup '<!'", at: pos)
            }
            if c == UInt8(ascii: "/") {
                let tagStart = pos
                pos += 2
                let nameStart = pos
                while pos < n, !Self.isSpace(bytes[pos]), bytes[pos] != UInt8(ascii: ">") { pos += 1 }
                let name = nameStart..<pos
                while pos < n, Self.isSpace(bytes[pos]) { pos += 1 }
                guard pos < n else { throw error("truncated: the document ends inside the end tag </\(string(name))>", at: tagStart) }
                guard bytes[pos] == UInt8(ascii: ">") else { throw error("bad end tag </\(string(name))", at: tagStart) }
                pos += 1
                guard let open = stack.last else {
                    throw error("end tag </\(string(name))> without a start tag", at: tagStart)
                }
                guard bytes[open.name] == bytes[name] else {
                    throw error(
                        "end tag </\(string(name))> does not match <\(string(open.name))> opened at line \(line(at: open.offset))", at: tagStart)
                }
                stack.removeLast()
                if stack.isEmpty { rootClosed = true }
                return .end(name: name)
            }
            return try startTag()
        }
        if let open = stack.last {
            throw error("truncated: the document ends before <\(string(open.name))> (line \(line(at: open.offset))) is closed", at: n)
        }
        if !sawRoot { throw error("no root element (empty document)", at: n) }
        return nil
    }

    /// Skips everything up to and including the matching end tag of the element just started.
    mutating func skipElement() throws(TidemarkError) {
        let target = depth - 1
        while depth > target {
            guard try next() != nil else { return }
        }
    }

    /// The decoded text content of the element just started, up to its end tag; child
    /// elements are not allowed.
    mutating func textContent() throws(TidemarkError) -> String {
        var parts: [String] = []
        while true {
            guard let e = try next() else { throw error("truncated: document ends inside an element", at: pos) }
            switch e {
            case .text(let r): parts.append(try decode(r))
            case .cdata(let r): parts.append(string(r))
            case .end: return parts.count == 1 ? parts[0] : parts.joined()
            case .start(let name): throw error("unexpected element <\(string(name))> inside a text element", at: pos)
            }
        }
    }

    private mutating func startTag() throws(TidemarkError) -> Event {
        let n = bytes.count
        let tagStart = pos
        if rootClosed { throw error("a second root element", at: pos) }
        pos += 1
        let nameStart = pos
        while pos < n, !Self.isSpace(bytes[pos]), bytes[pos] != UInt8(ascii: ">"), bytes[pos] != UInt8(ascii: "/") {
            if bytes[pos] == UInt8(ascii: "<") || bytes[pos] == UInt8(ascii: "=") || bytes[pos] == UInt8(ascii: "\"") {
                throw error("bad character in a tag name", at: pos)
            }
            pos += 1
        }
        let name = nameStart..<pos
        if name.isEmpty { throw error("'<' that starts no tag (write &lt;)", at: tagStart) }
        attributes.removeAll(keepingCapacity: true)
        while true {
            while pos < n, Self.isSpace(bytes[pos]) { pos += 1 }
            guard pos < n else { throw error("truncated: the document ends inside the tag <\(string(name))>", at: tagStart) }
            let b = bytes[pos]
            if b == UInt8(ascii: ">") {
                pos += 1
                stack.append((name, tagStart))
                sawRoot = true
                return .start(name: name)
            }
            if b == UInt8(ascii: "/") {
                guard pos + 1 < n, bytes[pos + 1] == UInt8(ascii: ">") else {
                    throw error("bad '/' in the tag <\(string(name))>", at: pos)
                }
                pos += 2
                stack.append((name, tagStart))
                sawRoot = true
                pendingEnd = name
                return .start(name: name)
            }
            // name = "value"
            let attrStart = pos
            while pos < n, !Self.isSpace(bytes[pos]), bytes[pos] != UInt8(ascii: "="), bytes[pos] != UInt8(ascii: ">"),
                bytes[pos] != UInt8(ascii: "/"), bytes[pos] != UInt8(ascii: "<")
            {
                pos += 1
            }
            let attrName = attrStart..<pos
            if attrName.isEmpty { throw error("bad character '\(Character(Unicode.Scalar(bytes[pos])))' in the tag <\(string(name))>", at: pos) }
            while pos < n, Self.isSpace(bytes[pos]) { pos += 1 }
            guard pos < n, bytes[pos] == UInt8(ascii: "=") else {
                throw error("attribute \(string(attrName)) of <\(string(name))> has no value", at: attrStart)
            }
            pos += 1
            while pos < n, Self.isSpace(bytes[pos]) { pos += 1 }
            guard pos < n, bytes[pos] == UInt8(ascii: "\"") || bytes[pos] == UInt8(ascii: "'") else {
                throw error("the value of attribute \(string(attrName)) of <\(string(name))> is not quoted", at: attrStart)
            }
            let quote = bytes[pos]
            pos += 1
            let valueStart = pos
            while pos < n, bytes[pos] != quote {
                if bytes[pos] == UInt8(ascii: "<") {
                    throw error("'<' in the value of attribute \(string(attrName)) of <\(string(name))>", at: pos)
                }
                if bytes[pos] == UInt8(ascii: "&") {
                    pos = try reference(at: pos, limit: n)
                } else {
                    pos += 1
                }
            }
            guard pos < n else { throw error("truncated: the document ends inside an attribute value of <\(string(name))>", at: valueStart) }
            attributes.append(Attribute(name: attrName, value: valueStart..<pos))
            pos += 1
            if pos < n, !Self.isSpace(bytes[pos]), bytes[pos] != UInt8(ascii: ">"), bytes[pos] != UInt8(ascii: "/") {
                throw error("no space between the attributes of <\(string(name))>", at: pos)
            }
        }
    }

    private func starts(with s: StaticString, at offset: Int) -> Bool {
        s.withUTF8Buffer { b in
            guard offset + b.count <= bytes.count else { return false }
            for (k, c) in b.enumerated() where bytes[offset + k] != c { return false }
            return true
        }
    }

    /// The offset after `terminator`, searched from `from`.
    private func skip(past terminator: StaticString, from: Int, what: String) throws(TidemarkError) -> Int {
        let first = terminator.withUTF8Buffer { $0[0] }
        var i = from
        while i < bytes.count {
            if bytes[i] == first, starts(with: terminator, at: i) { return i + terminator.utf8CodeUnitCount }
            i += 1
        }
        throw error("truncated: unterminated \(what)", at: from)
    }

    /// Skips `<!DOCTYPE …>` including an internal subset in brackets.
    private func skipDoctype(from start: Int) throws(TidemarkError) -> Int {
        var i = start + 9
        var bracket = 0
        var quote: UInt8? = nil
        while i < bytes.count {
            let b = bytes[i]
            if let q = quote {
                if b == q { quote = nil }
            } else if b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") {
                quote = b
            } else if b == UInt8(ascii: "[") {
                bracket += 1
            } else if b == UInt8(ascii: "]") {
                bracket -= 1
            } else if b == UInt8(ascii: ">"), bracket <= 0 {
                return i + 1
            }
            i += 1
        }
        throw error("truncated: unterminated DOCTYPE", at: start)
    }

    @inline(__always)
    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0a || b == 0x09 || b == 0x0d }
}
