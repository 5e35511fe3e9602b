import Foundation
import TidemarkCore

/// The repositories an apt host is configured with: one-line `ROOT/etc/apt/sources.list` and
/// `sources.list.d/*.list` (`deb [opts] URI SUITE [COMPONENT...]`), and deb822
/// `sources.list.d/*.sources` stanzas (Types, URIs, Suites, Components, Enabled).
///
/// One `Repository` per (type, URI, suite), because that is what apt fetches one Release file
/// for; its alias is `TYPE URI SUITE` (unique and readable), its name the file it came from.
public enum AptSources {
    /// Everything under `ROOT/etc/apt`, sorted by alias. Missing files or directories are no
    /// repositories. An entry configured twice (apt warns about it) is kept once, with the
    /// components of both.
    public static func read(root: String) throws(TidemarkError) -> [Repository] {
        let etc = root.hasSuffix("/") ? root + "etc/apt" : root + "/etc/apt"
        var all: [Repository] = []
        func load(_ path: String) throws(TidemarkError) -> String? {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else { return nil }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw TidemarkError(.unreadable, "\(path): cannot read")
            }
            return String(decoding: data, as: UTF8.self)
        }
        if let text = try load(etc + "/sources.list") { all += try parseList(text, file: etc + "/sources.list") }
        let dir = etc + "/sources.list.d"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        for name in names.sorted() where !name.hasPrefix(".") {
            let path = dir + "/" + name
            if name.hasSuffix(".list"), let text = try load(path) { all += try parseList(text, file: path) }
            if name.hasSuffix(".sources"), let text = try load(path) { all += try parseDeb822(text, file: path) }
        }
        var byAlias: [String: Repository] = [:]
        var order: [String] = []
        for r in all {
            if var seen = byAlias[r.alias] {
                for c in r.components ?? [] where !(seen.components ?? []).contains(c) {
                    seen.components = (seen.components ?? []) + [c]
                }
                byAlias[r.alias] = seen
            } else {
                byAlias[r.alias] = r
                order.append(r.alias)
            }
        }
        return order.map { byAlias[$0]! }.sorted { $0.alias < $1.alias }
    }

    /// One-line format. `#` starts a comment anywhere on a line (as in apt). Options in
    /// `[ ]` are accepted; `enabled=no` disables the entry.
    public static func parseList(_ text: String, file: String) throws(TidemarkError) -> [Repository] {
        var out: [Repository] = []
        var lineNo = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNo += 1
            func fail(_ m: String) -> TidemarkError { TidemarkError(.invalidInput, "\(file):\(lineNo): \(m)") }
            var line = Substring(raw)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            line = Substring(line.trimmed)
            if line.isEmpty { continue }

            var rest = line
            let typeEnd = rest.firstIndex(where: { $0 == " " || $0 == "\t" }) ?? rest.endIndex
            let type = String(rest[..<typeEnd])
            guard type == "deb" || type == "deb-src" else { throw fail("'\(type)' is not a source type (deb or deb-src)") }
            rest = Substring(rest[typeEnd...].trimmed)
            var enabled = true
            if rest.hasPrefix("[") {
                guard let close = rest.firstIndex(of: "]") else { throw fail("options '[' without a closing ']'") }
                for opt in rest[rest.index(after: rest.startIndex)..<close].split(whereSeparator: { $0 == " " || $0 == "\t" }) {
                    let kv = opt.split(separator: "=", maxSplits: 1)
                    guard kv.count == 2 else { throw fail("option '\(opt)' is not key=value") }
                    if kv[0].lowercased() == "enabled" { enabled = !["no", "false", "0"].contains(kv[1].lowercased()) }
                }
                rest = Substring(rest[rest.index(after: close)...].trimmed)
            }
            let words = rest.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard words.count >= 2 else { throw fail("'\(line)' needs at least a URI and a suite") }
            let uri = words[0], suite = words[1]
            let components = Array(words.dropFirst(2))
            if suite.hasSuffix("/") && !components.isEmpty {
                throw fail("suite '\(suite)' is an exact path (ends with '/') and cannot have components")
            }
            if !suite.hasSuffix("/") && components.isEmpty {
                throw fail("suite '\(suite)' needs at least one component (or end with '/' for a flat repository)")
            }
            out.append(repository(type: type, uri: uri, suite: suite, components: components, enabled: enabled, file: file))
        }
        return out
    }

    /// deb822 format: stanzas separated by blank lines; `Field: value` with continuation lines
    /// starting with a blank; `#` comment lines. Types, URIs and Suites are required; every
    /// combination of them is one repository.
    public static func parseDeb822(_ text: String, file: String) throws(TidemarkError) -> [Repository] {
        var out: [Repository] = []
        for stanza in try Deb822.stanzas(Array(text.utf8), file: file, comments: true, code: .invalidInput) {
            func fail(_ m: String) -> TidemarkError { TidemarkError(.invalidInput, "\(file):\(stanza.line): \(m)") }
            func list(_ k: String) -> [String] {
                (stanza[k]?.value ?? "").split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
            }
            let types = list("types"), uris = list("uris"), suites = list("suites"), components = list("components")
            guard !types.isEmpty else { throw fail("stanza has no Types field") }
            guard !uris.isEmpty else { throw fail("stanza has no URIs field") }
            guard !suites.isEmpty else { throw fail("stanza has no Suites field") }
            for t in types where t != "deb" && t != "deb-src" { throw fail("'\(t)' is not a source type (deb or deb-src)") }
            var enabled = true
            if let e = stanza["enabled"]?.value.lowercased() {
                switch e {
                case "yes", "true", "1": enabled = true
                case "no", "false", "0": enabled = false
                default: throw fail("Enabled: \(e) is not yes or no")
                }
            }
            for t in types {
                for u in uris {
                    for s in suites {
                        if s.hasSuffix("/") && !components.isEmpty { throw fail("suite '\(s)' ends with '/' and cannot have Components") }
                        if !s.hasSuffix("/") && components.isEmpty { throw fail("suite '\(s)' needs Components (or end with '/')") }
                        out.append(repository(type: t, uri: u, suite: s, components: components, enabled: enabled, file: file))
                    }
                }
            }
        }
        return out
    }

    private static func repository(type: String, uri: String, suite: String, components: [String], enabled: Bool, file: String) -> Repository {
        Repository(
            kind: .apt, alias: "\(type) \(uri) \(suite)", name: (file as NSString).lastPathComponent,
            url: uri, enabled: enabled, suites: [suite], components: components, type: type)
    }
}
