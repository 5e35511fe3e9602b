import Foundation
import TidemarkCore
import TidemarkHosts

/// Reads an rpm-md repository's metadata (what `tidemark archive mirror --repo URL` needs): the
/// `<data>` records of repomd.xml and the packages of primary.xml.
///
/// Reads createrepo_c's output and openSUSE-style repositories: primary as gzip (zlib), zstd,
/// xz or bzip2 (the `zstd`, `xz`, `bzip2` tools, run with `-dc`) or uncompressed, recognized by
/// content, not by name. primary's checksum and open-checksum from repomd.xml are verified when
/// they are SHA-256, SHA-1 or MD5 (other types are read but not verified: see `verified`).
public enum RepoMDReader {
    /// One `<data>` entry of repomd.xml.
    public struct Record: Sendable, Hashable {
        public var type: String
        public var href: String
        /// `xml:base` of `<location>`, if any.
        public var base: String?
        public var checksumType: String?
        public var checksum: String?
        public var openChecksumType: String?
        public var openChecksum: String?
        public var size: Int?
        public var openSize: Int?
        public var timestamp: Int64?
    }

    /// What repomd.xml says.
    public struct RepoMD: Sendable, Hashable {
        public var revision: String?
        public var records: [Record]
        public func record(_ type: String) -> Record? { records.first { $0.type == type } }
    }

    /// One package of primary.xml.
    public struct Package: Sendable, Hashable {
        public var name: String
        public var arch: String
        public var epoch: String
        public var version: String
        public var release: String
        /// `<checksum type>`: `sha256` for createrepo_c (also `sha`, `sha1`, `sha512`, `md5`).
        public var checksumType: String
        public var checksum: String
        /// `<location href>`, relative to the repository root (or to `base`).
        public var href: String
        /// `<location xml:base>`, if any.
        public var base: String?
        /// `<size package>`, if present.
        public var packageSize: Int?
        public var nevra: String { "\(name)-\(epoch == "0" ? "" : epoch + ":")\(version)-\(release).\(arch)" }
    }

    /// The packages of a repository: reads repomd.xml's bytes, loads primary through `load`
    /// (given primary's location: an href relative to the repository root, or `xml:base` +
    /// href when the record has a base), checks its size and checksums, decompresses and parses it.
    public static func packages(
        repomd repomdBytes: [UInt8], repomdName: String = "repodata/repomd.xml",
        load: (String) throws(TidemarkError) -> [UInt8]
    ) throws(TidemarkError) -> [Package] {
        let md = try parseRepoMD(repomdBytes, name: repomdName)
        guard let primary = md.record("primary") else {
            throw TidemarkError(
                .invalidInput,
                "\(repomdName): no <data type=\"primary\"> (has \(md.records.map(\.type).joined(separator: ", "))); not an rpm-md repository")
        }
        let location = primary.base.map { join($0, primary.href) } ?? primary.href
        let compressed = try load(location)
        let xml = try verifiedContent(of: primary, bytes: compressed, name: location)
        return try parsePrimary(xml, name: location)
    }

    /// Reads a repository on disk (`root` holds `repodata/`). Metadata locations must stay
    /// inside `root` (no absolute paths, no `..`, no `xml:base`).
    public static func packages(directory root: String) throws(TidemarkError) -> [Package] {
        let repomd = try readFile(root + "/repodata/repomd.xml")
        return try packages(repomd: repomd, repomdName: root + "/repodata/repomd.xml") { href throws(TidemarkError) in
            guard isSafeRelativePath(href) else {
                throw TidemarkError(.invalidInput, "\(root)/repodata/repomd.xml: location '\(href)' is not a path inside the repository")
            }
            return try readFile(root + "/" + href)
        }
    }

    /// Whether an href from repository metadata (untrusted) is a plain relative path: not
    /// empty, not absolute, no `..` component, no URL scheme (a `:` in the first component),
    /// no NUL or backslash. The mirror must check every package href with it before joining
    /// it to a directory or URL.
    public static func isSafeRelativePath(_ href: String) -> Bool {
        guard !href.isEmpty, !href.hasPrefix("/"), !href.contains("\0"), !href.contains("\\") else { return false }
        let parts = href.split(separator: "/", omittingEmptySubsequences: false)
        if parts[0].contains(":") { return false }
        return !parts.contains { $0 == ".." }
    }

