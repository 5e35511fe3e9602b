import Foundation
import TidemarkCore

/// An `.rpm` package file, read natively and checked against every digest it carries.
///
/// Layout (rpm's `docs/manual/format_v4.md`): a 96-byte lead (magic `ed ab ee db`), the
/// signature header (an `RPMHeader` with magic, zero-padded to a multiple of 8 bytes), the main
/// header, then the payload (a cpio archive, usually compressed) up to the end of the file.
///
/// `init` rejects, with `TidemarkError(.corrupt, "NAME: what, where")`, a file that is
/// truncated, has trailing data, a damaged structure, or a digest that does not match its
/// content: the signature's SHA256HEADER and SHA1HEADER (over the main header), its MD5 (over
/// header and payload) and SIZE/LONGSIZE, and the main header's PAYLOADDIGEST (over the
/// compressed payload) and PAYLOADDIGESTALT (over the uncompressed payload, so checked only
/// when the payload is stored uncompressed). Both the header and the payload must be covered
/// by at least one digest, or the file is rejected: an archive keyed by content must never
/// take in bytes nobody can vouch for. OpenPGP signatures are not checked (no keys here); they
/// are listed in `unverifiedDigests`.
///
/// Everything is parsed and validated in `init`, so the accessors never throw and a file that
/// made it through `init` is safe to archive. No input traps: all reads are bounds-checked and
/// all counts limited (see the fuzz target in `Fuzz/RPMFileFuzz`).
public struct RPMFile: Sendable {
    // MARK: Identity

    public let name: String
    /// EPOCH; nil when the header has none (rpm treats that as 0, see `evr`).
    public let epoch: Int?
    public let version: String
    public let release: String
    /// ARCH as the header has it (also for source packages, where createrepo_c writes `src`).
    public let arch: String
    /// SOURCERPM (`foo-1.0-1.src.rpm`); nil for a source package.
    public let sourceRPM: String?
    /// SOURCEPACKAGE is set (createrepo_c's test for `arch="src"`).
    public let isSourcePackage: Bool
    public var evr: EVR { EVR(epoch: epoch ?? 0, version: version, release: release) }

    // MARK: Descriptive tags (createrepo_c's primary.xml)

    public let summary: String?
    public let description: String?
    public let url: String?
    public let license: String?
    public let vendor: String?
    public let group: String?
    public let packager: String?
    public let buildHost: String?
    public let distURL: String?
    /// BUILDTIME, seconds since 1970.
    public let buildTime: Int64?

    // MARK: Sizes and layout

    /// Bytes of the whole file (`<size package=…>`).
    public let packageSize: Int
    /// LONGSIZE, else SIZE: the installed size (`<size installed=…>`).
    public let installedSize: UInt64?
    /// LONGARCHIVESIZE, else ARCHIVESIZE / the signature's PAYLOADSIZE: the uncompressed
    /// payload size (`<size archive=…>`).
    public let archiveSize: UInt64?
    /// Byte offsets of the main header in the file, magic included: createrepo_c's
    /// `<rpm:header-range start end>`.
    public let headerRange: Range<Int>
    /// Where the payload starts (`headerRange.upperBound`); it runs to the end of the file.
    public var payloadOffset: Int { headerRange.upperBound }
    /// Lead format version (3 or 4).
    public let leadMajor: UInt8
    /// PAYLOADCOMPRESSOR (`gzip`, `xz`, `zstd`, …); nil when the header does not say.
    public let payloadCompressor: String?
    /// True when the payload is stored as a bare cpio archive (it starts with `07070`).
    public let payloadIsUncompressed: Bool

    // MARK: Digests

    /// SHA-256 of the whole file, hex: the archive's content key and createrepo_c's pkgid.
    public let fileSHA256: String
    /// The signature's MD5 over header and payload, hex: rpm's SIGMD5 / PKGID, the `digest`
    /// of the package an install of this file leaves in the rpm database. nil when absent.
    public let sigMD5: String?
    /// SHA1HEADER (HDRID), hex, when present.
    public let sha1Header: String?
    /// SHA256HEADER, hex, when present.
    public let sha256Header: String?
    /// PAYLOADDIGEST (first value), hex, when present.
    public let payloadDigest: String?
    /// What was checked against the content, e.g. `SHA256HEADER`, `MD5`, `PAYLOADDIGEST (SHA-256)`.
    public let verifiedDigests: [String]
    /// What the file carries that could not be checked, and why.
    public let unverifiedDigests: [String]

