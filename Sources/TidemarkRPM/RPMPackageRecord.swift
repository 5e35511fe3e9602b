import TidemarkCore

/// Header → `Package`: the one mapping shared by the installed-package reader
/// (`RPMDatabase` in TidemarkHosts) and the `.rpm` file reader (`RPMFile`), so that an archived
/// file and the package a host has installed from it get the same `identityKey`.
extension RPMHeader {
    /// The package this header describes, as `rpm -qa --qf` would print its fields.
    ///
    /// Absent EPOCH is 0 (`%{EPOCHNUM}`), absent ARCH (the `gpg-pubkey` pseudo packages) is the
    /// empty string; absent VENDOR, SOURCERPM, DISTURL, BUILDTIME are nil. So is the literal
    /// value `(none)`, which rpm itself stores as SOURCERPM of `gpg-pubkey`: `rpm -qa` prints
    /// both the same way, and an imported `rpm -qa` list must give the same identity as a native
    /// snapshot of the same host.
    ///
    /// - Parameter digest: SIGMD5 (PKGID) as hex. An installed header carries it itself
    ///   (`hex(.sigMD5)`: rpm merges the signature tags in); in an `.rpm` file it is the
    ///   signature header's MD5 tag.
    public func package(digest: String?) throws(TidemarkError) -> Package {
        guard let name = try string(.name) else { throw TidemarkError(.corrupt, "header has no NAME") }
        guard let version = try string(.version) else { throw TidemarkError(.corrupt, "header of '\(name)' has no VERSION") }
        guard let release = try string(.release) else { throw TidemarkError(.corrupt, "header of '\(name)' has no RELEASE") }
        let epoch = try int32(.epoch).map { Int($0) } ?? 0
        return Package(
            format: .rpm, name: name, evr: EVR(epoch: epoch, version: version, release: release),
            arch: try string(.arch) ?? "", digest: digest, vendor: RPMHeader.noneAsNil(try string(.vendor)),
            source: RPMHeader.noneAsNil(try string(.sourceRPM)), disturl: RPMHeader.noneAsNil(try string(.disturl)),
            buildTime: try int64(.buildTime).map { Int64(truncatingIfNeeded: $0) })
    }

    /// The changelog, newest first as rpm keeps it; empty when the header has none. The three
    /// CHANGELOG arrays must be equally long.
    public func changelog() throws(TidemarkError) -> [ChangelogEntry] {
        guard let times = try int32Array(.changelogTime) else { return [] }
        let names = try stringArray(.changelogName) ?? []
        let texts = try stringArray(.changelogText) ?? []
        guard names.count == times.count, texts.count == times.count else {
            let name = (try? string(.name)).flatMap { $0 } ?? "?"
            throw TidemarkError(
                .corrupt,
                "header of '\(name)' has \(times.count) CHANGELOGTIME, \(names.count) CHANGELOGNAME and \(texts.count) CHANGELOGTEXT values (must be equal)")
        }
        var log: [ChangelogEntry] = []
        log.reserveCapacity(times.count)
        for i in times.indices { log.append(ChangelogEntry(time: Int64(times[i]), author: names[i], text: texts[i])) }
        return log
    }

    /// `(none)` is rpm's word for "no value"; see `package(digest:)`.
    @inline(__always)
    public static func noneAsNil(_ s: String?) -> String? { s == "(none)" ? nil : s }
}
