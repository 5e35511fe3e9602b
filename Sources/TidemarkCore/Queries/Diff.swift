/// What happened to one package between two states.
public enum ChangeKind: String, Sendable, Codable, Hashable, CaseIterable {
    case added, removed, upgraded, downgraded
    /// Same EVR, different binary (digests differ): a rebuild that kept its version.
    case changed
}

/// One line of a diff. `from`/`to` are `[EPOCH:]VERSION-RELEASE`, nil where absent.
public struct PackageChange: Sendable, Hashable, Codable {
    public var name: String
    public var arch: String
    public var kind: ChangeKind
    public var from: String?
    public var to: String?
    /// Source package the change is grouped under.
    public var source: String
    /// Changelog entries between the two versions (only with `--changelog`).
    public var changelog: [ChangelogEntry]?

    private enum CodingKeys: String, CodingKey { case name, arch, kind, from, to, source, changelog }

    /// `from` and `to` are always present, `null` where absent, as scripts expect of a diff.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(arch, forKey: .arch)
        try c.encode(kind, forKey: .kind)
        try c.encode(from, forKey: .from)
        try c.encode(to, forKey: .to)
        try c.encode(source, forKey: .source)
        try c.encodeIfPresent(changelog, forKey: .changelog)
    }

    public init(name: String, arch: String, kind: ChangeKind, from: String?, to: String?, source: String, changelog: [ChangelogEntry]? = nil) {
        self.name = name
        self.arch = arch
        self.kind = kind
        self.from = from
        self.to = to
        self.source = source
        self.changelog = changelog
    }
}

/// Package-level paired diff of two states, with the binaries behind each change (the store
/// needs them for changelogs; JSON output uses `PackageChange`).
public struct PairedChange: Sendable, Hashable {
    public var change: PackageChange
    public var old: Package?
    public var new: Package?
}

public enum StateDiff {
    /// Changes from `a` to `b`, sorted by source package, then name, arch.
    ///
    /// Packages are paired by name and arch. Several versions of one name.arch (multiversion
    /// kernels) pair equal EVRs first, then the rest newest with newest; what is left over was
    /// added or removed.
    public static func diff(from a: [Package], to b: [Package]) -> [PairedChange] {
        struct Key: Hashable { var name: String; var arch: String }
        var left: [Key: [Package]] = [:], right: [Key: [Package]] = [:]
        for p in a { left[Key(name: p.name, arch: p.arch), default: []].append(p) }
        for p in b { right[Key(name: p.name, arch: p.arch), default: []].append(p) }
        var out: [PairedChange] = []
        for key in Set(left.keys).union(right.keys) {
            var l = left[key] ?? [], r = right[key] ?? []
            // exact binaries present on both sides are unchanged
            let rKeys = Set(r.map(\.identityKey))
            let common = Set(l.map(\.identityKey)).intersection(rKeys)
            l.removeAll { common.contains($0.identityKey) }
            r.removeAll { common.contains($0.identityKey) }
            // same EVR, different binary
            var i = 0
            while i < l.count {
                if let j = r.firstIndex(where: { $0.evr == l[i].evr }) {
                    if isRebuild(l[i], r[j]) { out.append(pair(l[i], r[j], .changed)) }
                    l.remove(at: i)
                    r.remove(at: j)
                } else {
                    i += 1
                }
            }
            let order = { (x: Package, y: Package) in EVR.compare(x.evr, y.evr, format: x.format) > 0 }
            l.sort(by: order)
            r.sort(by: order)
            while !l.isEmpty && !r.isEmpty {
                let o = l.removeFirst(), n = r.removeFirst()
                let c = EVR.compare(o.evr, n.evr, format: o.format)
                out.append(pair(o, n, c < 0 ? .upgraded : c > 0 ? .downgraded : .changed))
            }
            for o in l { out.append(pair(o, nil, .removed)) }
            for n in r { out.append(pair(nil, n, .added)) }
        }
        out.sort {
            ($0.change.source, $0.change.name, $0.change.arch, $0.change.from ?? "", $0.change.to ?? "")
                < ($1.change.source, $1.change.name, $1.change.arch, $1.change.from ?? "", $1.change.to ?? "")
        }
        return out
    }

    /// Two binaries with equal EVR differ when both digests are known and differ, or (dpkg) when
    /// the package's status changed. A digest known on one side only (a version reconstructed from
    /// a log) is no evidence of a rebuild.
    static func isRebuild(_ o: Package, _ n: Package) -> Bool {
        if let d1 = o.digest, let d2 = n.digest { return d1 != d2 }
        return o.status != n.status && o.status != nil && n.status != nil
    }

    private static func pair(_ o: Package?, _ n: Package?, _ kind: ChangeKind) -> PairedChange {
        let p = (n ?? o)!
        let source = n?.sourceName ?? o!.sourceName
        return PairedChange(
            change: PackageChange(name: p.name, arch: p.arch, kind: kind, from: o?.evr.description, to: n?.evr.description, source: source),
            old: o, new: n)
    }

    /// Changelog entries of `new` that are newer than the newest entry of `old` (what
    /// `rpm-ostree db diff --changelogs` shows). Without `old`, all of `new`'s entries.
    public static func changelogBetween(old: [ChangelogEntry]?, new: [ChangelogEntry]) -> [ChangelogEntry] {
        guard let old, let newest = old.map(\.time).max() else { return new }
        return new.filter { $0.time > newest }
    }
}
