import TidemarkCore

/// The read commands (`show`, `diff`, `history`, `where`, `drift`) over any `HistoryStore`:
/// resolving refs and shaping answers, so the CLI and the HTTP API answer identically.
public struct HistoryQueries: Sendable {
    public let store: any HistoryStore
    /// Loads a `file:PATH` ref (an `rpm -qa` list); injected because reading files is the
    /// adapters' business, not the store's.
    public let loadFile: @Sendable (String) throws -> [Package]
    public let now: @Sendable () -> Timestamp

    public init(store: any HistoryStore, loadFile: @escaping @Sendable (String) throws -> [Package], now: @escaping @Sendable () -> Timestamp) {
        self.store = store
        self.loadFile = loadFile
        self.now = now
    }

    /// A ref resolved to its packages.
    public struct Resolution: Sendable {
        public var resolved: ResolvedState
        public var packages: [Package]?
    }

    public func resolve(_ text: String, loadPackages: Bool = true) async throws -> Resolution {
        let ref = try Ref.parse(text)
        switch ref {
        case .host(let host):
            return try await resolveHost(text, host: host, at: nil, loadPackages: loadPackages)
        case .hostAt(let host, let spec):
            return try await resolveHost(text, host: host, at: spec.resolve(now: now()), loadPackages: loadPackages)
        case .state(let prefix):
            let matches = try await store.states(withPrefix: prefix)
            guard let first = matches.first else { throw TidemarkError(.notFound, "no state id starts with '\(prefix)'") }
            guard matches.count == 1 else {
                throw TidemarkError(.ambiguous, "state prefix '\(prefix)' is ambiguous: it matches \(matches.map(\.short).joined(separator: ", "))\(matches.count == 10 ? ", ..." : ""); give more digits")
            }
            let packages = try await store.packages(of: first)
            return Resolution(resolved: ResolvedState(ref: text, state: first, host: nil, at: nil, source: nil, packages: packages?.count ?? 0), packages: packages)
        case .file(let path):
            let state = PackageState(try loadFile(path))
            return Resolution(resolved: ResolvedState(ref: text, state: state.id, host: nil, at: nil, source: nil, packages: state.count), packages: state.packages)
        }
    }

    private func resolveHost(_ text: String, host: String, at: Timestamp?, loadPackages: Bool) async throws -> Resolution {
        guard let obs = try await store.observation(host: host, atOrBefore: at) else {
            if let first = try await store.firstObservation(host: host) {
                throw TidemarkError(.notFound, "\(text): host \(host) was first observed at \(first.at.iso8601), after \(at?.iso8601 ?? "that time")")
            }
            let known = try await store.hosts().map(\.host)
            throw TidemarkError(.notFound, "unknown host '\(host)'\(known.isEmpty ? " (the store has no hosts yet: run tidemark snapshot or import)" : "; known hosts: " + known.prefix(10).joined(separator: ", ") + (known.count > 10 ? ", ..." : ""))")
        }
        let packages = loadPackages ? try await store.packages(of: obs.state) : nil
        return Resolution(
            resolved: ResolvedState(ref: text, state: obs.state, host: host, at: obs.at, source: obs.source, packages: obs.packages),
            packages: packages)
    }

    public func show(_ ref: String) async throws -> ShowResult {
        let r = try await resolve(ref)
        var times: [String: Int64] = [:]
        var repos: [Repository]? = nil
        if let host = r.resolved.host, let at = r.resolved.at {
            times = try await store.installTimes(host: host, at: at)
            repos = try await store.repositories(host: host, at: at)
        }
        return ShowResult(
            state: r.resolved, repositories: repos,
            packages: (r.packages ?? []).map { ShownPackage($0, installTime: times[$0.identityKey]) })
    }

    public func diff(_ from: String, _ to: String, changelog: Bool = false) async throws -> DiffResult {
        let a = try await resolve(from, loadPackages: false), b = try await resolve(to, loadPackages: false)
        var changes: [PairedChange]
        if a.packages == nil, b.packages == nil {
            // Both states are in the store: load only the packages that differ.
            let d = try await store.difference(from: a.resolved.state, to: b.resolved.state)
            changes = StateDiff.diff(from: d.removed, to: d.added)
        } else {
            let pa = try await packages(a), pb = try await packages(b)
            changes = StateDiff.diff(from: pa, to: pb)
        }
        if changelog {
            for i in changes.indices {
                guard let new = changes[i].new else { continue }
                if let entries = try await store.changelog(of: new) {
                    let old = try await changes[i].old.asyncMap { try await store.changelog(of: $0) } ?? nil
                    changes[i].change.changelog = StateDiff.changelogBetween(old: old, new: entries)
                }
            }
        }
        return DiffResult(from: a.resolved, to: b.resolved, changes: changes.map(\.change))
    }

    private func packages(_ r: Resolution) async throws -> [Package] {
        if let p = r.packages { return p }
        return try await store.packages(of: r.resolved.state) ?? []
    }

    public func history(host: String, since: Timestamp?, until: Timestamp?) async throws -> HistoryResult {
        let all = try await store.observations(host: host, since: nil, until: until)
        guard !all.isEmpty else {
            if try await store.firstObservation(host: host) == nil {
                throw TidemarkError(.notFound, "unknown host '\(host)'")
            }
            return HistoryResult(host: host, entries: [])
        }
        var entries: [HistoryEntry] = []
        var previous: StateID? = nil
        for o in all {
            if o.state == previous {
                entries[entries.count - 1].observations += 1
                continue
            }
            var changes: [PackageChange] = []
            if let previous {
                let d = try await store.difference(from: previous, to: o.state)
                changes = StateDiff.diff(from: d.removed, to: d.added).map(\.change)
            }
            entries.append(HistoryEntry(at: o.at, state: o.state, source: o.source, packages: o.packages, observations: 1, changes: changes))
            previous = o.state
        }
        if let since { entries.removeAll { $0.at < since } }
        return HistoryResult(host: host, entries: entries)
    }

    public func whereIs(_ name: String, at: TimeSpec?) async throws -> WhereResult {
        try await store.whereIs(name: name, at: at?.resolve(now: now()) ?? now())
    }

    public func drift(against ref: String?, at: TimeSpec?) async throws -> DriftResult {
        let when = at?.resolve(now: now())
        let latest = try await store.latestObservations(at: when)
        var hosts: [(String, StateID, [Package])] = []
        var cache: [StateID: [Package]] = [:]
        for o in latest {
            if cache[o.state] == nil { cache[o.state] = try await store.packages(of: o.state) ?? [] }
            hosts.append((o.host, o.state, cache[o.state]!))
        }
        let baseline = try await ref.asyncMap { try await packages(resolve($0)) }
        return DriftResult(baseline: ref ?? "fleet", hosts: Drift.compute(hosts: hosts, baseline: baseline))
    }
}

extension Optional {
    func asyncMap<T>(_ f: (Wrapped) async throws -> T) async rethrows -> T? {
        switch self {
        case .some(let w): return try await f(w)
        case .none: return nil
        }
    }
}
