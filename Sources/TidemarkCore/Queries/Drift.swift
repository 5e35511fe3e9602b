/// Which hosts deviate from the fleet, package by package.
public enum Drift {
    /// Per host, the packages whose version differs from the baseline. Without an explicit
    /// baseline, it is the fleet's most common choice per name.arch among hosts of the same
    /// format, where "not installed" is a choice too (so a package on a minority of hosts shows
    /// up as drift on those hosts). Ties are broken deterministically. Hosts without drift are kept,
    /// with no differences, so that scripts see every host.
    public static func compute(hosts: [(host: String, state: StateID, packages: [Package])], baseline: [Package]?) -> [DriftResult.HostDrift] {
        struct Key: Hashable { var name: String; var arch: String }
        func versions(_ ps: [Package]) -> [Key: String] {
            var out: [Key: [EVR]] = [:]
            var format: [Key: PackageFormat] = [:]
            for p in ps {
                out[Key(name: p.name, arch: p.arch), default: []].append(p.evr)
                format[Key(name: p.name, arch: p.arch)] = p.format
            }
            return out.mapValues { evrs in evrs.map(\.description).sorted().joined(separator: ", ") }
        }
        let perHost = hosts.map { (h: $0.host, s: $0.state, v: versions($0.packages), f: $0.packages.first?.format) }
        var expected: [PackageFormat?: [Key: String?]] = [:]
        if let baseline {
            let b = versions(baseline)
            for f in Set(perHost.map(\.f)) { expected[f] = b.mapValues { Optional($0) } }
        } else {
            for f in Set(perHost.map(\.f)) {
                let group = perHost.filter { $0.f == f }
                var counts: [Key: [String: Int]] = [:]
                for h in group { for (k, v) in h.v { counts[k, default: [:]][v, default: 0] += 1 } }
                var choice: [Key: String?] = [:]
                for (k, c) in counts {
                    let absent = group.count - c.values.reduce(0, +)
                    let best = c.max { a, b in a.value != b.value ? a.value < b.value : a.key < b.key }!
                    choice[k] = absent > best.value ? nil : best.key
                }
                expected[f] = choice
            }
        }
        return perHost.map { h in
            let exp = expected[h.f] ?? [:]
            var items: [DriftResult.Item] = []
            for k in Set(h.v.keys).union(exp.keys) {
                let mine = h.v[k], theirs = exp[k] ?? nil
                if mine != theirs { items.append(DriftResult.Item(name: k.name, arch: k.arch, evr: mine, expected: theirs)) }
            }
            items.sort { ($0.name, $0.arch) < ($1.name, $1.arch) }
            return DriftResult.HostDrift(host: h.h, state: h.s, differences: items)
        }.sorted { $0.host < $1.host }
    }
}
