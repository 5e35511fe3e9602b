import TidemarkCore

/// The dependency lists of an rpm header, each a triple of NAME, FLAGS and VERSION tags.
public enum RPMDependencyKind: String, Sendable, CaseIterable, Hashable {
    case provides, requires, conflicts, obsoletes
    case recommends, suggests, supplements, enhances
    /// SUSE's weak dependencies from before rpm 4.12 (OLDSUGGESTS/OLDENHANCES). createrepo_c
    /// built with legacy weak deps maps them by the STRONG flag: a strong suggest is a
    /// recommend, a strong enhance a supplement. Kept apart here, as the header has them.
    case oldSuggests, oldEnhances

    /// NAME, FLAGS and VERSION tags of the list.
    public var tags: (name: RPMTag, flags: RPMTag, version: RPMTag) {
        switch self {
        case .provides: (.provideName, .provideFlags, .provideVersion)
        case .requires: (.requireName, .requireFlags, .requireVersion)
        case .conflicts: (.conflictName, .conflictFlags, .conflictVersion)
        case .obsoletes: (.obsoleteName, .obsoleteFlags, .obsoleteVersion)
        case .recommends: (.recommendName, .recommendFlags, .recommendVersion)
        case .suggests: (.suggestName, .suggestFlags, .suggestVersion)
        case .supplements: (.supplementName, .supplementFlags, .supplementVersion)
        case .enhances: (.enhanceName, .enhanceFlags, .enhanceVersion)
        case .oldSuggests: (.oldSuggestsName, .oldSuggestsFlags, .oldSuggestsVersion)
        case .oldEnhances: (.oldEnhancesName, .oldEnhancesFlags, .oldEnhancesVersion)
        }
    }
}

/// One dependency of a package (`Requires(pre): foo >= 1:2.0-3`), with the raw header values
/// and the fields as createrepo_c writes them into primary.xml (`<rpm:entry name flags epoch
/// ver rel pre>`), so that a repository generator can match createrepo_c byte for byte.
public struct RPMDependency: Sendable, Hashable {
    /// The comparison of a versioned dependency, createrepo_c's `flags` attribute.
    public enum Comparison: String, Sendable, Hashable {
        case lt = "LT", gt = "GT", eq = "EQ", le = "LE", ge = "GE"
    }

    /// rpm's RPMSENSE bits that matter here.
    public enum Sense {
        public static let less: UInt32 = 1 << 1
        public static let greater: UInt32 = 1 << 2
        public static let equal: UInt32 = 1 << 3
        public static let prereq: UInt32 = 1 << 6
        public static let scriptPre: UInt32 = 1 << 9
        public static let scriptPost: UInt32 = 1 << 10
        public static let missingOK: UInt32 = 1 << 19
        public static let rpmlib: UInt32 = 1 << 24
        public static let strong: UInt32 = 1 << 27
    }

    public var name: String
    /// The raw RPMSENSE flags.
    public var flags: UInt32
    /// The raw version string, `[EPOCH:]VERSION[-RELEASE]`; empty for an unversioned dependency.
    public var evrString: String
    /// `flags & 0xf` as createrepo_c names it (`cr_flag_to_str`): nil for 0 and for any
    /// combination other than the five comparisons.
    public var comparison: Comparison?
    /// `evrString` split as createrepo_c's `cr_str_to_evr` does: epoch is the text before the
    /// first `:` if `strtol` reads all of it ("0" when there is no `:`, nil when the text is not
    /// a number), version runs to the first `-` after that, release is the rest (nil when
    /// empty). All three are nil for an unversioned dependency. createrepo_c skips a dependency
    /// with a non-empty `evrString` and a nil epoch ("Bad epoch"): see `hasBadEpoch`.
    public var epoch: String?
    public var version: String?
    public var release: String?
    /// createrepo_c's `pre="1"`: a requirement with RPMSENSE_PREREQ, SCRIPT_PRE or SCRIPT_POST
    /// (`Requires(pre)`, `Requires(post)`). Always false outside `.requires`.
    public var isPre: Bool

    /// True when createrepo_c would drop this dependency for a non-numeric epoch.
    public var hasBadEpoch: Bool { !evrString.isEmpty && epoch == nil }

