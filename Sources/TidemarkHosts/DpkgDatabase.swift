import Foundation
import TidemarkCore

/// Reads dpkg's database (`var/lib/dpkg/status`) so that a snapshot equals `dpkg-query -W`.
///
/// The status file is parsed natively (no dpkg needed, so an image can be read from any
/// machine). It is strict on purpose: a malformed stanza is an error naming the file and line,
/// because a snapshot from a half-understood database would record a wrong state as the truth.
public enum DpkgDatabase {
    /// dpkg's default admin directory, relative to the root.
    public static let adminDir = "var/lib/dpkg"

    /// The status file of a root.
    public static func statusFile(root: String) -> String {
        (root.hasSuffix("/") ? root : root + "/") + adminDir + "/status"
    }

    /// Whether the root has a dpkg database.
    public static func exists(root: String) -> Bool {
        FileManager.default.fileExists(atPath: statusFile(root: root))
    }

    /// Every package of the root's status file whose state is not `not-installed` (what
    /// `dpkg-query -W` lists: installed, half-installed, unpacked, config-files, …).
    public static func read(root: String) throws(TidemarkError) -> [InstalledPackage] {
        try RootPath.requireDirectory(root)
        let file = statusFile(root: root)
        guard FileManager.default.fileExists(atPath: file) else {
            throw TidemarkError(.notFound, "no dpkg database under '\(root)': \(file) does not exist")
        }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw TidemarkError(.unreadable, "\(file): cannot read dpkg status file")
        }
        return try parse(data, file: file)
    }

    static let wants: Set<String> = ["unknown", "install", "hold", "deinstall", "purge"]
    static let flags: Set<String> = ["ok", "reinstreq", "hold", "hold-reinstreq"]
    static let states: Set<String> = [
        "not-installed", "config-files", "half-installed", "unpacked", "half-configured",
        "triggers-awaited", "triggers-pending", "installed",
    ]

    /// Parses the text of a status file; `file` only names it in errors.
    ///
    /// Format (dpkg `lib/dpkg/parse.c`): stanzas separated by empty lines; `Field: value` lines;
    /// lines starting with a space or tab continue the previous field. Field names compare
    /// case-insensitively, as in dpkg.
    public static func parse(_ data: some Collection<UInt8>, file: String) throws(TidemarkError) -> [InstalledPackage] {
        let bytes = Array(data)
        var result: [InstalledPackage] = []
        // Fields of the current stanza that matter, with the line they were on.
        var fields: [String: (value: String, line: Int)] = [:]
        var seen: Set<String> = []
        var stanzaLine = 0
        var lastField: String? = nil
        var lineNo = 0

        func fail(_ line: Int, _ msg: String) -> TidemarkError {
            TidemarkError(.corrupt, "\(file):\(line): \(msg)")
        }

        func finish() throws(TidemarkError) {
            defer {
                fields = [:]
                seen = []
                lastField = nil
            }
            guard stanzaLine > 0 else { return }
            guard let name = fields["package"] else { throw fail(stanzaLine, "stanza has no Package field") }
            guard let status = fields["status"] else { throw fail(stanzaLine, "package '\(name.value)' has no Status field") }
            let words = status.value.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard words.count == 3, wants.contains(words[0]), flags.contains(words[1]), states.contains(words[2]) else {
                throw fail(status.line, "package '\(name.value)' has invalid Status '\(status.value)' (expected WANT FLAG STATE)")
            }
            if words[2] == "not-installed" { return }
            guard let version = fields["version"] else {
                throw fail(stanzaLine, "package '\(name.value)' (\(words[2])) has no Version field")
            }
            guard let evr = DebianVersion.parse(version.value) else {
                throw fail(version.line, "package '\(name.value)' has invalid Version '\(version.value)'")
            }
            // Status as dpkg-query prints it (single spaces); an empty Source is no Source.
            let source = fields["source"]?.value
            let pkg = Package(
                format: .deb, name: name.value, evr: evr, arch: fields["architecture"]?.value ?? "",
                source: source?.isEmpty == false ? source : nil, status: words.joined(separator: " "))
            result.append(InstalledPackage(pkg))
        }

        var i = 0
        let n = bytes.count
        while i < n {
            lineNo += 1
            var end = i
            while end < n, bytes[end] != 0x0A { end += 1 }
            let line = bytes[i..<end]
            i = end + 1
            if line.isEmpty {
                try finish()
                stanzaLine = 0
                continue
            }
            if stanzaLine == 0 { stanzaLine = lineNo }
            let first = line.first!
            if first == 0x20 || first == 0x09 {
                guard lastField != nil else { throw fail(lineNo, "continuation line outside of a field") }
                continue  // continuation of a field we do not need (Description, Conffiles, …)
            }
            guard let colon = line.firstIndex(of: 0x3A) else {
                throw fail(lineNo, "line is neither 'Field: value' nor a continuation line")
            }
            let nameBytes = line[line.startIndex..<colon]
            guard !nameBytes.isEmpty, !nameBytes.contains(where: { $0 == 0x20 || $0 == 0x09 }) else {
                throw fail(lineNo, "invalid field name '\(String(decoding: nameBytes, as: UTF8.self))'")
            }
            let key = String(decoding: nameBytes, as: UTF8.self).lowercased()
            guard seen.insert(key).inserted else {
                throw fail(lineNo, "duplicate field '\(String(decoding: nameBytes, as: UTF8.self))' in stanza starting at line \(stanzaLine)")
            }
            lastField = key
            switch key {
            case "package", "status", "version", "architecture", "source":
                let value = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmed
                if key != "source", value.isEmpty { throw fail(lineNo, "empty \(String(decoding: nameBytes, as: UTF8.self)) field") }
                fields[key] = (value, lineNo)
            default:
                break
            }
        }
        try finish()
        return result
    }
}
