import TidemarkCore

/// A tag number of an rpm header (rpm's `rpmTag`).
///
/// A struct with named constants rather than an enum: rpm has aliases (`PKGID` is `SIGMD5`,
/// `HDRID` is `SHA1HEADER`), and a header may hold any tag number, known here or not.
public struct RPMTag: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    /// The region tag that opens a header's immutable (signed) part.
    public static let headerImmutable = RPMTag(63)
    public static let i18nTable = RPMTag(100)
    /// Signature tags; rpm merges them into the main header when it installs a package.
    public static let sigSize = RPMTag(257)
    public static let sigMD5 = RPMTag(261)
    /// `PKGID` is rpm's name for `SIGMD5` (MD5 over header and payload).
    public static let pkgid = RPMTag(261)
    public static let sha1Header = RPMTag(269)
    /// `HDRID` is rpm's name for `SHA1HEADER` (SHA-1 over the immutable header).
    public static let hdrid = RPMTag(269)
    public static let sha256Header = RPMTag(273)

    public static let name = RPMTag(1000)
    public static let version = RPMTag(1001)
    public static let release = RPMTag(1002)
    public static let epoch = RPMTag(1003)
    public static let summary = RPMTag(1004)
    public static let buildTime = RPMTag(1006)
    public static let buildHost = RPMTag(1007)
    public static let installTime = RPMTag(1008)
    public static let size = RPMTag(1009)
    public static let vendor = RPMTag(1011)
    public static let license = RPMTag(1014)
    public static let arch = RPMTag(1022)
    public static let sourceRPM = RPMTag(1044)
    public static let changelogTime = RPMTag(1080)
    public static let changelogName = RPMTag(1081)
    public static let changelogText = RPMTag(1082)
    public static let installTID = RPMTag(1128)
    public static let disturl = RPMTag(1123)

    // What an `.rpm` file reader and an rpm-md generator need (createrepo_c's primary.xml,
    // filelists.xml and other.xml read these).
    public static let longArchiveSize = RPMTag(271)
    /// DESCRIPTION; named so to stay apart from `CustomStringConvertible.description`.
    public static let packageDescription = RPMTag(1005)
    public static let distribution = RPMTag(1010)
    public static let packager = RPMTag(1015)
    public static let group = RPMTag(1016)
    public static let url = RPMTag(1020)
    public static let os = RPMTag(1021)
    /// Full file paths of v3 packages (before DIRNAMES/BASENAMES/DIRINDEXES).
    public static let oldFileNames = RPMTag(1027)
    public static let fileSizes = RPMTag(1028)
    public static let fileModes = RPMTag(1030)
    public static let fileMTimes = RPMTag(1034)
    public static let fileDigests = RPMTag(1035)
    public static let fileLinkTos = RPMTag(1036)
    public static let fileFlags = RPMTag(1037)
    public static let fileUserName = RPMTag(1039)
    public static let fileGroupName = RPMTag(1040)
    public static let archiveSize = RPMTag(1046)
    public static let provideName = RPMTag(1047)
    public static let requireFlags = RPMTag(1048)
    public static let requireName = RPMTag(1049)
    public static let requireVersion = RPMTag(1050)
    public static let conflictFlags = RPMTag(1053)
    public static let conflictName = RPMTag(1054)
    public static let conflictVersion = RPMTag(1055)
    public static let rpmVersion = RPMTag(1064)
    public static let obsoleteName = RPMTag(1090)
    /// Present (value 1) in source packages.
    public static let sourcePackage = RPMTag(1106)
    public static let provideFlags = RPMTag(1112)
    public static let provideVersion = RPMTag(1113)
    public static let obsoleteFlags = RPMTag(1114)
    public static let obsoleteVersion = RPMTag(1115)
    public static let dirIndexes = RPMTag(1116)
    public static let baseNames = RPMTag(1117)
    public static let dirNames = RPMTag(1118)
    public static let payloadFormat = RPMTag(1124)
    public static let payloadCompressor = RPMTag(1125)
    public static let payloadFlags = RPMTag(1126)
    /// SUSE's weak dependencies before rpm 4.12 had RECOMMENDS & co (the STRONG flag, 1 << 27,
    /// turns a suggest into a recommend and an enhance into a supplement).
    public static let oldSuggestsName = RPMTag(1156)
    public static let oldSuggestsVersion = RPMTag(1157)
    public static let oldSuggestsFlags = RPMTag(1158)
    public static let oldEnhancesName = RPMTag(1159)
    public static let oldEnhancesVersion = RPMTag(1160)
    public static let oldEnhancesFlags = RPMTag(1161)
    public static let longFileSizes = RPMTag(5008)
    public static let longSize = RPMTag(5009)
    public static let fileDigestAlgo = RPMTag(5011)
    public static let recommendName = RPMTag(5046)
    public static let recommendVersion = RPMTag(5047)
    public static let recommendFlags = RPMTag(5048)
    public static let suggestName = RPMTag(5049)
    public static let suggestVersion = RPMTag(5050)
    public static let suggestFlags = RPMTag(5051)
    public static let supplementName = RPMTag(5052)
    public static let supplementVersion = RPMTag(5053)
    public static let supplementFlags = RPMTag(5054)
    public static let enhanceName = RPMTag(5055)
    public static let enhanceVersion = RPMTag(5056)
    public static let enhanceFlags = RPMTag(5057)
    /// Hex digests of the compressed payload (the bytes after the main header), algorithm in
    /// PAYLOADDIGESTALGO (an OpenPGP hash id; 8 = SHA-256, the default since rpm 4.14).
    public static let payloadDigest = RPMTag(5092)
    public static let payloadDigestAlgo = RPMTag(5093)
    /// The same digest over the uncompressed payload (rpm >= 4.16).
    public static let payloadDigestAlt = RPMTag(5097)

    static let names: [UInt32: String] = [
        63: "HEADERIMMUTABLE", 100: "HEADERI18NTABLE", 257: "SIGSIZE", 261: "SIGMD5", 269: "SHA1HEADER",
        271: "LONGARCHIVESIZE", 273: "SHA256HEADER", 1000: "NAME", 1001: "VERSION", 1002: "RELEASE", 1003: "EPOCH",
        1004: "SUMMARY", 1005: "DESCRIPTION", 1006: "BUILDTIME", 1007: "BUILDHOST", 1008: "INSTALLTIME",
        1009: "SIZE", 1010: "DISTRIBUTION", 1011: "VENDOR", 1014: "LICENSE", 1015: "PACKAGER", 1016: "GROUP",
        1020: "URL", 1021: "OS", 1022: "ARCH", 1027: "OLDFILENAMES", 1028: "FILESIZES", 1030: "FILEMODES",
        1034: "FILEMTIMES", 1035: "FILEDIGESTS", 1036: "FILELINKTOS", 1037: "FILEFLAGS", 1039: "FILEUSERNAME",
        1040: "FILEGROUPNAME", 1044: "SOURCERPM", 1046: "ARCHIVESIZE", 1047: "PROVIDENAME", 1048: "REQUIREFLAGS",
        1049: "REQUIRENAME", 1050: "REQUIREVERSION", 1053: "CONFLICTFLAGS", 1054: "CONFLICTNAME",
        1055: "CONFLICTVERSION", 1064: "RPMVERSION", 1080: "CHANGELOGTIME", 1081: "CHANGELOGNAME",
        1082: "CHANGELOGTEXT", 1090: "OBSOLETENAME", 1106: "SOURCEPACKAGE", 1112: "PROVIDEFLAGS",
        1113: "PROVIDEVERSION", 1114: "OBSOLETEFLAGS", 1115: "OBSOLETEVERSION", 1116: "DIRINDEXES",
        1117: "BASENAMES", 1118: "DIRNAMES", 1123: "DISTURL", 1124: "PAYLOADFORMAT", 1125: "PAYLOADCOMPRESSOR",
        1126: "PAYLOADFLAGS", 1128: "INSTALLTID", 1156: "OLDSUGGESTSNAME", 1157: "OLDSUGGESTSVERSION",
        1158: "OLDSUGGESTSFLAGS", 1159: "OLDENHANCESNAME", 1160: "OLDENHANCESVERSION", 1161: "OLDENHANCESFLAGS",
        5008: "LONGFILESIZES", 5009: "LONGSIZE", 5011: "FILEDIGESTALGO", 5046: "RECOMMENDNAME",
        5047: "RECOMMENDVERSION", 5048: "RECOMMENDFLAGS", 5049: "SUGGESTNAME", 5050: "SUGGESTVERSION",
        5051: "SUGGESTFLAGS", 5052: "SUPPLEMENTNAME", 5053: "SUPPLEMENTVERSION", 5054: "SUPPLEMENTFLAGS",
        5055: "ENHANCENAME", 5056: "ENHANCEVERSION", 5057: "ENHANCEFLAGS", 5092: "PAYLOADDIGEST",
        5093: "PAYLOADDIGESTALGO", 5097: "PAYLOADDIGESTALT",
    ]

    /// `1000 (NAME)`: error messages name the tag both ways.
    public var description: String {
        if let n = RPMTag.names[rawValue] { return "\(rawValue) (\(n))" }
        return String(rawValue)
    }
}

