import TidemarkCore
import TidemarkStore

extension PackageArchive {
    /// What `archive gc` would do: keeps every file that a pinned state, or a state any host was
    /// in during the last `keepDays` days (including the state a host was already in when the
    /// window opened), needs, and every file added within the window.
    public func retentionPlan(history: any HistoryStore, keepDays: Int, now: Timestamp) async throws -> RetentionPlan {
        let cutoff = Timestamp(seconds: now.seconds - Int64(keepDays) * 86_400)
        var needs: [RetentionPlan.Need] = []
        var states: [(StateID, String)] = []
        for pin in try await store.pins() {
            states.append((pin.state, "pinned state \(pin.state.short) (\(pin.ref))"))
        }
        for host in try await history.hosts() {
            var records = try await history.observations(host: host.host, since: cutoff, until: nil)
            if let before = try await history.observation(host: host.host, atOrBefore: cutoff), before.at < cutoff { records.insert(before, at: 0) }
            var seen = Set<StateID>()
            for r in records where seen.insert(r.state).inserted {
                states.append((r.state, "state \(r.state.short) of \(r.host), observed \(r.at.iso8601)"))
            }
        }
        var loaded = Set<StateID>()
        for (state, reason) in states {
            // The first reason per state is the one shown; a state's packages are read once.
            guard loaded.insert(state).inserted else { continue }
            guard let packages = try await history.packages(of: state) else { continue }
            needs.append(contentsOf: packages.map { RetentionPlan.Need(packageKey: $0.identityKey, reason: reason) })
        }
        return RetentionPlan.plan(files: try await store.archivedFiles(), needs: needs, addedSince: cutoff)
    }
}
