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
        var result: [InstalledPackage] = []
        func fail(_ line: Int, _ msg: String) -> TidemarkError { TidemarkError(.corrupt, "\(file):\(line): \(msg)") }
        for stanza in try Deb822.stanzas(data, file: file, keep: ["package", "status", "version", "architecture", "source"], comments: false, code: .corrupt) {
            for key in ["package", "status", "version", "architecture"] {
                if let f = stanza[key], f.value.isEmpty { throw fail(f.line, "empty \(f.name) field") }
            }
            guard let name = stanza["package"] else { throw fail(stanza.line, "stanza has no Package field") }
            guard let status = stanza["status"] else { throw fail(stanza.line, "package '\(name.value)' has no Status field") }
            let words = status.value.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard words.count == 3, wants.contains(words[0]), flags.contains(words[1]), states.contains(words[2]) else {
                throw fail(status.line, "package '\(name.value)' has invalid Status '\(status.value)' (expected WANT FLAG STATE)")
            }
            if words[2] == "not-installed" { continue }
            guard let version = stanza["version"] else {
                throw fail(stanza.line, "package '\(name.value)' (\(words[2])) has no Version field")
            }
            guard let evr = DebianVersion.parse(version.value) else {
                throw fail(version.line, "package '\(name.value)' has invalid Version '\(version.value)'")
            }
            // Status as dpkg-query prints it (single spaces); an empty Source is no Source.
            let source = stanza["source"]?.value
            let pkg = Package(
                format: .deb, name: name.value, evr: evr, arch: stanza["architecture"]?.value ?? "",
                source: source?.isEmpty == false ? source : nil, status: words.joined(separator: " "))
            result.append(InstalledPackage(pkg))
        }
        return result
    }
}