    // MARK: Content lists

    public let files: [RPMFileEntry]
    /// Newest first, as rpm keeps it.
    public let changelog: [ChangelogEntry]
    private let dependencyLists: [RPMDependencyKind: [RPMDependency]]

    /// The dependencies of one kind, in header order, unfiltered (createrepo_c drops
    /// `rpmlib(…)` requires, requires on the package's own primary files, duplicates, and
    /// all but the highest `libc.so.6` require; that is the generator's business).
    public func dependencies(_ kind: RPMDependencyKind) -> [RPMDependency] { dependencyLists[kind] ?? [] }

    // MARK: Raw headers

    /// The signature header (tag numbers are signature tags: 1000 SIZE, 1004 MD5, …).
    public let signature: RPMHeader
    /// The main header.
    public let header: RPMHeader

    /// The package as the host collector records it once installed: the same mapping
    /// (`RPMHeader.package(digest:)`) with SIGMD5 as digest, so identities match.
    public let package: Package
    public func toPackage() -> Package { package }

    // MARK: Reading

    /// Reads and checks the file at `path`; the payload is streamed, not held in memory.
    /// Errors name the path.
    public init(path: String) throws(TidemarkError) {
        var input = try RPMInput(path: path)
        defer { input.close() }
        try self.init(input: &input, name: path, verify: true)
    }

    /// Reads and checks a file's bytes; `name` (a file name) prefixes every error message.
    public init(bytes: [UInt8], name: String) throws(TidemarkError) {
        var input = RPMInput(bytes: bytes)
        try self.init(input: &input, name: name, verify: true)
    }

    /// For the fuzz target only: parses without insisting that the digests match, so that
    /// mutated inputs reach the tag parsing behind the digest checks.
    @_spi(Fuzzing)
    public init(unverifiedBytes bytes: [UInt8], name: String) throws(TidemarkError) {
        var input = RPMInput(bytes: bytes)
        try self.init(input: &input, name: name, verify: false)
    }

    /// rpm's lead: magic, format version, type, arch, name, os, signature type, reserved.
    public static let leadSize = 96
    public static let leadMagic: [UInt8] = [0xed, 0xab, 0xee, 0xdb]
    /// RPMSIGTYPE_HEADERSIG, the only signature type rpm reads.
    static let headerSignatureType = 5

    /// Signature tag numbers (they clash with main header tags, so they are not `RPMTag`s
    /// with names; rpm's `rpmSigTag`).
    public enum SignatureTag {
        public static let size = RPMTag(1000)
        public static let pgp = RPMTag(1002)
        public static let md5 = RPMTag(1004)
        public static let gpg = RPMTag(1005)
        public static let payloadSize = RPMTag(1007)
        public static let dsa = RPMTag(267)
        public static let rsa = RPMTag(268)
        public static let sha1 = RPMTag(269)
        public static let longSize = RPMTag(270)
        public static let longArchiveSize = RPMTag(271)
        public static let sha256 = RPMTag(273)
        /// rpm 6's OpenPGP signatures (v6 packages).
        public static let openPGP = RPMTag(278)
    }

