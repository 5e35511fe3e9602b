import Foundation
import TidemarkCore

/// Imports `salt --out=json '*' pkg.list_pkgs` output: a whole fleet's packages in one go,
/// through the salt setup operators already have (openQA workers are driven by salt).
///
/// Accepted forms of each minion's value, all maps from package name to versions:
/// - plain: `{"pkg": "1.2-3"}`; several installed versions comma-joined (`"1.0-1,1.1-1"`,
///   kernels). No arch is given: packages get the arch "" (a diff against an agent snapshot
///   then shows an arch change; import with `attr=` to avoid that).
/// - `versions_as_list=True`: `{"pkg": ["1.2-3", "1.3-1"]}`.
/// - `attr=version,release,arch,epoch`: `{"pkg": [{"version": "1.2", "release": "3",
///   "arch": "x86_64", "epoch": "1"}]}` (also `install_date_time_t`, used as install time).
///
/// `--out=json` prints one JSON object per minion, one after the other; `--static` prints one
/// object holding all minions. Both are accepted, in any mix.
public enum SaltPackages {
    public struct Issue: Sendable, Hashable, CustomStringConvertible {
        public var minion: String
        public var message: String
        public var description: String { "\(minion): \(message)" }
    }

    public struct Result: Sendable {
        /// Sorted by minion name; only minions whose whole package list was understood.
        public var minions: [(minion: String, packages: [InstalledPackage])]
        /// Minions that were skipped, and why (did not return, unreadable versions...).
        public var issues: [Issue]
    }

    /// - Parameters:
    ///   - format: the minions' package format; salt's version strings do not tell rpm from
    ///     Debian (`1:2.3-4` is valid in both), so the operator says it.
    /// - Throws: when the text is not salt's JSON output at all. A single minion that did not
    ///   return (its value is salt's message string) or whose versions cannot be read is skipped
    ///   and reported in `issues`, never stored in part, and never fails the other minions.
    public static func parse(_ text: String, file: String, format: PackageFormat = .rpm) throws(TidemarkError) -> Result {
        var docs: [[String: Any]] = []
        for chunk in try splitDocuments(text, file: file) {
            let obj: Any
            do { obj = try JSONSerialization.jsonObject(with: Data(chunk.text.utf8), options: [.fragmentsAllowed]) } catch {
                throw TidemarkError(.invalidInput, "\(file):\(chunk.line): not valid JSON: \(error.localizedDescription)")
            }
            guard let dict = obj as? [String: Any] else {
                throw TidemarkError(.invalidInput, "\(file):\(chunk.line): expected a JSON object of minions ({\"minion\": {...}})")
            }
            docs.append(dict)
        }
        guard !docs.isEmpty else { throw TidemarkError(.invalidInput, "\(file): no JSON in the input") }

        var minions: [(minion: String, packages: [InstalledPackage])] = []
        var issues: [Issue] = []
        var seen = Set<String>()
        for doc in docs {
            for minion in doc.keys.sorted() {
                guard seen.insert(minion).inserted else {
                    issues.append(Issue(minion: minion, message: "appears more than once in the input; the first answer is used"))
                    continue
                }
                switch minionPackages(doc[minion]!, format: format) {
                case .success(let pkgs): minions.append((minion: minion, packages: pkgs))
                case .failure(let e): issues.append(Issue(minion: minion, message: e.message))
                }
            }
        }
        minions.sort { $0.minion < $1.minion }
        issues.sort { $0.minion < $1.minion }
        return Result(minions: minions, issues: issues)
    }

    private struct Failure: Error { var message: String }

    private static func minionPackages(_ value: Any, format: PackageFormat) -> Swift.Result<[InstalledPackage], Failure> {
        if let s = value as? String {
            return .failure(Failure(message: "skipped, salt returned no package list: \(s.trimmed.prefix(200))"))
        }
        guard let pkgs = value as? [String: Any] else {
            return .failure(Failure(message: "skipped, expected a map of package names to versions, got \(typeName(value))"))
        }
        var out: [InstalledPackage] = []
        for name in pkgs.keys.sorted() {
            let v = pkgs[name]!
            var entries: [Any]
            if let s = v as? String {
                entries = s.split(separator: ",").map { String($0).trimmed }
            } else if let a = v as? [Any] {
                entries = a
            } else if let d = v as? [String: Any] {
                entries = [d]
            } else {
                return .failure(Failure(message: "skipped, package '\(name)' has a version of type \(typeName(v))"))
            }
            if entries.isEmpty { return .failure(Failure(message: "skipped, package '\(name)' has no version")) }
            for e in entries {
                switch package(name: name, entry: e, format: format) {
                case .success(let p): out.append(p)
                case .failure(let f): return .failure(f)
                }
            }
        }
        return .success(out)
    }

