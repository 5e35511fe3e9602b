import TidemarkCore

/// What happened to one recorded observation.
public enum RecordOutcome: String, Sendable, Codable, Hashable {
    /// Stored; its state was already known (stored once, shared).
    case recorded
    /// Stored, and its state was new to the store.
    case recordedNewState = "recorded-new-state"
    /// The same host, time and state were already recorded: re-sending is harmless.
    case duplicate
}

/// What an import recorded for one host: the answer of `tidemark import` and of the import API.
public struct ImportResult: Sendable, Codable, Hashable {
    public var host: String
    public var at: Timestamp
    public var state: StateID
    public var packages: Int
    public var outcome: RecordOutcome

    public init(_ o: Observation, outcome: RecordOutcome) {
        host = o.host
        at = o.at
        state = o.state.id
        packages = o.state.count
        self.outcome = outcome
    }

    /// `worker14 at 2025-01-21T10:00:00Z: state 3fa2b1c4d5e6 (1234 packages, recorded)`
    public var line: String { "\(host) at \(at.iso8601): state \(state.short) (\(packages) packages, \(outcome.rawValue))" }
}

/// One stored observation, without its packages.
public struct ObservationRecord: Sendable, Hashable, Codable {
    public var host: String
    public var at: Timestamp
    public var state: StateID
    public var source: ObservationSource
    public var packages: Int
    public var recordedAt: Timestamp
    public init(host: String, at: Timestamp, state: StateID, source: ObservationSource, packages: Int, recordedAt: Timestamp) {
        self.host = host
        self.at = at
        self.state = state
        self.source = source
        self.packages = packages
        self.recordedAt = recordedAt
    }
}

/// The fleet's history: every observation of every host, content-addressed states, and the
/// per-host package timelines that make "who had what when" a single indexed lookup.
///
/// One protocol at the seam so that SQLite (default) and PostgreSQL (shared deployments) run the
/// same queries and the same tests. Every `record` call is one transaction: all of it or nothing.
public protocol HistoryStore: Sendable {
    /// Records observations atomically, in the order given.
    func record(_ observations: [Observation]) async throws -> [RecordOutcome]
    /// Records observations that `produce` hands to the sink one by one, all in ONE transaction:
    /// for long backfills that must not be held in memory at once.
    func record(producing produce: @Sendable (ObservationSink) async throws -> Void) async throws -> [RecordOutcome]

    /// Stores states no host has been observed in yet (a rollout's per-host targets), so that
    /// refs and agents' jobs can name them: content-addressed like every other state, each based
    /// on the state of the same index in `bases` when given (stored as a small delta).
    func storeStates(_ states: [PackageState], bases: [StateID?]) async throws

    func hosts() async throws -> [HostSummary]
    /// The observation of `host` at or before `at` (latest when nil), nil if none.
    func observation(host: String, atOrBefore at: Timestamp?) async throws -> ObservationRecord?
    func firstObservation(host: String) async throws -> ObservationRecord?
    /// Observations of a host in time order, both bounds inclusive.
    func observations(host: String, since: Timestamp?, until: Timestamp?) async throws -> [ObservationRecord]
    /// Full ids of the known states starting with `prefix`.
    func states(withPrefix prefix: String) async throws -> [StateID]
    /// The packages of a state, nil if unknown.
    func packages(of state: StateID) async throws -> [Package]?
    /// Packages in `to` but not `from` and in `from` but not `to`, without loading the rest.
    func difference(from: StateID, to: StateID) async throws -> (removed: [Package], added: [Package])
    /// Install times of a host's packages as of an observation time, by `Package.identityKey`.
    func installTimes(host: String, at: Timestamp) async throws -> [String: Int64]
    /// The repositories recorded with that observation (nil when unknown).
    func repositories(host: String, at: Timestamp) async throws -> [Repository]?
    func changelog(of package: Package) async throws -> [ChangelogEntry]?
    /// Which host had which version of `name` at `at` (hosts not yet observed by then are left out).
    func whereIs(name: String, at: Timestamp) async throws -> WhereResult
    /// The latest observation of every host at `at` (now when nil).
    func latestObservations(at: Timestamp?) async throws -> [ObservationRecord]

    /// Bytes the store occupies on disk (for benchmarks and `tidemark hosts` footers).
    func storageSize() async throws -> Int64
    func close() async throws
}

/// Where a producer hands observations to a recording transaction (see `HistoryStore.record(producing:)`).
public struct ObservationSink: Sendable {
    let emit: @Sendable (Observation) async throws -> Void
    public init(_ emit: @escaping @Sendable (Observation) async throws -> Void) { self.emit = emit }
    public func record(_ observation: Observation) async throws { try await emit(observation) }
}