    /// Checks `bytes` (as loaded from `record`'s location) against the record's size and
    /// checksum, decompresses, and checks open-size and open-checksum.
    public static func verifiedContent(of record: Record, bytes: [UInt8], name: String) throws(TidemarkError) -> [UInt8] {
        if let size = record.size, size != bytes.count {
            throw TidemarkError(.corrupt, "\(name): \(bytes.count) bytes, repomd.xml says \(size) (incomplete or stale download?)")
        }
        if let type = record.checksumType, let want = record.checksum, let got = digest(type, bytes), got != want.lowercased() {
            throw TidemarkError(.corrupt, "\(name): \(type) checksum \(got) does not match repomd.xml's \(want)")
        }
        let xml = try decompress(bytes, name: name)
        if let size = record.openSize, size != xml.count {
            throw TidemarkError(.corrupt, "\(name): decompresses to \(xml.count) bytes, repomd.xml's open-size says \(size)")
        }
        if let type = record.openChecksumType, let want = record.openChecksum, let got = digest(type, xml), got != want.lowercased() {
            throw TidemarkError(.corrupt, "\(name): uncompressed \(type) checksum \(got) does not match repomd.xml's open-checksum \(want)")
        }
        return xml
    }

    /// Whether `verifiedContent` can check a checksum of this type.
    public static func verified(_ checksumType: String) -> Bool { digest(checksumType, []) != nil }

    /// Hex digest of `bytes` for repomd's checksum type names; nil for types not supported here.
    public static func digest(_ type: String, _ bytes: [UInt8]) -> String? {
        switch type.lowercased() {
        case "sha256":
            return bulkSHA256Hex(bytes)
        case "sha", "sha1":
            var h = SHA1()
            bytes.withUnsafeBufferPointer { h.update($0) }
            return hexString(h.finalize())
        case "md5":
            var h = MD5()
            bytes.withUnsafeBufferPointer { h.update($0) }
            return hexString(h.finalize())
        default:
            return nil
        }
    }

    // MARK: Decompression

    public enum Compression: String, Sendable {
        case none, gzip, zstd, xz, bzip2, zchunk
    }

