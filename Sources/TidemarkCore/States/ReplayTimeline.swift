/// Collects states visited newest first (as a backfill walks back through a log) as the small
/// differences between neighbours, and replays them oldest first (the order a store appends in).
/// Memory stays at two full states plus the changes, however long the history.
public struct ReplayTimeline: Sendable {
    private struct Step: Sendable {
        var at: Timestamp
        /// Going from this state to the next newer one: what to add and which keys to remove.
        var added: [InstalledPackage]
        var removed: [String]
    }

    private var cursor: [String: InstalledPackage]? = nil
    private var cursorAt: Timestamp? = nil
    private var steps: [Step] = []

    public init() {}

    public var count: Int { cursor == nil ? 0 : steps.count + 1 }

    /// Adds the next older state. States must come newest first.
    public mutating func visit(_ at: Timestamp, _ packages: [InstalledPackage]) {
        var state: [String: InstalledPackage] = [:]
        state.reserveCapacity(packages.count)
        for p in packages { state[p.package.identityKey] = p }
        if let newer = cursor, let newerAt = cursorAt {
            let added = newer.filter { state[$0.key] == nil }.map(\.value)
            let removed = state.keys.filter { newer[$0] == nil }
            steps.append(Step(at: newerAt, added: added, removed: removed))
        }
        cursor = state
        cursorAt = at
    }

    /// Calls `body` with every state, oldest first.
    public func replay<E: Error>(_ body: (Timestamp, [InstalledPackage]) async throws(E) -> Void) async throws(E) {
        guard var state = cursor, let oldestAt = cursorAt else { return }
        try await body(oldestAt, Array(state.values))
        for step in steps.reversed() {
            for k in step.removed { state[k] = nil }
            for p in step.added { state[p.package.identityKey] = p }
            try await body(step.at, Array(state.values))
        }
    }
}
