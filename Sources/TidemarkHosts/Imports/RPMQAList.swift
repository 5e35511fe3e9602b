import Foundation
import TidemarkCore

/// Imports a plain `rpm -qa` listing, one NEVRA per line: what openQA uploads for every job as
/// `worker_packages.txt`, so a fleet's past can be recorded without an agent.
///
/// Such a list names packages only (no digest, vendor or install time): the packages carry
/// format, name, EVR and arch. A line without an arch (`gpg-pubkey-39db7c82-5f68629b`, or a
/// list printed without `%{ARCH}`) gets the arch "".
public enum RPMQAList {
    /// Reads and parses a list file.
    public static func read(path: String) throws(TidemarkError) -> [InstalledPackage] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TidemarkError(.unreadable, "\(path): cannot read")
        }
        return try parse(String(decoding: data, as: UTF8.self), file: path)
    }

    /// Blank lines are ignored; any other line that is not a NEVRA is an error naming
    /// `FILE:LINE`: an import stores all of a list or nothing, since a state with silently
    /// missing packages would be a false record.
    public static func parse(_ text: String, file: String) throws(TidemarkError) -> [InstalledPackage] {
        var out: [InstalledPackage] = []
        var lineNo = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNo += 1
            let line = raw.trimmed
            if line.isEmpty { continue }
            guard !line.contains(where: { $0.isWhitespace }), let n = NEVRA.parse(line) else {
                throw TidemarkError(
                    .invalidInput, "\(file):\(lineNo): '\(line)' is not a package as rpm -qa prints it (NAME-VERSION-RELEASE[.ARCH])")
            }
            out.append(InstalledPackage(Package(format: .rpm, name: n.name, evr: n.evr, arch: n.arch)))
        }
        return out
    }
}