/// The data type of a header entry (rpm's `rpmTagType`).
public enum RPMTagType: UInt32, Sendable {
    case null = 0, char = 1, int8 = 2, int16 = 3, int32 = 4, int64 = 5
    case string = 6, bin = 7, stringArray = 8, i18nString = 9

    /// Byte size of one element of a fixed-size type, and so also its required alignment.
    var elementSize: Int? {
        switch self {
        case .null: return nil
        case .char, .int8, .bin: return 1
        case .int16: return 2
        case .int32: return 4
        case .int64: return 8
        case .string, .stringArray, .i18nString: return nil
        }
    }

    var label: String {
        switch self {
        case .null: "NULL"
        case .char: "CHAR"
        case .int8: "INT8"
        case .int16: "INT16"
        case .int32: "INT32"
        case .int64: "INT64"
        case .string: "STRING"
        case .bin: "BIN"
        case .stringArray: "STRING_ARRAY"
        case .i18nString: "I18NSTRING"
        }
    }
}

/// An rpm header structure (rpm's `docs/manual/format.md`): an index of 16-byte entries
/// (tag, type, offset, count, all big-endian) followed by the data store they point into.
///
/// The same structure is the main header of an `.rpm` file (preceded by the 8-byte header magic
/// `8e ad e8 01 00 00 00 00`) and a row of `rpmdb.sqlite` (`Packages.blob`, without the magic),
/// so this type knows nothing about either container.
///
/// Parsing is lazy so that reading thousands of installed headers stays cheap: `init` checks
/// the frame and every index entry (type known, data inside the store, aligned, fixed-size data
/// fitting), and accessors decode only what is asked for. Every read is bounds-checked; a
/// truncated or corrupt header throws `TidemarkError(.corrupt, …)` naming the tag and offset,
/// it never traps.
public struct RPMHeader: Sendable {
    /// The header bytes starting at the index count (magic, if any, already skipped).
    @usableFromInline let bytes: [UInt8]
    /// Number of index entries.
    public let entryCount: Int
    /// Size of the data store in bytes.
    public let dataLength: Int
    /// Bytes the header occupied in the input, magic included: an `.rpm` reader continues there.
    public let size: Int