    public init(name: String, flags: UInt32, evrString: String, isRequirement: Bool) {
        self.name = name
        self.flags = flags
        self.evrString = evrString
        self.comparison = RPMDependency.comparison(flags)
        (epoch, version, release) = RPMDependency.splitEVR(evrString)
        isPre = isRequirement && flags & (Sense.prereq | Sense.scriptPre | Sense.scriptPost) != 0
    }

    /// createrepo_c's `cr_flag_to_str`.
    public static func comparison(_ flags: UInt32) -> Comparison? {
        switch flags & 0xf {
        case 2: .lt
        case 4: .gt
        case 8: .eq
        case 10: .le
        case 12: .ge
        default: nil
        }
    }

    /// createrepo_c's `cr_str_to_evr`, byte for byte (see `epoch`).
    public static func splitEVR(_ s: String) -> (epoch: String?, version: String?, release: String?) {
        let b = Array(s.utf8)
        if b.isEmpty { return (nil, nil, nil) }
        var epoch: String?
        var rest = 0  // where the version starts
        if let colon = b.firstIndex(of: UInt8(ascii: ":")) {
            // strtol(string, &p, 10) == colon: optional white space, an optional sign, digits
            var i = 0
            while i < colon, b[i] == 0x20 || (0x09...0x0d).contains(b[i]) { i += 1 }
            if i < colon, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            let digitsStart = i
            while i < colon, (0x30...0x39).contains(b[i]) { i += 1 }
            // no digits at all: strtol leaves p at the start of the string
            let end = i > digitsStart ? i : 0
            if end == colon {
                epoch = colon > 0 ? String(decoding: b[0..<colon], as: UTF8.self) : "0"
            }
            rest = colon + 1
        } else {
            epoch = "0"
        }
        let tail = b[rest...]
        if let dash = tail.firstIndex(of: UInt8(ascii: "-")) {
            let version = String(decoding: b[rest..<dash], as: UTF8.self)
            let release = dash + 1 < b.count ? String(decoding: b[(dash + 1)...], as: UTF8.self) : nil
            return (epoch, version, release)
        }
        return (epoch, String(decoding: tail, as: UTF8.self), nil)
    }
}

/// One entry of a package's file list.
public struct RPMFileEntry: Sendable, Hashable {
    /// What createrepo_c writes as `<file type=…>`: a directory (by mode) wins over ghost.
    public enum Kind: String, Sendable, Hashable {
        case file, directory = "dir", ghost
    }

    /// rpm's RPMFILE flag bits that matter here.
    public enum Flag {
        public static let config: UInt32 = 1 << 0
        public static let doc: UInt32 = 1 << 1
        public static let ghost: UInt32 = 1 << 6
    }

    /// Absolute path (DIRNAMES[DIRINDEXES[i]] + BASENAMES[i]).
    public var path: String
    /// st_mode: type and permission bits (FILEMODES).
    public var mode: UInt16
    /// RPMFILE flags (FILEFLAGS).
    public var flags: UInt32
    /// FILESIZES / LONGFILESIZES, when the header has them.
    public var size: UInt64?
    /// Hex digest of the content (FILEDIGESTS, algorithm FILEDIGESTALGO); nil when empty.
    public var digest: String?
    /// Symlink target (FILELINKTOS); nil when empty.
    public var linkTarget: String?
    public var user: String?
    public var group: String?

    public init(
        path: String, mode: UInt16, flags: UInt32, size: UInt64? = nil, digest: String? = nil,
        linkTarget: String? = nil, user: String? = nil, group: String? = nil
    ) {
        self.path = path
        self.mode = mode
        self.flags = flags
        self.size = size
        self.digest = digest
        self.linkTarget = linkTarget
        self.user = user
        self.group = group
    }

    public var isDirectory: Bool { mode & 0o170000 == 0o040000 }
    public var isGhost: Bool { flags & Flag.ghost != 0 }
    public var isConfig: Bool { flags & Flag.config != 0 }
    /// createrepo_c's type: `dir` by mode first, then `ghost` by flag, else a plain file.
    public var kind: Kind { isDirectory ? .directory : isGhost ? .ghost : .file }
}
