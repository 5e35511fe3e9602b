/// Content address of a state: SHA-256 over its packages' identity lines.
public struct StateID: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public let hex: String
    public init(hex: String) { self.hex = hex }
    public var description: String { hex }
    /// The 12-character prefix used in tables.
    public var short: String { String(hex.prefix(12)) }
    public static func < (a: StateID, b: StateID) -> Bool { a.hex < b.hex }
    public init(from decoder: any Decoder) throws { hex = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(hex)
    }
}

/// The exact set of package binaries of a host at a moment. Identical sets have identical ids
/// wherever and whenever they were seen, so the store keeps each once.
public struct PackageState: Sendable, Hashable {
    /// Sorted by `Package.stateOrder`, without duplicates.
    public let packages: [Package]
    public let id: StateID
    /// A state named by its id only (a heartbeat): the store records it if it knows the state
    /// and refuses with `unknownState` if not. `packages` is empty.
    public let isReference: Bool

    public init(reference id: StateID) {
        packages = []
        self.id = id
        isReference = true
    }

    /// A SHA-256 over one contiguous buffer, for callers at the edge with a faster one than the
    /// core's portable implementation (OpenSSL's uses the CPU's SHA instructions): a server
    /// checks the content address of every full observation it receives. Same digest either way.
    public typealias SHA256Function = @Sendable (UnsafeRawBufferPointer) -> [UInt8]

    public init(_ packages: some Sequence<Package>, sha256: SHA256Function? = nil) {
        var unique = Array(packages)
        // Collectors and generators often deliver sorted input: check before sorting.
        var sorted = true
        for i in unique.indices.dropFirst() where !Package.stateOrder(unique[i - 1], unique[i]) {
            sorted = false
            break
        }
        if !sorted {
            unique.sort(by: Package.stateOrder)
            var out: [Package] = []
            out.reserveCapacity(unique.count)
            for p in unique where out.last?.identityKey != p.identityKey { out.append(p) }
            unique = out
        }
        self.packages = unique
        self.id = PackageState.contentAddress(identityKeys: unique.lazy.map(\.identityKey), sha256: sha256)
        isReference = false
    }

    /// The id of the state whose packages, in state order, have these identity lines: SHA-256
    /// over each line followed by a newline. For a sender that keeps its packages' lines between
    /// observations (`tidemark bench load`) rather than rebuilding a state.
    public static func contentAddress(identityKeys: some Sequence<String>, sha256: SHA256Function? = nil) -> StateID {
        if let sha256 {
            var lines: [UInt8] = []
            lines.reserveCapacity(identityKeys.underestimatedCount * 160)
            for key in identityKeys {
                lines.append(contentsOf: key.utf8)
                lines.append(10)
            }
            return StateID(hex: hexString(lines.withUnsafeBytes { sha256($0) }))
        }
        var h = SHA256()
        for key in identityKeys {
            h.update(key)
            h.update(PackageState.newlineByte)
        }
        return StateID(hex: hexString(h.finalize()))
    }

    public var format: PackageFormat? { packages.first?.format }
    private static let newlineByte: [UInt8] = [10]
    public var count: Int { packages.count }
    public static let empty = PackageState([])
}
