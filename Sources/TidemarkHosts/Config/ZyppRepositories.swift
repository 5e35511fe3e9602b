import Foundation
import TidemarkCore

/// The repositories a zypp host is configured with: the INI files `ROOT/etc/zypp/repos.d/*.repo`.
/// Recording them beside each state answers "where could this version have come from, and is
/// that repository still configured?".
///
/// Read like libzypp's `RepoFileReader`: several `[alias]` sections per file; `key=value` lines
/// (blanks around `=` ignored); `#` and `;` comments; `baseurl`, `mirrorlist` and `gpgkey` may
/// be given several times or continued on following lines that are not `key=value`, with
/// several URLs per line separated by blanks or commas.
public enum ZyppRepositories {
    /// All `.repo` files under `ROOT/etc/zypp/repos.d`, sorted by alias. No directory means no
    /// repositories. When two sections share an alias, the first in file-name order wins, as in
    /// zypp's repository manager.
    public static func read(root: String) throws(TidemarkError) -> [Repository] {
        let dir = root.hasSuffix("/") ? root + "etc/zypp/repos.d" : root + "/etc/zypp/repos.d"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
        var byAlias: [String: Repository] = [:]
        for name in names.sorted() where name.hasSuffix(".repo") && !name.hasPrefix(".") {
            let path = dir + "/" + name
            guard let data = FileManager.default.contents(atPath: path) else {
                var isDir: ObjCBool = false
                if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue { continue }
                throw TidemarkError(.unreadable, "\(path): cannot read")
            }
            for repo in try parse(String(decoding: data, as: UTF8.self), file: path) where byAlias[repo.alias] == nil {
                byAlias[repo.alias] = repo
            }
        }
        return byAlias.values.sorted { $0.alias < $1.alias }
    }

    /// Parses one `.repo` file's text. `url` holds every baseurl in order, separated by single
    /// spaces (the first is the one zypp tries first; the others are fallbacks that matter when
    /// comparing hosts), else the mirrorlist, else "". Defaults as in zypp: enabled=1,
    /// priority=99, keeppackages=0. Errors name the file and line.
    public static func parse(_ text: String, file: String) throws(TidemarkError) -> [Repository] {
        struct Section {
            var alias: String
            var line: Int
            var values: [String: String] = [:]
            var baseurls: [String] = []
            var mirrorlist: [String] = []
        }
        var sections: [Section] = []
        var lastKey: String?
        var lineNo = 0
        func fail(_ m: String) -> TidemarkError { TidemarkError(.invalidInput, "\(file):\(lineNo): \(m)") }
        func urls(_ s: Substring) -> [String] {
            s.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }).map(String.init)
        }

        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNo += 1
            let line = raw.trimmed
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else { throw fail("section header '\(line)' has no closing ']'") }
                let alias = line.dropFirst().dropLast().trimmed
                guard !alias.isEmpty else { throw fail("empty section name (repository alias)") }
                guard !alias.contains("/") else { throw fail("repository alias '\(alias)' contains '/'") }
                sections.append(Section(alias: alias, line: lineNo))
                lastKey = nil
                continue
            }
            guard !sections.isEmpty else { throw fail("'\(line)' is outside any [alias] section") }
            if let eq = line.firstIndex(of: "="), isKey(line[..<eq].trimmed) {
                let key = line[..<eq].trimmed.lowercased()
                let value = line[line.index(after: eq)...].trimmed
                switch key {
                case "baseurl": sections[sections.count - 1].baseurls += urls(Substring(value))
                case "mirrorlist", "metalink": sections[sections.count - 1].mirrorlist += urls(Substring(value))
                default: sections[sections.count - 1].values[key] = value
                }
                lastKey = key
                continue
            }
            // A continuation line of a multi-valued key.
            switch lastKey {
            case "baseurl": sections[sections.count - 1].baseurls += urls(Substring(line))
            case "mirrorlist", "metalink": sections[sections.count - 1].mirrorlist += urls(Substring(line))
            case "gpgkey": break
            default: throw fail("'\(line)' is neither key=value nor a continued baseurl/mirrorlist/gpgkey")
            }
        }

        var out: [Repository] = []
        for s in sections {
            lineNo = s.line
            func bool(_ key: String, _ def: Bool) throws(TidemarkError) -> Bool {
                guard let v = s.values[key] else { return def }
                switch v.lowercased() {
                case "1", "yes", "true", "on", "+": return true
                case "0", "no", "false", "off", "-": return false
                case "": return def
                default: throw fail("[\(s.alias)] \(key)=\(v) is not a boolean (1/0, yes/no, true/false, on/off)")
                }
            }
            var priority = 99
            if let p = s.values["priority"], !p.isEmpty {
                guard let n = Int(p) else { throw fail("[\(s.alias)] priority=\(p) is not a number") }
                priority = n
            }
            let url = s.baseurls.isEmpty ? s.mirrorlist.joined(separator: " ") : s.baseurls.joined(separator: " ")
            out.append(Repository(
                kind: .zypp, alias: s.alias, name: s.values["name"].flatMap { $0.isEmpty ? nil : $0 },
                url: url, enabled: try bool("enabled", true), priority: priority,
                keepPackages: try bool("keeppackages", false),
                type: s.values["type"].flatMap { $0.isEmpty ? nil : $0 }))
            // Validated so that a typo is reported, though Repository does not keep them.
            _ = try bool("autorefresh", false)
            _ = try bool("gpgcheck", true)
        }
        return out.sorted { $0.alias < $1.alias }
    }

    /// zypp keys are word characters (`baseurl`, `repo_gpgcheck`, `pkg.gpgcheck`); a URL line
    /// such as `http://host/a=b` is not a key.
    private static func isKey(_ s: String) -> Bool {
        !s.isEmpty && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-") }
    }
}