    /// The 8 bytes that precede a header inside an `.rpm` file.
    public static let magic: [UInt8] = [0x8e, 0xad, 0xe8, 0x01, 0x00, 0x00, 0x00, 0x00]
    /// rpm's own sanity limits (`hdrchkTags`, `hdrchkData`): beyond them a header is corrupt.
    public static let maxEntries = 0xffff
    public static let maxDataLength = 0x0fff_ffff

    /// Parses the frame and index of a header.
    ///
    /// - Parameters:
    ///   - blob: the bytes; anything after the header (an `.rpm` payload) is ignored, see `size`.
    ///   - hasMagic: true for a header inside an `.rpm` file, false for an rpmdb blob.
    public init(blob: some Sequence<UInt8>, hasMagic: Bool) throws(TidemarkError) {
        // Contiguous input (Array, Data, a SQLite column) is copied with one memcpy; a generic
        // element-by-element copy is what made this slow.
        let all = blob.withContiguousStorageIfAvailable { Array($0) } ?? Array(blob)
        try self.init(bytes: all, hasMagic: hasMagic)
    }

    /// Parses a header from raw memory (e.g. a SQLite blob column), copying it once.
    public init(bytes raw: UnsafeRawBufferPointer, hasMagic: Bool) throws(TidemarkError) {
        try self.init(bytes: Array(raw.bindMemory(to: UInt8.self)), hasMagic: hasMagic)
    }

