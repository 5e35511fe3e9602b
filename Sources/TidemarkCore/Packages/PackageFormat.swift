/// Which package manager a host (and so each of its packages) belongs to; it decides version order.
public enum PackageFormat: String, Sendable, Codable, Hashable, CaseIterable {
    case rpm
    case deb
}
