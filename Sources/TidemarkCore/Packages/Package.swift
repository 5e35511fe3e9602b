/// One installed package binary. Two packages with the same EVR but different digests are
/// different binaries; the identity below is what makes a state exact.
public struct Package: Sendable, Hashable, Codable {
    public var format: PackageFormat { didSet { rekey() } }
    public var name: String { didSet { rekey() } }
    public var evr: EVR { didSet { rekey() } }
    public var arch: String { didSet { rekey() } }
    /// rpm: SIGMD5 (PKGID) as hex. dpkg keeps no digest of the .deb, so nil there, and nil for
    /// versions known only from a log line (backfill).
    public var digest: String? { didSet { rekey() } }
    public var vendor: String? { didSet { rekey() } }
    /// rpm: SOURCERPM file name (`foo-1.0-1.src.rpm`); deb: the `Source:` field (`foo (1.0-1)`).
    public var source: String? { didSet { rekey() } }
    public var disturl: String? { didSet { rekey() } }
    /// Seconds since 1970 UTC.
    public var buildTime: Int64? { didSet { rekey() } }
    /// dpkg's `Status:` (`install ok installed`); nil for rpm.
    public var status: String? { didSet { rekey() } }

    /// The canonical identity line: every fact that belongs to the binary (not to the host that
    /// installed it). States hash these lines, the store deduplicates packages by it. Computed
    /// once per value: fleets compare millions of them.
    public private(set) var identityKey: String = ""

    private enum CodingKeys: String, CodingKey {
        case format, name, evr, arch, digest, vendor, source, disturl, buildTime, status
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            format: try c.decode(PackageFormat.self, forKey: .format), name: try c.decode(String.self, forKey: .name),
            evr: try c.decode(EVR.self, forKey: .evr), arch: try c.decode(String.self, forKey: .arch),
            digest: try c.decodeIfPresent(String.self, forKey: .digest), vendor: try c.decodeIfPresent(String.self, forKey: .vendor),
            source: try c.decodeIfPresent(String.self, forKey: .source), disturl: try c.decodeIfPresent(String.self, forKey: .disturl),
            buildTime: try c.decodeIfPresent(Int64.self, forKey: .buildTime), status: try c.decodeIfPresent(String.self, forKey: .status))
    }

    public static func == (a: Package, b: Package) -> Bool { a.identityKey == b.identityKey }
    public func hash(into hasher: inout Hasher) { hasher.combine(identityKey) }

    public init(
        format: PackageFormat, name: String, evr: EVR, arch: String, digest: String? = nil,
        vendor: String? = nil, source: String? = nil, disturl: String? = nil,
        buildTime: Int64? = nil, status: String? = nil
    ) {
        self.format = format
        self.name = name
        self.evr = evr
        self.arch = arch
        self.digest = digest
        self.vendor = vendor
        self.source = source
        self.disturl = disturl
        self.buildTime = buildTime
        self.status = status
        rekey()
    }

    /// `name-[epoch:]version-release.arch` as rpm prints it (deb: `name_version_arch`).
    public var nevra: String {
        switch format {
        case .rpm: return "\(name)-\(evr.description).\(arch)"
        case .deb: return "\(name)_\(evr.description)_\(arch)"
        }
    }

    /// The source package a change is grouped under: the name of the SRPM, the `Source:` name,
    /// or the package's own name when nothing better is known.
    public var sourceName: String {
        guard let source, !source.isEmpty else { return name }
        switch format {
        case .rpm:
            var s = Substring(source)
            if s.hasSuffix(".rpm") { s = s.dropLast(4) }
            if s.hasSuffix(".src") || s.hasSuffix(".nosrc") { s = s[..<s.lastIndex(of: ".")!] }
            // strip -VERSION-RELEASE
            guard let d1 = s.lastIndex(of: "-") else { return String(s) }
            let head = s[..<d1]
            guard let d2 = head.lastIndex(of: "-") else { return String(head) }
            return String(head[..<d2])
        case .deb:
            if let sp = source.firstIndex(of: " ") { return String(source[..<sp]) }
            return source
        }
    }

    /// Bytes, not `[String].joined`: states of thousands of packages are rebuilt from every
    /// full observation. Escapes exactly as before: `\\`, tab and newline, except the newline of
    /// a CR LF pair (one Character, which the Character-wise original left alone).
    private mutating func rekey() {
        var out: [UInt8] = []
        out.reserveCapacity(192)
        func add(_ s: String?) {
            guard let s else {
                out.append(92)
                out.append(78)
                return
            }
            // Nearly every field needs no escape: copy it whole.
            let copied = s.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
                for c in bytes where c == 92 || c == 9 || c == 10 { return false }
                out.append(contentsOf: bytes)
                return true
            }
            if copied == true { return }
            var previous: UInt8 = 0
            for c in s.utf8 {
                switch c {
                case 92: out.append(92); out.append(92)
                case 9: out.append(92); out.append(116)
                case 10 where previous != 13: out.append(92); out.append(110)
                default: out.append(c)
                }
                previous = c
            }
        }
        func tab() { out.append(9) }
        add(format.rawValue); tab()
        add(name); tab()
        out.append(contentsOf: String(evr.epoch).utf8); tab()
        add(evr.version); tab()
        add(evr.release); tab()
        add(arch); tab()
        add(digest); tab()
        add(vendor); tab()
        add(source); tab()
        add(disturl); tab()
        if let t = buildTime { out.append(contentsOf: String(t).utf8) } else { add(nil) }
        tab()
        add(status)
        identityKey = String(decoding: out, as: UTF8.self)
    }

    /// Sort order inside a state: name, arch, then version order, then identity.
    public static func stateOrder(_ a: Package, _ b: Package) -> Bool {
        if a.name != b.name { return a.name < b.name }
        if a.arch != b.arch { return a.arch < b.arch }
        let c = EVR.compare(a.evr, b.evr, format: a.format)
        if c != 0 { return c < 0 }
        return a.identityKey < b.identityKey
    }
}

/// A package as installed on one host: the binary plus host-specific facts.
public struct InstalledPackage: Sendable, Hashable, Codable {
    public var package: Package
    /// Seconds since 1970 UTC, when the host installed it (rpm INSTALLTIME), if known.
    public var installTime: Int64?
    public init(_ package: Package, installTime: Int64? = nil) {
        self.package = package
        self.installTime = installTime
    }
}

/// One changelog entry of a package, as the package database holds it.
public struct ChangelogEntry: Sendable, Hashable, Codable {
    public var time: Int64
    public var author: String
    public var text: String
    public init(time: Int64, author: String, text: String) {
        self.time = time
        self.author = author
        self.text = text
    }
}