    private init(input: inout RPMInput, name file: String, verify: Bool) throws(TidemarkError) {
        func fail(_ what: String) -> TidemarkError { TidemarkError(.corrupt, "\(file): \(what)") }
        let size = input.count
        packageSize = size

        // Lead
        if size == 0 { throw fail("empty file (0 bytes), not an rpm package") }
        try input.ensure(min(size, RPMFile.leadSize), file)
        let magicLength = min(size, 4)
        guard input.prefix[0..<magicLength].elementsEqual(RPMFile.leadMagic[0..<magicLength]) else {
            throw fail(
                "not an rpm package: starts with \(hexString(input.prefix[0..<magicLength])), expected the lead magic edabeedb at offset 0")
        }
        guard size >= RPMFile.leadSize else {
            throw fail("truncated: the lead needs \(RPMFile.leadSize) bytes at offset 0, file has \(size)")
        }
        let major = input.prefix[4]
        guard major == 3 || major == 4 else {
            throw fail("unsupported rpm format version \(major) in the lead (offset 4); versions 3 and 4 are known")
        }
        leadMajor = major
        let sigType = Int(input.prefix[78]) << 8 | Int(input.prefix[79])
        guard sigType == RPMFile.headerSignatureType else {
            throw fail("lead signature type \(sigType) at offset 78 is not \(RPMFile.headerSignatureType) (a header-style signature)")
        }

        // Signature header, padded to 8 bytes, then the main header
        let sigStart = RPMFile.leadSize
        let sigHeader = try RPMFile.readHeader(&input, at: sigStart, what: "signature header", file: file)
        signature = sigHeader
        let sigSize = sigHeader.size
        let headerStart = sigStart + sigSize + (8 - sigSize % 8) % 8
        let mainHeader = try RPMFile.readHeader(&input, at: headerStart, what: "main header", file: file)
        header = mainHeader
        let payloadStart = headerStart + mainHeader.size
        headerRange = headerStart..<payloadStart

        // Tags read in both headers: wrap accessor errors with the file and header name.
        func sig<T>(_ body: (RPMHeader) throws(TidemarkError) -> T) throws(TidemarkError) -> T {
            do { return try body(sigHeader) } catch { throw fail("signature header at offset \(sigStart): \(RPMFile.strip(error.message))") }
        }
        func hdr<T>(_ body: (RPMHeader) throws(TidemarkError) -> T) throws(TidemarkError) -> T {
            do { return try body(mainHeader) } catch { throw fail("main header at offset \(headerStart): \(RPMFile.strip(error.message))") }
        }

        // Sizes: header + payload must be exactly what the signature says.
        let payloadLength = size - payloadStart
        var verified: [String] = [], unverified: [String] = []
        let sizeTag = try sig { s throws(TidemarkError) in try RPMFile.first(s, SignatureTag.longSize, SignatureTag.size) }
        if let expected = sizeTag {
            let actual = UInt64(size - headerStart)
            if expected > actual {
                throw fail(
                    "truncated: the signature says header and payload take \(expected) bytes from offset \(headerStart), file has \(actual)")
            }
            if expected < actual, verify {
                throw fail(
                    "\(actual - expected) bytes of trailing data: the signature says header and payload take \(expected) bytes from offset \(headerStart), file has \(actual)")
            }
            verified.append(try sig { s throws(TidemarkError) in s.contains(SignatureTag.longSize) } ? "LONGSIZE" : "SIZE")
        }

        // Expected digests
        let sha256 = try sig { s throws(TidemarkError) in try s.string(SignatureTag.sha256) }
        let sha1 = try sig { s throws(TidemarkError) in try s.string(SignatureTag.sha1) }
        let md5 = try sig { s throws(TidemarkError) in try s.binary(SignatureTag.md5) }
        let payloadDigests = try hdr { h throws(TidemarkError) in try h.stringArray(.payloadDigest) }
        let payloadAlgoNumber = try hdr { h throws(TidemarkError) in try h.int32(.payloadDigestAlgo) }
        let payloadAltDigests = try hdr { h throws(TidemarkError) in try h.stringArray(.payloadDigestAlt) }
        let md5Hex = md5.map(hexString)
        let expectedPayload = payloadDigests?.first
        sha256Header = sha256
        sha1Header = sha1
        sigMD5 = md5Hex
        payloadDigest = expectedPayload
        if let md5, md5.count != 16 {
            throw fail("signature MD5 (tag 1004) has \(md5.count) bytes, expected 16")
        }
        var payloadAlgo: RPMDigestAlgorithm?
        if expectedPayload != nil || payloadAltDigests?.first != nil {
            guard let n = payloadAlgoNumber else {
                throw fail("main header at offset \(headerStart) has PAYLOADDIGEST but no PAYLOADDIGESTALGO")
            }
            guard let a = RPMDigestAlgorithm(pgpHashAlgorithm: n) else {
                throw fail("payload digest algorithm \(n) (PAYLOADDIGESTALGO) is not supported; MD5 (1), SHA-1 (2) and SHA-256 (8) are")
            }
            payloadAlgo = a
        }
        if verify {
            let headerCovered = sha256 != nil || sha1 != nil || md5 != nil
            let payloadCovered = expectedPayload != nil || md5 != nil
            if !headerCovered && !payloadCovered {
                throw fail(
                    "no digest to verify: the signature header has no SHA256 (273), SHA1 (269) or MD5 (1004) and the main header no PAYLOADDIGEST (5092)")
            }
            if !headerCovered {
                throw fail("no digest covers the main header (bytes \(headerStart)..<\(payloadStart)): the signature header has no SHA256, SHA1 or MD5")
            }
            if !payloadCovered {
                throw fail(
                    "no digest covers the payload (bytes \(payloadStart)..<\(size)): the signature header has no MD5 and the main header no PAYLOADDIGEST")
            }
        }

        // Header digests, over the main header as it is in the file (magic included).
        let headerBytes = input.prefix[headerStart..<payloadStart]
        if let sha256 {
            var h = SHA256()
            headerBytes.withUnsafeBufferPointer { h.update($0) }
            let got = hexString(h.finalize())
            if verify, got != sha256.lowercased() {
                throw fail("header SHA-256 mismatch: the signature says \(sha256), the main header (bytes \(headerStart)..<\(payloadStart)) hashes to \(got)")
            }
            verified.append("SHA256HEADER")
        }
        if let sha1 {
            var h = SHA1()
            headerBytes.withUnsafeBufferPointer { h.update($0) }
            let got = hexString(h.finalize())
            if verify, got != sha1.lowercased() {
                throw fail("header SHA-1 mismatch: the signature says \(sha1), the main header (bytes \(headerStart)..<\(payloadStart)) hashes to \(got)")
            }
            verified.append("SHA1HEADER")
        }

        // One pass over the whole file: its SHA-256, the MD5 from the header on, the payload digest.
        var fileHash = SHA256()
        var md5Hash = md5 != nil ? MD5() : nil
        var payloadHash = payloadAlgo.map(RPMDigestHasher.init)
        var payloadHead: [UInt8] = []
        try input.forEachChunk(file) { offset, chunk in
            fileHash.update(chunk)
            let end = offset + chunk.count
            if end > headerStart {
                let from = max(headerStart - offset, 0)
                md5Hash?.update(UnsafeBufferPointer(rebasing: chunk[from...]))
            }
            if end > payloadStart {
                let from = max(payloadStart - offset, 0)
                let part = UnsafeBufferPointer(rebasing: chunk[from...])
                payloadHash?.update(part)
                if payloadHead.count < 5 { payloadHead += part.prefix(5 - payloadHead.count) }
            }
        }
        fileSHA256 = hexString(fileHash.finalize())
        payloadIsUncompressed = payloadHead.count == 5 && payloadHead.elementsEqual("07070".utf8)
        payloadCompressor = try hdr { h throws(TidemarkError) in try h.string(.payloadCompressor) }

        if let expectedPayload, var payloadHash, let payloadAlgo {
            let got = payloadHash.finalizeHex()
            if verify, got != expectedPayload.lowercased() {
                throw fail(
                    "payload \(payloadAlgo.label) mismatch: the header says \(expectedPayload), the payload (bytes \(payloadStart)..<\(size)) hashes to \(got)")
            }
            verified.append("PAYLOADDIGEST (\(payloadAlgo.label))")
            // PAYLOADDIGESTALT covers the uncompressed payload: the same bytes when stored so.
            if let alt = payloadAltDigests?.first {
                if payloadIsUncompressed {
                    if verify, got != alt.lowercased() {
                        throw fail(
                            "uncompressed payload \(payloadAlgo.label) mismatch: the header's PAYLOADDIGESTALT says \(alt), the payload (bytes \(payloadStart)..<\(size)) hashes to \(got)")
                    }
                    verified.append("PAYLOADDIGESTALT (\(payloadAlgo.label))")
                } else {
                    unverified.append("PAYLOADDIGESTALT: digest of the uncompressed payload, which is stored compressed")
                }
            }
        } else if payloadAltDigests?.first != nil {
            unverified.append("PAYLOADDIGESTALT: digest of the uncompressed payload, and the header has no PAYLOADDIGEST")
        }
        if var md5Hash, let md5 {
            let got = md5Hash.finalize()
            if verify, got != md5 {
                throw fail(
                    "MD5 mismatch: the signature says \(hexString(md5)), header and payload (bytes \(headerStart)..<\(size)) hash to \(hexString(got))")
            }
            verified.append("MD5")
        }
        for (tag, label) in [(SignatureTag.rsa, "RSA"), (SignatureTag.dsa, "DSA"), (SignatureTag.pgp, "PGP"), (SignatureTag.gpg, "GPG"), (SignatureTag.openPGP, "OPENPGP")]
        where sigHeader.contains(tag) {
            unverified.append("\(label): OpenPGP signature, not checked (no keys)")
        }

        // Archive size: the signature's (or header's) uncompressed payload size equals the
        // payload when that is stored uncompressed.
        let sigArchive = try sig { s throws(TidemarkError) in try RPMFile.first(s, SignatureTag.longArchiveSize, SignatureTag.payloadSize) }
        let hdrArchive = try hdr { h throws(TidemarkError) in try RPMFile.first(h, .longArchiveSize, .archiveSize) }
        archiveSize = hdrArchive ?? sigArchive
        if let archiveSize, payloadIsUncompressed {
            if verify, archiveSize != UInt64(payloadLength) {
                throw fail("payload size mismatch: the archive size says \(archiveSize) bytes, the uncompressed payload (bytes \(payloadStart)..<\(size)) has \(payloadLength)")
            }
            verified.append("PAYLOADSIZE")
        }
        verifiedDigests = verified
        unverifiedDigests = unverified

        // Tags
        do throws(TidemarkError) {
            let h = mainHeader
            package = try h.package(digest: md5Hex)
            name = package.name
            version = package.evr.version
            release = package.evr.release
            arch = package.arch
            epoch = try h.int32(.epoch).map { Int($0) }
            let source = try h.string(.sourceRPM)
            sourceRPM = source
            isSourcePackage = try (h.int64(.sourcePackage) ?? 0) != 0
            summary = try h.string(.summary)
            description = try h.string(.packageDescription)
            url = try h.string(.url)
            license = try h.string(.license)
            vendor = try h.string(.vendor)
            group = try h.string(.group)
            packager = try h.string(.packager)
            buildHost = try h.string(.buildHost)
            distURL = try h.string(.disturl)
            buildTime = try h.int64(.buildTime).map { Int64(truncatingIfNeeded: $0) }
            installedSize = try RPMFile.first(h, .longSize, .size)
            changelog = try h.changelog()
            var lists: [RPMDependencyKind: [RPMDependency]] = [:]
            for kind in RPMDependencyKind.allCases {
                let deps = try RPMFile.dependencies(kind, in: h)
                if !deps.isEmpty { lists[kind] = deps }
            }
            dependencyLists = lists
            files = try RPMFile.fileList(h)
        } catch {
            throw fail("main header at offset \(headerStart): \(RPMFile.strip(error.message))")
        }
    }

