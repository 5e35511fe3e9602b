/// Answers of the read commands. The CLI renders them as tables or JSON; the HTTP API (next)
/// serves the same JSON, so these are the wire format.

public struct HostSummary: Sendable, Hashable, Codable {
    public var host: String
    public var format: PackageFormat?
    public var lastSeen: Timestamp
    public var observations: Int
    public var packages: Int
    public var state: StateID
    public init(host: String, format: PackageFormat?, lastSeen: Timestamp, observations: Int, packages: Int, state: StateID) {
        self.host = host
        self.format = format
        self.lastSeen = lastSeen
        self.observations = observations
        self.packages = packages
        self.state = state
    }
}

/// A resolved ref: which state it names and, when it came from a host, which observation.
public struct ResolvedState: Sendable, Hashable, Codable {
    public var ref: String
    public var state: StateID
    public var host: String?
    public var at: Timestamp?
    public var source: ObservationSource?
    public var packages: Int
    public init(ref: String, state: StateID, host: String?, at: Timestamp?, source: ObservationSource?, packages: Int) {
        self.ref = ref
        self.state = state
        self.host = host
        self.at = at
        self.source = source
        self.packages = packages
    }
}

public struct ShowResult: Sendable, Codable {
    public var state: ResolvedState
    public var repositories: [Repository]?
    public var packages: [ShownPackage]
    public init(state: ResolvedState, repositories: [Repository]?, packages: [ShownPackage]) {
        self.state = state
        self.repositories = repositories
        self.packages = packages
    }
}

/// A package as `show` prints it: the binary's facts flattened, plus the install time when known.
public struct ShownPackage: Sendable, Codable, Hashable {
    public var name: String
    public var epoch: Int
    public var version: String
    public var release: String
    public var evr: String
    public var arch: String
    public var digest: String?
    public var vendor: String?
    public var source: String?
    public var disturl: String?
    public var buildTime: Timestamp?
    public var installTime: Timestamp?
    public var status: String?
    public init(_ p: Package, installTime: Int64?) {
        name = p.name
        epoch = p.evr.epoch
        version = p.evr.version
        release = p.evr.release
        evr = p.evr.description
        arch = p.arch
        digest = p.digest
        vendor = p.vendor
        source = p.source
        disturl = p.disturl
        buildTime = p.buildTime.map(Timestamp.init(seconds:))
        self.installTime = installTime.map(Timestamp.init(seconds:))
        status = p.status
    }

    /// The package again (a shown package carries every identity fact but its format).
    public func package(format: PackageFormat) -> Package {
        Package(
            format: format, name: name, evr: EVR(epoch: epoch, version: version, release: release), arch: arch, digest: digest,
            vendor: vendor, source: source, disturl: disturl, buildTime: buildTime?.seconds, status: status)
    }
}

public struct DiffResult: Sendable, Codable {
    public var from: ResolvedState
    public var to: ResolvedState
    public var changes: [PackageChange]
    public init(from: ResolvedState, to: ResolvedState, changes: [PackageChange]) {
        self.from = from
        self.to = to
        self.changes = changes
    }
}

/// One change of state of a host, with what changed.
public struct HistoryEntry: Sendable, Codable {
    public var at: Timestamp
    public var state: StateID
    public var source: ObservationSource
    public var packages: Int
    /// Observations (including heartbeats) that saw this state until the next change.
    public var observations: Int
    public var changes: [PackageChange]
    public init(at: Timestamp, state: StateID, source: ObservationSource, packages: Int, observations: Int, changes: [PackageChange]) {
        self.at = at
        self.state = state
        self.source = source
        self.packages = packages
        self.observations = observations
        self.changes = changes
    }
}

public struct HistoryResult: Sendable, Codable {
    public var host: String
    public var entries: [HistoryEntry]
    public init(host: String, entries: [HistoryEntry]) {
        self.host = host
        self.entries = entries
    }
}

public struct WhereResult: Sendable, Codable, Equatable {
    public struct Version: Sendable, Codable, Equatable {
        public var evr: String
        public var arch: String
        public var hosts: [String]
        public init(evr: String, arch: String, hosts: [String]) {
            self.evr = evr
            self.arch = arch
            self.hosts = hosts
        }
    }
    public var name: String
    public var at: Timestamp
    public var versions: [Version]
    /// Hosts observed by then that did not have the package.
    public var absent: [String]
    public init(name: String, at: Timestamp, versions: [Version], absent: [String]) {
        self.name = name
        self.at = at
        self.versions = versions
        self.absent = absent
    }
}

public struct DriftResult: Sendable, Codable {
    public struct Item: Sendable, Codable, Hashable {
        public var name: String
        public var arch: String
        /// What the host has (nil: missing there).
        public var evr: String?
        /// What the baseline has (nil: the baseline lacks it).
        public var expected: String?
        public init(name: String, arch: String, evr: String?, expected: String?) {
            self.name = name
            self.arch = arch
            self.evr = evr
            self.expected = expected
        }
    }
    public struct HostDrift: Sendable, Codable {
        public var host: String
        public var state: StateID
        public var differences: [Item]
        public init(host: String, state: StateID, differences: [Item]) {
            self.host = host
            self.state = state
            self.differences = differences
        }
    }
    /// "fleet" (most common version per package) or the ref given.
    public var baseline: String
    public var hosts: [HostDrift]
    public init(baseline: String, hosts: [HostDrift]) {
        self.baseline = baseline
        self.hosts = hosts
    }
}
