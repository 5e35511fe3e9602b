/// What a rollout will do before it does anything: per host, the exact transaction from the
/// state it is in to its target, grouped into waves, and every package the transactions need
/// (which must be in the archive before the first host is touched). A host's target is the same
/// state for all hosts with `--target REF`, or each host's own `zypper dup` result with
/// `--updates-from REPO`.
public struct RolloutPlan: Sendable, Hashable, Codable {
    public struct HostPlan: Sendable, Hashable, Codable {
        public var host: String
        public var from: StateID
        public var to: StateID
        public var transaction: TransactionPlan
    }

    /// One host's input: what it runs and what it should run.
    public struct HostTarget: Sendable {
        public var host: String
        public var current: [Package]
        public var target: [Package]
        public init(host: String, current: [Package], target: [Package]) {
            self.host = host
            self.current = current
            self.target = target
        }
    }

    public var waves: [[HostPlan]]
    /// Hosts already in their target state: no wave touches them.
    public var unchanged: [String]
    /// Every package some transaction installs, once each, in state order.
    public var packagesToFetch: [Package]

    public static func make(_ hosts: [HostTarget], waves spec: WaveSpec) throws(TidemarkError) -> RolloutPlan {
        var plans: [String: HostPlan] = [:], unchanged: [String] = []
        for h in hosts {
            guard plans[h.host] == nil, !unchanged.contains(h.host) else {
                throw TidemarkError(.invalidInput, "host \(h.host) is in the rollout twice")
            }
            let transaction = TransactionPlan.between(current: h.current, target: h.target)
            if transaction.isEmpty {
                unchanged.append(h.host)
            } else {
                plans[h.host] = HostPlan(host: h.host, from: PackageState(h.current).id, to: PackageState(h.target).id, transaction: transaction)
            }
        }
        // A named canary that needs nothing is simply not a canary: the spec applies to the
        // hosts that change.
        var effective = spec
        if case .hosts(let names) = spec.canary {
            let changing = names.filter { plans[$0] != nil }
            guard !changing.isEmpty || plans.isEmpty else {
                throw TidemarkError(.invalidInput, "waves.canary: \(names.joined(separator: ", ")) already run the target; name canaries that the rollout changes")
            }
            effective.canary = .hosts(changing)
        }
        let waves = try effective.assign(Array(plans.keys)).map { $0.map { plans[$0]! } }
        var seen = Set<String>(), fetch: [Package] = []
        for p in plans.keys.sorted().flatMap({ plans[$0]!.transaction.packagesToFetch }) where seen.insert(p.identityKey).inserted {
            fetch.append(p)
        }
        return RolloutPlan(waves: waves, unchanged: unchanged.sorted(), packagesToFetch: fetch.sorted(by: Package.stateOrder))
    }
}

extension RolloutPlan {
    /// A host's target under `--updates-from`: every installed package for which the repository
    /// offers a higher version of the same name and architecture is replaced by the highest one
    /// (the update `zypper up`/`dup` would make from that repository alone, in rpm's or dpkg's
    /// order). Packages the repository does not offer stay; nothing is added or removed, so a
    /// build that needs a new dependency makes the host's transaction fail, which halts the
    /// rollout before any further host is touched.
    public static func updateTarget(current: [Package], offered: [Package]) -> [Package] {
        var best: [String: Package] = [:]
        for p in offered {
            let key = p.name + "\u{0}" + p.arch
            if let b = best[key], EVR.compare(p.evr, b.evr, format: p.format) <= 0 { continue }
            best[key] = p
        }
        return current.map { p in
            guard let b = best[p.name + "\u{0}" + p.arch], b.format == p.format, EVR.compare(b.evr, p.evr, format: p.format) > 0 else { return p }
            return b
        }
    }
}
