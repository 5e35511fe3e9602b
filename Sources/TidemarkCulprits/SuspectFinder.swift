import Foundation
import TidemarkCore
import TidemarkStore

/// Gathers what `SuspectRanking` reads from the stores: each failing host's first failure and
/// the package changes before it, every healthy signal with the state the host was in then.
public struct SuspectFinder: Sendable {
    public let history: any HistoryStore
    public let culprits: any CulpritStore

    public init(history: any HistoryStore, culprits: any CulpritStore) {
        self.history = history
        self.culprits = culprits
    }

    /// - Parameters:
    ///   - reason: only failing signals whose reason it matches count.
    ///   - window: seconds: signals of the `window` before `at` are read, and changes count in
    ///     the `window` before a host's first failure.
    ///   - test: the health command to quote in a suggested bisection.
    public func report(reason: NSRegularExpression?, window: Int64, at: Timestamp, test: String? = nil) async throws -> SuspectReport {
        let from = Timestamp(seconds: at.seconds - window)
        let all = try await culprits.signals(since: from, until: at, host: nil)
        var onsets: [String: Signal] = [:]
        var healthySignals: [Signal] = []
        var failingCount = 0
        for s in all {
            switch s.status {
            case .failing:
                if let reason {
                    let text = s.reason ?? ""
                    guard reason.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil else { continue }
                }
                failingCount += 1
                if onsets[s.host] == nil { onsets[s.host] = s }
            case .healthy:
                healthySignals.append(s)
            }
        }

        var timelines: [String: [ObservationRecord]] = [:]
        /// The host's observations from before `since` (the one in force then) up to `until`.
        func timeline(_ host: String, since: Timestamp, until: Timestamp) async throws -> [ObservationRecord] {
            var out: [ObservationRecord] = []
            if let base = try await history.observation(host: host, atOrBefore: since) { out.append(base) }
            for o in try await history.observations(host: host, since: since, until: until) where o.at != out.last?.at { out.append(o) }
            return out
        }

        var changes: [String: [HostChange]] = [:]
        for (host, onset) in onsets {
            var obs = try await timeline(host, since: Timestamp(seconds: onset.at.seconds - window), until: onset.at)
            // and the next observation: a change installed before the failure may have been
            // observed only after it (rpm's install time then says it was there)
            if let next = try await history.observations(host: host, since: Timestamp(seconds: onset.at.seconds + 1), until: Timestamp(seconds: onset.at.seconds + window)).first {
                obs.append(next)
            }
            var list: [HostChange] = []
            for (prev, cur) in zip(obs, obs.dropFirst()) where prev.state != cur.state {
                let (removed, added) = try await history.difference(from: prev.state, to: cur.state)
                let times = try await history.installTimes(host: host, at: cur.at)
                var old: [String: Package] = [:]
                for p in removed { old["\(p.name)|\(p.arch)"] = p }
                var replaced: Set<String> = []
                for p in added {
                    let k = "\(p.name)|\(p.arch)"
                    let was = old[k]
                    if was != nil { replaced.insert(k) }
                    list.append(HostChange(
                        host: host, source: p.sourceName, name: p.name, arch: p.arch, from: was?.evr, to: p.evr, seenAt: cur.at, previous: prev.at,
                        installedAt: times[p.identityKey].map(Timestamp.init(seconds:))))
                }
                for p in removed where !replaced.contains("\(p.name)|\(p.arch)") {
                    list.append(HostChange(host: host, source: p.sourceName, name: p.name, arch: p.arch, from: p.evr, to: nil, seenAt: cur.at, previous: prev.at))
                }
            }
            changes[host] = list
        }

        // the state each healthy signal's host was in at that moment
        var samples: [HealthySample] = []
        for s in healthySignals {
            if timelines[s.host] == nil { timelines[s.host] = try await timeline(s.host, since: from, until: at) }
            guard let o = timelines[s.host]!.last(where: { $0.at <= s.at }) else { continue }
            samples.append(HealthySample(host: s.host, at: s.at, state: o.state))
        }
        let keys = Set(changes.values.joined().map(\.presenceKey))
        var presence: [StateID: Set<String>] = [:]
        for state in Set(samples.map(\.state)) {
            guard let packages = try await history.packages(of: state) else { continue }
            presence[state] = HostChange.present(keys, in: packages)
        }
        let evidence = SuspectEvidence(onsets: onsets, changes: changes, healthy: samples, presence: presence, window: window)
        return SuspectRanking.rank(evidence, test: test, failingCount: failingCount, healthyCount: healthySignals.count)
    }
}