    /// Reads the header at `offset` (magic, index count, data length, index, data) after
    /// checking that the file has all of it.
    private static func readHeader(_ input: inout RPMInput, at offset: Int, what: String, file: String) throws(TidemarkError) -> RPMHeader {
        let size = input.count
        guard size - offset >= 16 else {
            throw TidemarkError(
                .corrupt, "\(file): truncated: the \(what) needs 16 bytes at offset \(offset) for its magic and counts, file has \(size)")
        }
        try input.ensure(offset + 16, file)
        let p = input.prefix
        guard p[offset] == 0x8e, p[offset + 1] == 0xad, p[offset + 2] == 0xe8, p[offset + 3] == 0x01 else {
            throw TidemarkError(
                .corrupt, "\(file): bad \(what) magic \(hexString(p[offset..<(offset + 4)])) at offset \(offset), expected 8eade801")
        }
        func be32(_ i: Int) -> Int { Int(p[i]) << 24 | Int(p[i + 1]) << 16 | Int(p[i + 2]) << 8 | Int(p[i + 3]) }
        let il = be32(offset + 8), dl = be32(offset + 12)
        guard il >= 1, il <= RPMHeader.maxEntries else {
            throw TidemarkError(.corrupt, "\(file): \(what) at offset \(offset): index count \(il) is out of range 1...\(RPMHeader.maxEntries)")
        }
        guard dl <= RPMHeader.maxDataLength else {
            throw TidemarkError(.corrupt, "\(file): \(what) at offset \(offset): data length \(dl) exceeds \(RPMHeader.maxDataLength)")
        }
        let needed = 16 + il * 16 + dl
        guard size - offset >= needed else {
            throw TidemarkError(
                .corrupt, "\(file): truncated: the \(what) needs \(needed) bytes at offset \(offset), file has \(size - offset) from there (\(size) in all)")
        }
        try input.ensure(offset + needed, file)
        do {
            return try RPMHeader(blob: input.prefix[offset..<(offset + needed)], hasMagic: true)
        } catch {
            throw TidemarkError(.corrupt, "\(file): \(what) at offset \(offset): \(strip(error.message))")
        }
    }

