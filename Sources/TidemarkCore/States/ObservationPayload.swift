/// An observation on the wire (agent → server, and `tidemark import` → server): either the full
/// state, or only its id when the server already knows that state (the agent's cheap heartbeat).
///
/// JSON:
/// ```json
/// {"host": "worker14", "at": "2025-01-21T10:00:00Z", "source": "agent",
///  "state": "3fa2…(64 hex)",
///  "packages": [ {"format": "rpm", "name": "bash", "evr": {"epoch": 0, "version": "5.2", "release": "1.1"},
///                 "arch": "x86_64", "digest": "…", "vendor": "…", "source": "…", "disturl": null,
///                 "buildTime": 1700000000, "status": null, "installTime": 1700000100} ],
///  "repositories": [ … ],
///  "changelogs": { "<package identityKey>": [ {"time": …, "author": "…", "text": "…"} ] } }
/// ```
/// Without `packages` it is a heartbeat: the server answers 409 with code `unknown_state` when it
/// does not know `state`, and the agent re-sends the full observation. With `packages`, `state`
/// must equal the content address of the packages (the server recomputes and checks it).
public struct ObservationPayload: Sendable, Codable, Hashable {
    public struct WirePackage: Sendable, Codable, Hashable {
        public var package: Package
        public var installTime: Int64?

        private enum CodingKeys: String, CodingKey { case installTime }

        public init(_ installed: InstalledPackage) {
            package = installed.package
            installTime = installed.installTime
        }

        public init(from decoder: any Decoder) throws {
            package = try Package(from: decoder)
            installTime = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent(Int64.self, forKey: .installTime)
        }

        public func encode(to encoder: any Encoder) throws {
            try package.encode(to: encoder)
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeIfPresent(installTime, forKey: .installTime)
        }
    }

    public var host: String
    public var at: Timestamp
    public var source: ObservationSource
    public var state: StateID
    public var packages: [WirePackage]?
    public var repositories: [Repository]?
    public var changelogs: [String: [ChangelogEntry]]?

    public init(_ o: Observation, full: Bool) {
        host = o.host
        at = o.at
        source = o.source
        state = o.state.id
        if full {
            packages = o.state.packages.map { WirePackage(InstalledPackage($0, installTime: o.installTimes[$0.identityKey])) }
            repositories = o.repositories
            changelogs = o.changelogs.isEmpty ? nil : o.changelogs
        }
    }

    public var isHeartbeat: Bool { packages == nil }

    /// The observation this payload carries; nil for a heartbeat (the receiver supplies the
    /// known state). Throws when `state` is not the content address of `packages`.
    public func observation(sha256: PackageState.SHA256Function? = nil) throws(TidemarkError) -> Observation? {
        try Observation.validateHostName(host)
        guard let packages else { return nil }
        let state = PackageState(packages.map(\.package), sha256: sha256)
        guard state.id == self.state else {
            throw TidemarkError(.invalidInput, "state: \(self.state.short) is not the content address of the \(packages.count) packages sent (they hash to \(state.id.short))")
        }
        var times: [String: Int64] = [:]
        for p in packages { if let t = p.installTime { times[p.package.identityKey] = t } }
        return Observation(host: host, at: at, state: state, source: source, repositories: repositories, installTimes: times, changelogs: changelogs ?? [:])
    }
}
