/// The exact package transaction from one state to another: used by rollback (issue 4) and
/// rollouts later.
///
/// Exact means by binary, not by version: a package whose NEVRA stays but whose binary changes
/// (a rebuild, `identityKey` differs) is reinstalled. Only packages present in both states with
/// the same `identityKey` are left alone.
///
/// Packages are grouped by name and arch. A group with exactly one package on each side is a
/// reinstall (equal EVR), an upgrade or a downgrade, in the order of the package's format (rpm or
/// dpkg). Any other group (several versions of one name.arch, as multiversion kernels have, or a
/// package on one side only) keeps what both sides share, reinstalls what changed binary at an
/// equal EVR, and installs or removes the rest. An arch change (`foo.i586` → `foo.x86_64`) is a
/// remove and an install: different groups.
public struct TransactionPlan: Sendable, Hashable, Codable {
    public enum Action: String, Sendable, Hashable, Codable, CaseIterable {
        case install, upgrade, downgrade, reinstall, remove
    }

    public struct Step: Sendable, Hashable, Codable {
        public var action: Action
        /// What the host has now; nil for an install.
        public var from: Package?
        /// What the host will have; nil for a remove.
        public var to: Package?

        public init(action: Action, from: Package?, to: Package?) {
            precondition(from != nil || to != nil, "a transaction step needs a package")
            self.action = action
            self.from = from
            self.to = to
        }

        private enum CodingKeys: String, CodingKey { case action, from, to }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            action = try c.decode(Action.self, forKey: .action)
            from = try c.decodeIfPresent(Package.self, forKey: .from)
            to = try c.decodeIfPresent(Package.self, forKey: .to)
            guard from != nil || to != nil else {
                throw DecodingError.dataCorruptedError(forKey: .to, in: c, debugDescription: "a transaction step needs 'from' or 'to'")
            }
        }

        /// The package's name (both sides share it).
        public var name: String { (to ?? from)!.name }
        /// The package's architecture (both sides share it: an arch change is remove + install).
        public var arch: String { (to ?? from)!.arch }
        /// The version the step is sorted by: the target's, or for a remove the current one.
        public var evr: EVR { (to ?? from)!.evr }
    }

    /// Sorted by name, then arch, then version (`evr`), then action.
    public var steps: [Step]

    public init(steps: [Step]) {
        self.steps = steps.sorted(by: TransactionPlan.stepOrder)
    }

    /// The steps that turn `current` into exactly `target`. Total: any two package lists have a
    /// plan (duplicates count once; mixed formats are compared with the target's format).
    public static func between(current: [Package], target: [Package]) -> TransactionPlan {
        struct Key: Hashable { var name: String; var arch: String }
        var left: [Key: [Package]] = [:], right: [Key: [Package]] = [:]
        var seen = Set<String>()
        for p in current where seen.insert(p.identityKey).inserted { left[Key(name: p.name, arch: p.arch), default: []].append(p) }
        seen.removeAll()
        for p in target where seen.insert(p.identityKey).inserted { right[Key(name: p.name, arch: p.arch), default: []].append(p) }

        var steps: [Step] = []
        for key in Set(left.keys).union(right.keys) {
            var l = left[key] ?? [], r = right[key] ?? []
            if l.count == 1, r.count == 1 {
                let o = l[0], n = r[0]
                if satisfies(o, n) { continue }
                let c = EVR.compare(o.evr, n.evr, format: n.format)
                steps.append(Step(action: c == 0 ? .reinstall : c < 0 ? .upgrade : .downgrade, from: o, to: n))
                continue
            }
            // exact binaries on both sides stay
            let common = Set(l.map(\.identityKey)).intersection(r.map(\.identityKey))
            l.removeAll { common.contains($0.identityKey) }
            r.removeAll { common.contains($0.identityKey) }
            // same version, other binary: replace it in place (an install plus a remove of the
            // same NEVRA would name one package twice)
            var i = 0
            while i < l.count {
                if let j = r.firstIndex(where: { EVR.compare(l[i].evr, $0.evr, format: $0.format) == 0 }) {
                    if !satisfies(l[i], r[j]) { steps.append(Step(action: .reinstall, from: l[i], to: r[j])) }
                    l.remove(at: i)
                    r.remove(at: j)
                } else {
                    i += 1
                }
            }
            for n in r { steps.append(Step(action: .install, from: nil, to: n)) }
            for o in l { steps.append(Step(action: .remove, from: o, to: nil)) }
        }
        return TransactionPlan(steps: steps)
    }

    /// Whether installed package `o` is target `n`: the same binary, or — when the target is known
    /// only by its version (a state reconstructed from a package manager's log has no digest) —
    /// the same name, arch and version, since nothing more can be asked of it.
    public static func satisfies(_ o: Package, _ n: Package) -> Bool {
        if o.identityKey == n.identityKey { return true }
        return n.digest == nil && n.vendor == nil && n.buildTime == nil && o.format == n.format && o.name == n.name && o.arch == n.arch
            && EVR.compare(o.evr, n.evr, format: n.format) == 0
    }

    /// Whether the two states were already identical.
    public var isEmpty: Bool { steps.isEmpty }

    /// Every `to` (install, upgrade, downgrade, reinstall), in step order: what must come from
    /// the archive.
    public var packagesToFetch: [Package] { steps.compactMap(\.to) }

    /// The packages removed without a replacement (the `from` of every remove step), in step order.
    public var packagesToRemove: [Package] { steps.filter { $0.action == .remove }.compactMap(\.from) }

    /// How many steps do `action`.
    public func count(_ action: Action) -> Int { steps.reduce(0) { $0 + ($1.action == action ? 1 : 0) } }

    /// Name, arch, version (in the package's own order), action, then the binaries' identities:
    /// a total order, so equal plans list equal steps.
    static func stepOrder(_ a: Step, _ b: Step) -> Bool {
        if a.name != b.name { return a.name < b.name }
        if a.arch != b.arch { return a.arch < b.arch }
        let pa = (a.to ?? a.from)!
        let c = EVR.compare(a.evr, b.evr, format: pa.format)
        if c != 0 { return c < 0 }
        let ia = Action.allCases.firstIndex(of: a.action)!, ib = Action.allCases.firstIndex(of: b.action)!
        if ia != ib { return ia < ib }
        let ka = (a.from?.identityKey ?? "", a.to?.identityKey ?? ""), kb = (b.from?.identityKey ?? "", b.to?.identityKey ?? "")
        return ka < kb
    }
}