    private init(bytes input: [UInt8], hasMagic: Bool) throws(TidemarkError) {
        var all = input
        var start = 0
        if hasMagic {
            guard all.count >= 8 else {
                throw TidemarkError(.corrupt, "rpm header: \(all.count) bytes is too short for the 8-byte header magic")
            }
            // Bytes 4..7 are reserved; rpm itself checks only the first four.
            guard all[0] == 0x8e, all[1] == 0xad, all[2] == 0xe8, all[3] == 0x01 else {
                throw TidemarkError(
                    .corrupt, "rpm header: bad magic \(RPMHeader.hex(all[0..<4])) at offset 0 (expected 8eade801)")
            }
            start = 8
        }
        guard all.count - start >= 8 else {
            throw TidemarkError(
                .corrupt, "rpm header: \(all.count - start) bytes after offset \(start), need 8 for index count and data length")
        }
        let il = Int(RPMHeader.be32(all, start)), dl = Int(RPMHeader.be32(all, start + 4))
        guard il >= 1, il <= RPMHeader.maxEntries else {
            throw TidemarkError(.corrupt, "rpm header: index count \(il) at offset \(start) is out of range 1...\(RPMHeader.maxEntries)")
        }
        guard dl <= RPMHeader.maxDataLength else {
            throw TidemarkError(.corrupt, "rpm header: data length \(dl) at offset \(start + 4) exceeds \(RPMHeader.maxDataLength)")
        }
        let needed = 8 + il * 16 + dl
        guard all.count - start >= needed else {
            throw TidemarkError(
                .corrupt,
                "rpm header: truncated: \(il) index entries and \(dl) data bytes need \(needed) bytes after offset \(start), only \(all.count - start) present")
        }
        if start > 0 || all.count - start > needed {
            all = Array(all[start..<(start + needed)])
        }
        self.bytes = all
        self.entryCount = il
        self.dataLength = dl
        self.size = start + needed
        for i in 0..<il { try validate(entry: i) }
    }

    // MARK: Index

    /// One decoded index entry.
    public struct Entry: Sendable, Hashable {
        public var tag: RPMTag
        public var type: RPMTagType
        /// Offset into the data store.
        public var offset: Int
        public var count: Int
    }

    /// The index entry at position `i` (0-based), as stored.
    public func entry(at i: Int) -> Entry {
        let p = 8 + i * 16
        // validated in init: type is known, so the force-unwrap cannot fail
        return Entry(
            tag: RPMTag(RPMHeader.be32(bytes, p)), type: RPMTagType(rawValue: RPMHeader.be32(bytes, p + 4))!,
            offset: Int(RPMHeader.be32(bytes, p + 8)), count: Int(RPMHeader.be32(bytes, p + 12)))
    }

    /// All entries in index order.
    public var entries: [Entry] { (0..<entryCount).map(entry(at:)) }