    /// The integer value of the first of two tags the header has (the 64-bit and the 32-bit one).
    private static func first(_ h: RPMHeader, _ a: RPMTag, _ b: RPMTag) throws(TidemarkError) -> UInt64? {
        if let v = try h.int64(a) { return v }
        return try h.int64(b)
    }

    /// RPMHeader's messages start with `rpm header: `; here the header is named instead.
    static func strip(_ message: String) -> String {
        message.hasPrefix("rpm header: ") ? String(message.dropFirst("rpm header: ".count)) : message
    }

    private static func dependencies(_ kind: RPMDependencyKind, in h: RPMHeader) throws(TidemarkError) -> [RPMDependency] {
        let (nameTag, flagsTag, versionTag) = kind.tags
        guard let names = try h.stringArray(nameTag) else { return [] }
        guard let flags = try h.int32Array(flagsTag), let versions = try h.stringArray(versionTag) else {
            throw TidemarkError(.corrupt, "tag \(nameTag) has no matching \(flagsTag) and \(versionTag)")
        }
        guard flags.count == names.count, versions.count == names.count else {
            throw TidemarkError(
                .corrupt, "tags \(nameTag), \(flagsTag) and \(versionTag) have \(names.count), \(flags.count) and \(versions.count) values (must be equal)")
        }
        var out: [RPMDependency] = []
        out.reserveCapacity(names.count)
        for i in names.indices {
            out.append(RPMDependency(name: names[i], flags: flags[i], evrString: versions[i], isRequirement: kind == .requires))
        }
        return out
    }

