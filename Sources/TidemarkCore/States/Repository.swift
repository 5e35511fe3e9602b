/// A package source configured on a host (a zypp `.repo` section or an apt source line).
public struct Repository: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable { case zypp, apt }
    public var kind: Kind
    /// zypp: the section alias; apt: `suite` or the deb822 file name, whatever identifies it.
    public var alias: String
    public var name: String?
    /// zypp baseurl (or mirrorlist); apt: the URI.
    public var url: String
    public var enabled: Bool
    public var priority: Int?
    public var keepPackages: Bool?
    /// apt only: `deb`/`deb-src`, suites and components as written.
    public var suites: [String]?
    public var components: [String]?
    public var type: String?

    public init(
        kind: Kind, alias: String, name: String? = nil, url: String, enabled: Bool = true,
        priority: Int? = nil, keepPackages: Bool? = nil, suites: [String]? = nil,
        components: [String]? = nil, type: String? = nil
    ) {
        self.kind = kind
        self.alias = alias
        self.name = name
        self.url = url
        self.enabled = enabled
        self.priority = priority
        self.keepPackages = keepPackages
        self.suites = suites
        self.components = components
        self.type = type
    }
}