    /// The compression of metadata bytes, by their magic.
    public static func compression(of bytes: [UInt8]) -> Compression {
        func has(_ magic: [UInt8]) -> Bool { bytes.count >= magic.count && bytes.prefix(magic.count).elementsEqual(magic) }
        if has([0x1f, 0x8b]) { return .gzip }
        if has([0x28, 0xb5, 0x2f, 0xfd]) { return .zstd }
        if has([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) { return .xz }
        if has([0x42, 0x5a, 0x68]) { return .bzip2 }
        if has([0x00, 0x5a, 0x43, 0x4b, 0x31]) { return .zchunk }
        return .none
    }

    /// Decompresses metadata of any supported compression (uncompressed bytes are returned as
    /// they are). Errors name `name`.
    public static func decompress(_ bytes: [UInt8], name: String) throws(TidemarkError) -> [UInt8] {
        switch compression(of: bytes) {
        case .none: return bytes
        case .gzip: return try gunzip(bytes, name: name)
        case .zstd: return try tool("zstd", bytes, name: name)
        case .xz: return try tool("xz", bytes, name: name)
        case .bzip2: return try tool("bzip2", bytes, name: name)
        case .zchunk:
            throw TidemarkError(.invalidInput, "\(name): zchunk-compressed metadata is not supported; the repository must offer gzip, zstd, xz or bzip2")
        }
    }

    private static func tool(_ tool: String, _ bytes: [UInt8], name: String) throws(TidemarkError) -> [UInt8] {
        let r = try Subprocess.run(tool, ["-dc"], input: Data(bytes))
        guard r.status == 0 else {
            throw TidemarkError(.corrupt, "\(name): '\(tool) -dc' failed with exit status \(r.status): \(r.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return [UInt8](r.stdout)
    }

    // MARK: repomd.xml

    public static func parseRepoMD(_ bytes: [UInt8], name: String = "repomd.xml") throws(TidemarkError) -> RepoMD {
        var s = XMLScanner(bytes: bytes, file: name)
        var md = RepoMD(revision: nil, records: [])
        guard case .start(let root)? = try firstElement(&s) else { throw s.error("no root element", at: s.pos) }
        guard s.equals(root, "repomd") else { throw s.error("root element is <\(s.string(root))>, expected <repomd>", at: s.pos) }
        while let e = try s.next() {
            guard case .start(let el) = e, s.depth == 2 else { continue }
            if s.equals(el, "revision") {
                md.revision = try s.textContent().trimmed
            } else if s.equals(el, "data") {
                let at = s.pos
                guard let type = try s.attribute("type") else { throw s.error("<data> without a type attribute", at: at) }
                var r = Record(type: type, href: "")
                var sawLocation = false
                while let c = try s.next() {
                    if case .end = c, s.depth == 1 { break }
                    guard case .start(let child) = c, s.depth == 3 else { continue }
                    let childAt = s.pos
                    func int(_ what: String, _ text: String) throws(TidemarkError) -> Int {
                        guard let v = Int(text) else { throw s.error("<\(what)> of <data type=\"\(type)\"> is not a number: '\(text)'", at: childAt) }
                        return v
                    }
                    if s.equals(child, "checksum") {
                        r.checksumType = try s.attribute("type")
                        r.checksum = try s.textContent().trimmed
                    } else if s.equals(child, "open-checksum") {
                        r.openChecksumType = try s.attribute("type")
                        r.openChecksum = try s.textContent().trimmed
                    } else if s.equals(child, "location") {
                        guard let href = try s.attribute("href"), !href.isEmpty else {
                            throw s.error("<location> of <data type=\"\(type)\"> has no href", at: childAt)
                        }
                        r.href = href
                        r.base = try s.attribute("xml:base").flatMap { $0.isEmpty ? nil : $0 }
                        sawLocation = true
                        try s.skipElement()
                    } else if s.equals(child, "size") {
                        r.size = try int("size", s.textContent().trimmed)
                    } else if s.equals(child, "open-size") {
                        r.openSize = try int("open-size", s.textContent().trimmed)
                    } else if s.equals(child, "timestamp") {
                        r.timestamp = Int64(try int("timestamp", s.textContent().trimmed))
                    } else {
                        try s.skipElement()
                    }
                }
                guard sawLocation else { throw s.error("<data type=\"\(type)\"> has no <location href>", at: at) }
                md.records.append(r)
            } else {
                try s.skipElement()
            }
        }
        return md
    }

    // MARK: primary.xml

    /// The packages of primary.xml (uncompressed bytes). Every `<package>` must have a name,
    /// arch, version, checksum and location href.
    public static func parsePrimary(_ bytes: [UInt8], name: String = "primary.xml") throws(TidemarkError) -> [Package] {
        var s = XMLScanner(bytes: bytes, file: name)
        guard case .start(let root)? = try firstElement(&s) else { throw s.error("no root element", at: s.pos) }
        guard s.equals(root, "metadata") else { throw s.error("root element is <\(s.string(root))>, expected <metadata>", at: s.pos) }
        var out: [Package] = []
        if let count = try s.attribute("packages").flatMap({ Int($0) }) { out.reserveCapacity(min(count, 1_000_000)) }
        while let e = try s.next() {
            guard case .start(let el) = e else { continue }
            guard s.equals(el, "package") else {
                try s.skipElement()
                continue
            }
            let at = s.pos
            var name: String?, arch: String?, epoch: String?, version: String?, release: String?
            var checksumType: String?, checksum: String?, href: String?, base: String?, size: Int?
            while let c = try s.next() {
                if case .end = c, s.depth == 1 { break }
                guard case .start(let child) = c, s.depth == 3 else { continue }
                if s.equals(child, "name") {
                    name = try s.textContent()
                } else if s.equals(child, "arch") {
                    arch = try s.textContent()
                } else if s.equals(child, "version") {
                    epoch = try s.attribute("epoch")
                    version = try s.attribute("ver")
                    release = try s.attribute("rel")
                    try s.skipElement()
                } else if s.equals(child, "checksum") {
                    checksumType = try s.attribute("type")
                    checksum = try s.textContent().trimmed
                } else if s.equals(child, "location") {
                    href = try s.attribute("href")
                    base = try s.attribute("xml:base")
                    try s.skipElement()
                } else if s.equals(child, "size") {
                    size = try s.attribute("package").flatMap { Int($0) }
                    try s.skipElement()
                } else {
                    try s.skipElement()
                }
            }
            func missing(_ what: String) -> TidemarkError {
                s.error("<package> \(name.map { "'\($0)' " } ?? "")has no \(what)", at: at)
            }
            guard let name, !name.isEmpty else { throw missing("<name>") }
            guard let arch, !arch.isEmpty else { throw missing("<arch>") }
            guard let version, let release else { throw missing("<version ver rel>") }
            guard let checksum, !checksum.isEmpty else { throw missing("<checksum>") }
            guard let href, !href.isEmpty else { throw missing("<location href>") }
            out.append(
                Package(
                    name: name, arch: arch, epoch: (epoch?.isEmpty ?? true) ? "0" : epoch!, version: version, release: release,
                    checksumType: checksumType ?? "sha256", checksum: checksum.lowercased(), href: href,
                    base: (base?.isEmpty ?? true) ? nil : base, packageSize: size))
        }
        return out
    }

    // MARK: Helpers

    /// The root element's start event.
    private static func firstElement(_ s: inout XMLScanner) throws(TidemarkError) -> XMLScanner.Event? {
        while let e = try s.next() {
            if case .start = e { return e }
        }
        return nil
    }

    static func join(_ base: String, _ href: String) -> String {
        base.hasSuffix("/") ? base + href : base + "/" + href
    }

    static func readFile(_ path: String) throws(TidemarkError) -> [UInt8] { try DurableFile.read(path) }
}