    /// The entry for `tag`. When a tag occurs more than once, the last one wins: rpm appends
    /// entries added after the immutable region ("dribble" entries, e.g. what install adds) and
    /// lets them replace the region's copy (`hdrblobImport`).
    public func entry(_ tag: RPMTag) -> Entry? {
        let want = tag.rawValue
        var found = -1
        bytes.withUnsafeBufferPointer { b in
            var p = 8
            for i in 0..<entryCount {
                if (UInt32(b[p]) << 24 | UInt32(b[p + 1]) << 16 | UInt32(b[p + 2]) << 8 | UInt32(b[p + 3])) == want { found = i }
                p += 16
            }
        }
        return found < 0 ? nil : entry(at: found)
    }

    public func contains(_ tag: RPMTag) -> Bool { entry(tag) != nil }

    private var dataStart: Int { 8 + entryCount * 16 }

    private func validate(entry i: Int) throws(TidemarkError) {
        let p = 8 + i * 16
        let tag = RPMTag(RPMHeader.be32(bytes, p))
        let rawType = RPMHeader.be32(bytes, p + 4)
        let offset = Int(RPMHeader.be32(bytes, p + 8)), count = Int(RPMHeader.be32(bytes, p + 12))
        var at: String { "index entry \(i) (tag \(tag))" }  // only built for an error
        guard let type = RPMTagType(rawValue: rawType), type != .null else {
            throw TidemarkError(.corrupt, "rpm header: \(at) has unknown data type \(rawType)")
        }
        guard offset <= dataLength else {
            throw TidemarkError(.corrupt, "rpm header: \(at) points at data offset \(offset) beyond the \(dataLength)-byte data store")
        }
        guard count >= 1, count <= RPMHeader.maxDataLength else {
            throw TidemarkError(.corrupt, "rpm header: \(at) has invalid count \(count)")
        }
        if let size = type.elementSize {
            guard offset % size == 0 else {
                throw TidemarkError(.corrupt, "rpm header: \(at) of type \(type.label) is misaligned at data offset \(offset)")
            }
            guard count * size <= dataLength - offset else {
                throw TidemarkError(
                    .corrupt, "rpm header: \(at): \(count) \(type.label) values at data offset \(offset) run past the \(dataLength)-byte data store")
            }
        } else if type == .string, count != 1 {
            throw TidemarkError(.corrupt, "rpm header: \(at) is a STRING with count \(count) (must be 1)")
        } else if count > dataLength - offset {
            // every string takes at least its NUL: a larger count cannot be real, and reading it
            // would reserve memory for it before finding out
            throw TidemarkError(
                .corrupt, "rpm header: \(at): \(count) \(type.label) values at data offset \(offset) cannot fit the \(dataLength)-byte data store")
        }
    }

    // MARK: Typed accessors

    /// A string tag; for I18NSTRING the first (C locale) entry, for STRING_ARRAY the first element.
    /// nil when the header has no such tag.
    public func string(_ tag: RPMTag) throws(TidemarkError) -> String? {
        guard let e = entry(tag) else { return nil }
        switch e.type {
        case .string, .i18nString, .stringArray:
            let (s, _) = try cString(at: e.offset, tag: tag)
            return s
        default:
            throw typeError(e, "a string")
        }
    }

    /// All strings of a STRING_ARRAY (or I18NSTRING) tag; a STRING gives one element.
    public func stringArray(_ tag: RPMTag) throws(TidemarkError) -> [String]? {
        guard let e = entry(tag) else { return nil }
        switch e.type {
        case .string, .i18nString, .stringArray:
            var out: [String] = []
            out.reserveCapacity(e.count)
            var off = e.offset
            for _ in 0..<e.count {
                let (s, next) = try cString(at: off, tag: tag)
                out.append(s)
                off = next
            }
            return out
        default:
            throw typeError(e, "a string array")
        }
    }

    /// The first value of an INT8, INT16 or INT32 tag. rpm's integers are unsigned.
    public func int32(_ tag: RPMTag) throws(TidemarkError) -> UInt32? {
        guard let e = entry(tag) else { return nil }
        guard e.type == .int8 || e.type == .char || e.type == .int16 || e.type == .int32 else { throw typeError(e, "an INT32") }
        return UInt32(integer(e, 0))
    }