    private static func fileList(_ h: RPMHeader) throws(TidemarkError) -> [RPMFileEntry] {
        var paths: [String]
        if let baseNames = try h.stringArray(.baseNames) {
            guard let dirNames = try h.stringArray(.dirNames), let dirIndexes = try h.int32Array(.dirIndexes) else {
                throw TidemarkError(.corrupt, "tag \(RPMTag.baseNames) has no matching \(RPMTag.dirNames) and \(RPMTag.dirIndexes)")
            }
            guard dirIndexes.count == baseNames.count else {
                throw TidemarkError(
                    .corrupt, "tags \(RPMTag.baseNames) and \(RPMTag.dirIndexes) have \(baseNames.count) and \(dirIndexes.count) values (must be equal)")
            }
            paths = []
            paths.reserveCapacity(baseNames.count)
            for i in baseNames.indices {
                let d = Int(dirIndexes[i])
                guard d < dirNames.count else {
                    throw TidemarkError(.corrupt, "file \(i) ('\(baseNames[i])') has directory index \(d), but there are \(dirNames.count) DIRNAMES")
                }
                paths.append(dirNames[d] + baseNames[i])
            }
        } else if let old = try h.stringArray(.oldFileNames) {
            paths = old
        } else {
            return []
        }
        let n = paths.count
        func array<T>(_ tag: RPMTag, _ values: [T]?, required: Bool) throws(TidemarkError) -> [T]? {
            guard let values else {
                if required { throw TidemarkError(.corrupt, "the header lists \(n) files but has no \(tag)") }
                return nil
            }
            guard values.count == n else {
                throw TidemarkError(.corrupt, "the header lists \(n) files but tag \(tag) has \(values.count) values")
            }
            return values
        }
        let modes = try array(.fileModes, try h.int32Array(.fileModes), required: true) ?? []
        let flags = try array(.fileFlags, try h.int32Array(.fileFlags), required: true) ?? []
        let sizes = try h.contains(.longFileSizes)
            ? array(.longFileSizes, try h.int64Array(.longFileSizes), required: false)
            : array(.fileSizes, try h.int64Array(.fileSizes), required: false)
        let digests = try array(.fileDigests, try h.stringArray(.fileDigests), required: false)
        let links = try array(.fileLinkTos, try h.stringArray(.fileLinkTos), required: false)
        let users = try array(.fileUserName, try h.stringArray(.fileUserName), required: false)
        let groups = try array(.fileGroupName, try h.stringArray(.fileGroupName), required: false)
        func nonEmpty(_ s: String?) -> String? { s?.isEmpty == false ? s : nil }
        var out: [RPMFileEntry] = []
        out.reserveCapacity(n)
        for i in 0..<n {
            out.append(
                RPMFileEntry(
                    path: paths[i], mode: UInt16(truncatingIfNeeded: modes[i]), flags: flags[i], size: sizes?[i],
                    digest: nonEmpty(digests?[i]), linkTarget: nonEmpty(links?[i]), user: users?[i], group: groups?[i]))
        }
        return out
    }
}
