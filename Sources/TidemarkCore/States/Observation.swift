/// How an observation came to be; backfilled ones are reconstructions from package-manager logs.
public enum ObservationSource: String, Sendable, Codable, Hashable, CaseIterable {
    case snapshot
    case backfill
    case importRPMQA = "import-rpm-qa"
    case importSalt = "import-salt"
    case agent
}

/// "Host H was in state S at time T": the unit Tidemark records, one transaction each.
public struct Observation: Sendable, Hashable {
    public var host: String
    public var at: Timestamp
    public var state: PackageState
    public var source: ObservationSource
    /// The host's configured repositories; nil when the source does not tell (an `rpm -qa` list).
    public var repositories: [Repository]?
    /// Install time per package (by `Package.identityKey`), where known.
    public var installTimes: [String: Int64]
    /// Changelog per package (by `Package.identityKey`), where the package database holds one.
    public var changelogs: [String: [ChangelogEntry]]
    /// With a state by reference: how to build it from a state the store knows, when the store
    /// does not know it yet (an agent's changed state, sent as what changed).
    public var delta: ObservationDelta?

    public init(
        host: String, at: Timestamp, state: PackageState, source: ObservationSource,
        repositories: [Repository]? = nil, installTimes: [String: Int64] = [:],
        changelogs: [String: [ChangelogEntry]] = [:], delta: ObservationDelta? = nil
    ) {
        self.host = host
        self.at = at
        self.state = state
        self.source = source
        self.repositories = repositories
        self.installTimes = installTimes
        self.changelogs = changelogs
        self.delta = delta
    }

    /// Validates a host name as the operator gives it: non-empty, printable, no `@` (refs use it).
    public static func validateHostName(_ name: String) throws(TidemarkError) {
        guard !name.isEmpty, name.count <= 253 else {
            throw TidemarkError(.invalidArgument, "host name must be 1 to 253 characters, got '\(name)'")
        }
        for c in name.unicodeScalars where c == "@" || c.value < 0x21 || c.value == 0x7f || c == "/" {
            throw TidemarkError(.invalidArgument, "host name '\(name)' may not contain spaces, control characters, '/' or '@'")
        }
    }
}

/// The collected truth about one host right now: what a snapshot or import produces before it
/// is timestamped and recorded.
public struct HostInventory: Sendable {
    public var format: PackageFormat
    public var packages: [InstalledPackage]
    public var repositories: [Repository]?
    public var changelogs: [String: [ChangelogEntry]]

    public init(format: PackageFormat, packages: [InstalledPackage], repositories: [Repository]?, changelogs: [String: [ChangelogEntry]] = [:]) {
        self.format = format
        self.packages = packages
        self.repositories = repositories
        self.changelogs = changelogs
    }

    public func observation(host: String, at: Timestamp, source: ObservationSource) -> Observation {
        var times: [String: Int64] = [:]
        for p in packages { if let t = p.installTime { times[p.package.identityKey] = t } }
        return Observation(
            host: host, at: at, state: PackageState(packages.map(\.package)), source: source,
            repositories: repositories, installTimes: times, changelogs: changelogs)
    }
}

/// A changed state as what changed since a state the receiver knows (`base`): the receiver
/// rebuilds the state from the base's members and checks the result against the state id the
/// observation names, so a delta can never store anything but that exact state. A host whose
/// update touched two packages sends two packages, not its 3,000.
public struct ObservationDelta: Sendable, Hashable {
    public var base: StateID
    /// Packages in the state that are not in the base.
    public var added: [Package]
    /// Identity keys (`Package.identityKey`) of the base's packages that are not in the state.
    public var removed: [String]

    public init(base: StateID, added: [Package], removed: [String]) {
        self.base = base
        self.added = added
        self.removed = removed
    }
}
