/// One package file kept in the archive. The archive is content-addressed: a file is its SHA-256,
/// so the same bytes uploaded twice are kept once, and a rebuilt package with the same NEVRA but
/// other bytes is a second file. `package` is the identity the host collector records once the
/// file is installed (SIGMD5 as digest), which is how a recorded state finds its files.
public struct ArchivedFile: Sendable, Hashable, Codable {
    public var sha256: String
    public var package: Package
    /// `name-version-release.arch.rpm`, the name the file is served under.
    public var fileName: String
    public var size: Int64
    /// Where it came from: `add:PATH`, `mirror:URL`, `upload:HOST` …
    public var origin: String
    public var addedAt: Timestamp

    public init(sha256: String, package: Package, fileName: String, size: Int64, origin: String, addedAt: Timestamp) {
        self.sha256 = sha256
        self.package = package
        self.fileName = fileName
        self.size = size
        self.origin = origin
        self.addedAt = addedAt
    }

    /// Where every repository Tidemark serves keeps this file, relative to the repository root:
    /// one directory per SHA-256, so two binaries with the same NEVRA never share a path (and a
    /// client's package cache never mistakes one for the other).
    public var href: String { "Packages/\(sha256)/\(fileName)" }

    /// Whether `s` is a SHA-256 in lower-case hex: checked before it becomes part of a path.
    public static func isSHA256(_ s: String) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}

/// A state kept whatever the retention window: `tidemark archive pin REF`.
public struct ArchivePin: Sendable, Hashable, Codable {
    public var state: StateID
    /// What the operator pinned (`host@time`, a state prefix …), for listings.
    public var ref: String
    public var note: String?
    public var pinnedAt: Timestamp

    public init(state: StateID, ref: String, note: String?, pinnedAt: Timestamp) {
        self.state = state
        self.ref = ref
        self.note = note
        self.pinnedAt = pinnedAt
    }
}
