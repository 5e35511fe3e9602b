import TidemarkCore

/// Debian's control-file syntax (dpkg's status file, apt's `.sources`): stanzas separated by
/// blank lines, `Field: value` lines, continuation lines starting with a space or tab, field names
/// compared case-insensitively. The one reader of it, strict by design: a malformed line is an
/// error naming the file and line, never a silently half-read stanza.
enum Deb822 {
    struct Field {
        /// The field name as written.
        var name: String
        var value: String
        var line: Int
    }

    struct Stanza {
        /// Line of the stanza's first field.
        var line: Int
        /// Lower-cased field name → value (continuation lines joined with "\n", trimmed).
        var fields: [String: Field]
        subscript(_ name: String) -> Field? { fields[name] }
    }

    /// - Parameters:
    ///   - keep: the fields whose values are wanted (lower-case); others are still checked for
    ///     syntax but not stored (a status file's long Descriptions cost nothing). nil keeps all.
    ///   - comments: whether `#` lines are comments (apt sources) or errors (dpkg status).
    ///   - code: the error code to report (a corrupt database vs an invalid input file).
    static func stanzas(
        _ data: some Collection<UInt8>, file: String, keep: Set<String>? = nil, comments: Bool, code: TidemarkError.Code
    ) throws(TidemarkError) -> [Stanza] {
        let bytes = Array(data)
        var out: [Stanza] = []
        var current: Stanza? = nil
        var lastField: String? = nil
        var seen: Set<String> = []
        var lineNo = 0
        func fail(_ line: Int, _ msg: String) -> TidemarkError { TidemarkError(code, "\(file):\(line): \(msg)") }

        var i = 0
        let n = bytes.count
        while i < n {
            lineNo += 1
            var end = i
            while end < n, bytes[end] != 0x0A { end += 1 }
            var line = bytes[i..<end]
            i = end + 1
            if line.last == 0x0D { line = line.dropLast() }
            if comments, line.first == 0x23 { continue }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
                if let s = current { out.append(s) }
                current = nil
                lastField = nil
                seen = []
                continue
            }
            let first = line.first!
            if first == 0x20 || first == 0x09 {
                guard let f = lastField else { throw fail(lineNo, "continuation line outside of a field") }
                if current?.fields[f] != nil {
                    current!.fields[f]!.value += "\n" + String(decoding: line, as: UTF8.self).trimmed
                }
                continue
            }
            guard let colon = line.firstIndex(of: 0x3A) else {
                throw fail(lineNo, "line is neither 'Field: value' nor a continuation line: '\(String(decoding: line, as: UTF8.self))'")
            }
            let nameBytes = line[line.startIndex..<colon]
            let name = String(decoding: nameBytes, as: UTF8.self)
            guard !nameBytes.isEmpty, !nameBytes.contains(where: { $0 == 0x20 || $0 == 0x09 }) else {
                throw fail(lineNo, "invalid field name '\(name)'")
            }
            let key = name.lowercased()
            if current == nil { current = Stanza(line: lineNo, fields: [:]) }
            guard seen.insert(key).inserted else {
                throw fail(lineNo, "duplicate field '\(name)' in stanza starting at line \(current!.line)")
            }
            lastField = key
            if keep?.contains(key) ?? true {
                current!.fields[key] = Field(name: name, value: String(decoding: line[(colon + 1)...], as: UTF8.self).trimmed, line: lineNo)
            }
        }
        if let s = current { out.append(s) }
        return out
    }
}
