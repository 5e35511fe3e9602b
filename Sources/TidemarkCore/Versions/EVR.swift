/// Epoch, version and release of a package: the part whose order the package manager defines.
///
/// For rpm, `release` is RELEASE; for Debian it is the revision (empty for native packages).
public struct EVR: Sendable, Hashable, Codable, CustomStringConvertible {
    public var epoch: Int
    public var version: String
    public var release: String

    public init(epoch: Int = 0, version: String, release: String) {
        self.epoch = epoch
        self.version = version
        self.release = release
    }

    /// `[EPOCH:]VERSION-RELEASE`, epoch shown only when non-zero; the release part is omitted when
    /// empty (Debian native packages).
    public var description: String {
        var s = epoch != 0 ? "\(epoch):\(version)" : version
        if !release.isEmpty { s += "-\(release)" }
        return s
    }

    /// Parses `[EPOCH:]VERSION[-RELEASE]`; the release is what follows the last dash.
    public static func parse(_ text: String) -> EVR? {
        var rest = Substring(text)
        var epoch = 0
        if let colon = rest.firstIndex(of: ":") {
            guard let e = Int(rest[..<colon]), e >= 0 else { return nil }
            epoch = e
            rest = rest[rest.index(after: colon)...]
        }
        guard !rest.isEmpty else { return nil }
        if let dash = rest.lastIndex(of: "-") {
            let v = rest[..<dash], r = rest[rest.index(after: dash)...]
            guard !v.isEmpty else { return nil }
            return EVR(epoch: epoch, version: String(v), release: String(r))
        }
        return EVR(epoch: epoch, version: String(rest), release: "")
    }

    /// Orders two EVRs exactly as the given package manager does: -1, 0 or 1.
    public static func compare(_ a: EVR, _ b: EVR, format: PackageFormat) -> Int {
        switch format {
        case .rpm: return RPMVersion.compareEVR(a, b)
        case .deb: return DebianVersion.compare(a, b)
        }
    }
}