    /// The first value of any integer tag (INT8 to INT64), widened.
    public func int64(_ tag: RPMTag) throws(TidemarkError) -> UInt64? {
        guard let e = entry(tag) else { return nil }
        guard e.type.elementSize != nil, e.type != .bin else { throw typeError(e, "an integer") }
        return integer(e, 0)
    }

    /// All values of an INT8, INT16 or INT32 tag.
    public func int32Array(_ tag: RPMTag) throws(TidemarkError) -> [UInt32]? {
        guard let e = entry(tag) else { return nil }
        guard e.type == .int8 || e.type == .char || e.type == .int16 || e.type == .int32 else { throw typeError(e, "an INT32 array") }
        return (0..<e.count).map { UInt32(integer(e, $0)) }
    }

    /// All values of any integer tag, widened.
    public func int64Array(_ tag: RPMTag) throws(TidemarkError) -> [UInt64]? {
        guard let e = entry(tag) else { return nil }
        guard e.type.elementSize != nil, e.type != .bin else { throw typeError(e, "an integer array") }
        return (0..<e.count).map { integer(e, $0) }
    }

    /// The bytes of a BIN tag (also accepted: INT8/CHAR, which are byte arrays too).
    public func binary(_ tag: RPMTag) throws(TidemarkError) -> [UInt8]? {
        guard let e = entry(tag) else { return nil }
        guard e.type == .bin || e.type == .int8 || e.type == .char else { throw typeError(e, "BIN") }
        let s = dataStart + e.offset
        return Array(bytes[s..<(s + e.count)])
    }

    /// A BIN tag as lower-case hex, the way `rpm --qf` prints it (SIGMD5, SHA1HEADER is a string).
    public func hex(_ tag: RPMTag) throws(TidemarkError) -> String? {
        guard let e = entry(tag) else { return nil }
        if e.type == .string { return try string(tag) }
        guard e.type == .bin else { throw typeError(e, "BIN") }
        let s = dataStart + e.offset
        return RPMHeader.hex(bytes[s..<(s + e.count)])
    }

    // MARK: Internals

    /// Reads the NUL-terminated string at data `offset`; returns it and the offset after its NUL.
    private func cString(at offset: Int, tag: RPMTag) throws(TidemarkError) -> (String, Int) {
        let start = dataStart + offset
        let end = bytes.count
        guard start <= end else {
            throw TidemarkError(.corrupt, "rpm header: tag \(tag): string at data offset \(offset) is beyond the data store")
        }
        let nul: Int? = bytes.withUnsafeBufferPointer { b in
            var i = start
            while i < end {
                if b[i] == 0 { return i }
                i += 1
            }
            return nil
        }
        guard let nul else {
            throw TidemarkError(.corrupt, "rpm header: tag \(tag): string at data offset \(offset) is not NUL-terminated inside the data store")
        }
        let s = bytes.withUnsafeBufferPointer { b in
            String(decoding: UnsafeBufferPointer(rebasing: b[start..<nul]), as: UTF8.self)
        }
        return (s, nul + 1 - dataStart)
    }

    /// Element `i` of a validated fixed-size integer entry, big-endian, widened.
    private func integer(_ e: Entry, _ i: Int) -> UInt64 {
        let size = e.type.elementSize!
        let p = dataStart + e.offset + i * size
        var v: UInt64 = 0
        for k in 0..<size { v = v << 8 | UInt64(bytes[p + k]) }
        return v
    }

    private func typeError(_ e: Entry, _ wanted: String) -> TidemarkError {
        TidemarkError(.corrupt, "rpm header: tag \(e.tag) has type \(e.type.label), expected \(wanted)")
    }

    @inline(__always)
    static func be32(_ b: [UInt8], _ p: Int) -> UInt32 {
        UInt32(b[p]) << 24 | UInt32(b[p + 1]) << 16 | UInt32(b[p + 2]) << 8 | UInt32(b[p + 3])
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