    private static func package(name rawName: String, entry: Any, format: PackageFormat) -> Swift.Result<InstalledPackage, Failure> {
        func bad(_ m: String) -> Swift.Result<InstalledPackage, Failure> { .failure(Failure(message: "skipped, package '\(rawName)': \(m)")) }
        var name = rawName, arch = ""
        // Debian: foreign-arch packages are listed as `name:arch`.
        if format == .deb, let colon = rawName.lastIndex(of: ":") {
            name = String(rawName[..<colon])
            arch = String(rawName[rawName.index(after: colon)...])
        }
        guard !name.isEmpty, !name.contains(where: \.isWhitespace) else { return bad("not a package name") }

        if let s = entry as? String {
            guard let evr = parseVersion(s, format: format) else { return bad("'\(s)' is not a version") }
            return .success(InstalledPackage(Package(format: format, name: name, evr: evr, arch: arch)))
        }
        guard let d = entry as? [String: Any] else { return bad("a version of type \(typeName(entry))") }
        guard let version = text(d["version"]), !version.isEmpty else { return bad("no 'version' attribute") }
        let release = text(d["release"]) ?? ""
        var epoch = 0
        if let e = text(d["epoch"]), !e.isEmpty {
            guard let n = Int(e), n >= 0 else { return bad("epoch '\(e)' is not a number") }
            epoch = n
        }
        let evr: EVR
        if format == .deb {
            // apt's attr form is rare; build the usual string and let dpkg's rules check it.
            var s = epoch != 0 ? "\(epoch):\(version)" : version
            if !release.isEmpty { s += "-\(release)" }
            guard let parsed = DebianVersion.parse(s) else { return bad("'\(s)' is not a Debian version") }
            evr = parsed
        } else {
            guard !version.contains(where: \.isWhitespace), !release.contains(where: \.isWhitespace) else {
                return bad("version '\(version)-\(release)' contains blanks")
            }
            evr = EVR(epoch: epoch, version: version, release: release)
        }
        if let a = text(d["arch"]), !a.isEmpty {
            arch = a
            // salt appends `.arch` to names of packages of a foreign arch.
            if name.hasSuffix("." + a), name.count > a.count + 1 { name = String(name.dropLast(a.count + 1)) }
        }
        var installTime: Int64?
        if let t = d["install_date_time_t"] {
            if let n = t as? NSNumber { installTime = n.int64Value } else if let s = t as? String { installTime = Int64(s) }
        }
        return .success(InstalledPackage(Package(format: format, name: name, evr: evr, arch: arch), installTime: installTime))
    }

    private static func parseVersion(_ s: String, format: PackageFormat) -> EVR? {
        let t = s.trimmed
        guard !t.isEmpty, !t.contains(where: \.isWhitespace) else { return nil }
        switch format {
        case .deb: return DebianVersion.parse(t)
        case .rpm:
            let evr = RPMVersion.parseEVR(t)
            return evr.version.isEmpty ? nil : evr
        }
    }

    private static func text(_ v: Any?) -> String? {
        switch v {
        case let s as String: return s
        case let n as NSNumber: return n.stringValue
        default: return nil
        }
    }

    private static func typeName(_ v: Any) -> String {
        switch v {
        case is String: return "string"
        case is NSNumber: return "number/boolean"
        case is [Any]: return "list"
        case is [String: Any]: return "object"
        case is NSNull: return "null"
        default: return String(describing: type(of: v))
        }
    }

    /// Splits concatenated top-level JSON values (salt prints one object per minion), tracking
    /// strings and nesting; anything between values other than blanks is an error.
    static func splitDocuments(_ text: String, file: String) throws(TidemarkError) -> [(text: Substring, line: Int)] {
        var out: [(text: Substring, line: Int)] = []
        let u = text.utf8
        var i = u.startIndex
        var line = 1
        while i < u.endIndex {
            let c = u[i]
            if c == UInt8(ascii: "\n") { line += 1; i = u.index(after: i); continue }
            if c == 0x20 || c == 0x09 || c == 0x0d { i = u.index(after: i); continue }
            guard c == UInt8(ascii: "{") || c == UInt8(ascii: "[") else {
                let rest = text[i...].prefix { $0 != "\n" }.prefix(80)
                throw TidemarkError(.invalidInput, "\(file):\(line): expected salt's JSON output (run salt with --out=json), found '\(rest)'")
            }
            let start = i, startLine = line
            var depth = 0, inString = false, escaped = false
            var end: String.UTF8View.Index?
            while i < u.endIndex {
                let b = u[i]
                if b == UInt8(ascii: "\n") { line += 1 }
                if inString {
                    if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                } else if b == UInt8(ascii: "\"") {
                    inString = true
                } else if b == UInt8(ascii: "{") || b == UInt8(ascii: "[") {
                    depth += 1
                } else if b == UInt8(ascii: "}") || b == UInt8(ascii: "]") {
                    depth -= 1
                    if depth == 0 { end = u.index(after: i); i = u.index(after: i); break }
                }
                i = u.index(after: i)
            }
            guard let end else { throw TidemarkError(.invalidInput, "\(file):\(startLine): JSON value is not closed (truncated output?)") }
            out.append((text: text[start..<end], line: startLine))
        }
        return out
    }
}
