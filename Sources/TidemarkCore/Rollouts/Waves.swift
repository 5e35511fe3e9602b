/// Which hosts a rollout updates in which wave: canaries first (named, or a count), then
/// cumulative percentages of the fleet. Deterministic for the same hosts and spec, so a restarted
/// server computes the same waves.
public struct WaveSpec: Sendable, Hashable, Codable {
    public enum Canary: Sendable, Hashable, Codable {
        case hosts([String])
        case count(Int)
    }

    public var canary: Canary
    /// Cumulative share of all hosts updated after each later wave, increasing, ending at 100.
    public var percentages: [Int]

    public init(canary: Canary, percentages: [Int]) {
        self.canary = canary
        self.percentages = percentages
    }

    /// Splits `hosts` into waves. Canaries counted (not named) are spread over the fleet by a
    /// stable hash of their names rather than taken alphabetically (worker01…worker03 often share
    /// a rack or a role). Every host is in exactly one wave; empty waves are dropped.
    public func assign(_ hosts: [String]) throws(TidemarkError) -> [[String]] {
        let all = Array(Set(hosts)).sorted()
        guard !all.isEmpty else { return [] }
        guard !percentages.isEmpty, percentages.last == 100, zip(percentages, percentages.dropFirst()).allSatisfy({ $0 < $1 }),
              percentages.allSatisfy({ (1...100).contains($0) })
        else {
            throw TidemarkError(.invalidInput, "waves: percentages must increase and end at 100 (got \(percentages.map(String.init).joined(separator: ", ")))")
        }
        var canaries: [String]
        switch canary {
        case .hosts(let names):
            let unknown = names.filter { !all.contains($0) }
            guard unknown.isEmpty else {
                throw TidemarkError(.invalidInput, "waves.canary: \(unknown.joined(separator: ", ")) not among the rollout's hosts")
            }
            canaries = Array(Set(names)).sorted()
        case .count(let n):
            guard n >= 1 else { throw TidemarkError(.invalidInput, "waves.canary: count must be at least 1 (got \(n))") }
            canaries = all.sorted { (Self.spread($0), $0) < (Self.spread($1), $1) }.prefix(n).sorted()
        }
        var waves = [canaries]
        let rest = all.filter { !canaries.contains($0) }
        var done = 0
        for p in percentages {
            // cumulative over the whole fleet, canaries included
            let upTo = min(rest.count, max(0, (all.count * p + 99) / 100 - canaries.count))
            if upTo > done {
                waves.append(Array(rest[done..<upTo]))
                done = upTo
            }
        }
        if done < rest.count { waves.append(Array(rest[done...])) }
        return waves.filter { !$0.isEmpty }
    }

    /// FNV-1a of the name: stable across runs and platforms (Swift's Hasher is seeded per process).
    static func spread(_ name: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in name.utf8 {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        return h
    }
}
