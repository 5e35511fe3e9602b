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
///
/// A changed state may instead come as a delta: `"base"` (a state id the server knows, the last
/// one it acknowledged), `"added"` (packages, as in `packages`) and `"removed"` (identity keys of
/// the base's packages that are gone), without `packages`. The server rebuilds the state and
/// checks it against `state`; a base it does not know is 409 `unknown_state` as for a heartbeat.
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
    /// A delta's base state, its added packages and the identity keys it removed.
    public var base: StateID?
    public var added: [WirePackage]?
    public var removed: [String]?

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

    public var isHeartbeat: Bool { packages == nil && base == nil }
    public var isDelta: Bool { base != nil }

    /// This full payload as a delta against `base` (the full payload of a state the receiver
    /// knows), or nil when that would not be smaller (the same state, or most packages changed).
    public func delta(against base: ObservationPayload) -> ObservationPayload? {
        guard let packages, let basePackages = base.packages, base.state != state else { return nil }
        let mine = Set(packages.map(\.package.identityKey)), theirs = Set(basePackages.map(\.package.identityKey))
        let added = packages.filter { !theirs.contains($0.package.identityKey) }
        let removed = basePackages.map(\.package.identityKey).filter { !mine.contains($0) }.sorted()
        guard (added.count + removed.count) * 2 < packages.count else { return nil }
        var d = self
        d.packages = nil
        d.base = base.state
        d.added = added
        d.removed = removed
        if let changelogs { d.changelogs = changelogs.filter { k, _ in added.contains { $0.package.identityKey == k } } }
        if d.changelogs?.isEmpty == true { d.changelogs = nil }
        return d
    }

    /// A delta payload as the observation the store records: the state by reference, with the
    /// delta that builds it (the store checks the result against `state`).
    public func deltaObservation() throws(TidemarkError) -> Observation {
        try Observation.validateHostName(host)
        guard let base else { throw TidemarkError(.invalidInput, "base: required in a delta") }
        guard packages == nil else { throw TidemarkError(.invalidInput, "packages: a delta (with base) sends added and removed instead") }
        let added = self.added ?? [], removed = self.removed ?? []
        var seen = Set<String>()
        for (i, k) in removed.enumerated() where !seen.insert(k).inserted {
            throw TidemarkError(.invalidInput, "removed[\(i)]: '\(k.prefix(80))' is listed twice")
        }
        var times: [String: Int64] = [:]
        for p in added {
            if let t = p.installTime { times[p.package.identityKey] = t }
            if seen.contains(p.package.identityKey) {
                throw TidemarkError(.invalidInput, "added: \(p.package.nevra) is also removed")
            }
        }
        return Observation(
            host: host, at: at, state: PackageState(reference: state), source: source, repositories: repositories, installTimes: times,
            changelogs: changelogs ?? [:], delta: ObservationDelta(base: base, added: added.map(\.package), removed: removed))
    }

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
