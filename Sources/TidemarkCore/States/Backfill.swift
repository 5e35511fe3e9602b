/// One package change as a package manager's log records it (a zypp history `install`/`remove`
/// record, a dpkg.log `install`/`upgrade`/`remove` line).
public struct LoggedPackageChange: Sendable, Hashable {
    public enum Action: String, Sendable, Hashable {
        /// A version was installed; covers upgrades, downgrades and reinstalls (zypp logs all of
        /// them as `install` of the new version, without a `remove` of the old one).
        case install
        /// A version was removed.
        case remove
    }

    /// What an `install` replaced, as far as the log says.
    public enum Previous: Sendable, Hashable {
        /// The log does not say (zypp): it is derived from earlier records.
        case unknown
        /// The log says nothing of this name and arch was installed (dpkg's `<none>`).
        case none
        /// The log names the replaced version (dpkg's OLDVER).
        case version(EVR)
    }

    public var action: Action
    public var name: String
    public var arch: String
    /// install: the version installed; remove: the version removed.
    public var evr: EVR
    /// install only; ignored for remove.
    public var previous: Previous

    public init(action: Action, name: String, arch: String, evr: EVR, previous: Previous = .unknown) {
        self.action = action
        self.name = name
        self.arch = arch
        self.evr = evr
        self.previous = previous
    }
}

/// One package-manager run as its log records it: the changes in log order.
public struct LoggedTransaction: Sendable, Hashable {
    /// When it ended (UTC): after this moment the host had the transaction's result.
    public var at: Timestamp
    public var changes: [LoggedPackageChange]
    /// Where it was read (`FILE:LINE` of its first record), so notes can point at it.
    public var origin: String

    public init(at: Timestamp, changes: [LoggedPackageChange], origin: String = "") {
        self.at = at
        self.changes = changes
        self.origin = origin
    }
}

/// Reconstructs a host's past package states from its package-manager log, walking back from
/// the state collected now. This is how Tidemark knows the history from before it was installed.
///
/// Why backwards: the current state is the only complete, exact truth (every binary with its
/// digest); the log only says what changed. Undoing the log's changes one transaction at a time,
/// newest first, keeps every package that nothing touched later with its full identity, and
/// needs no guess about the state the log started from.
///
/// Assumptions (what the log cannot say):
/// - A package never mentioned by the log was installed throughout (the log does not list what
///   was installed before its first record, e.g. by the installer or before rotation dropped it).
/// - zypp logs an upgrade as an `install` of the new version only. Before `install N-V.A` the
///   host had: the versions of N.A present right after it, except V, plus the version of the
///   most recent earlier `install` of N.A in the log unless the log removed that version since.
///   For an ordinary package the first part is empty (V replaced the old version); for
///   multiversion packages (kernels, installed side by side) it holds the other kernels, and the
///   second part is normally one of them. So one rule serves both, and it stays right when the
///   classification is wrong; the classification (`isMultiversion`) only decides what is
///   reported as an inconsistency. If N.A was never installed before in the log, it was absent
///   (a version that predates the log is unknowable), except that a change of architecture to
///   or from `noarch` (N.noarch replaced by N.x86_64) restores the other architecture's version.
/// - `remove N-V.A`: before it, N-V.A was installed.
/// - dpkg names the old version explicitly (`upgrade N:A OLD NEW`, `<none>` for nothing); its
///   log is converted to `.version`/`.none` and used as it is.
/// - A version known only from the log becomes a `Package` with format, name, EVR and arch only
///   (no digest, vendor, source...): the log does not identify the binary. Its install time is
///   the time of the log record that installed it, when the log has one.
/// - Transactions after the current snapshot's time are ignored (they cannot have happened
///   before it; usually a wrong log time zone). Times that go backwards in the log (clock set
///   back) are raised to the previous transaction's time.
/// - Where the log contradicts the current state (it installs something that is not there
///   afterwards, or removes something that is: someone ran `rpm`/`dpkg` directly, or the log was
///   edited), the current state wins, the reconstruction goes on, and a note says so.
public enum Backfill {
    public struct Result: Sendable {
        /// One state per transaction, the state right after it, at the transaction's time;
        /// oldest first; the current state itself is not included (the last entry has the same
        /// packages when the log and the current state agree, but at the last transaction's time).
        /// Transactions sharing one time give one state (the later one's).
        public var states: [(at: Timestamp, packages: [InstalledPackage])]
        /// Inconsistencies and ignored transactions, in words, for the operator.
        public var notes: [String]

        public init(states: [(at: Timestamp, packages: [InstalledPackage])], notes: [String]) {
            self.states = states
            self.notes = notes
        }
    }

    /// Whether zypp installs versions of this package side by side instead of replacing them:
    /// the kernel packages (zypp's default `multiversion = provides:multiversion(kernel)`), which
    /// are named `kernel-*`; `kernel-firmware*` are ordinary packages.
    public static func isMultiversion(name: String) -> Bool {
        name.hasPrefix("kernel-") && !name.hasPrefix("kernel-firmware")
    }

    /// - Parameters:
    ///   - format: the host's package format (all packages are of it).
    ///   - current: the packages collected at `currentAt`.
    ///   - transactions: the log's transactions in log order (oldest first).
    public static func reconstruct(
        format: PackageFormat, current: [InstalledPackage], currentAt: Timestamp,
        transactions: [LoggedTransaction]
    ) -> Result {
        var states: [(at: Timestamp, packages: [InstalledPackage])] = []
        let notes = walkBack(format: format, current: current, currentAt: currentAt, transactions: transactions) {
            states.append((at: $0, packages: $1))
        }
        return Result(states: states.reversed(), notes: notes)
    }

    /// The same reconstruction, handing each state to `visit` as soon as it is known, NEWEST
    /// first, instead of keeping them all: a long history of a big host (thousands of
    /// transactions × thousands of packages) does not fit in memory as one array. Returns the notes.
    public static func walkBack<E: Error>(
        format: PackageFormat, current: [InstalledPackage], currentAt: Timestamp,
        transactions: [LoggedTransaction], visit: (Timestamp, [InstalledPackage]) throws(E) -> Void
    ) throws(E) -> [String] {
        var notes: [String] = []

        // 1. Which transactions count.
        var kept: [LoggedTransaction] = []
        var late = 0
        for t in transactions where !t.changes.isEmpty {
            if t.at > currentAt { late += 1; continue }
            var t = t
            if let last = kept.last, t.at < last.at {
                notes.append("\(where_(t)): its time is before the previous transaction's (\(last.at)); the clock was set back, so it is taken as \(last.at)")
                t.at = last.at
            }
            kept.append(t)
        }
        if late > 0 {
            notes.append("\(late) transaction(s) in the log are later than the snapshot (\(currentAt)) and were ignored; if that is wrong, the log's time zone may be wrong")
        }

        // 2. Forward pass: for each zypp-style install, the version it replaced per the log.
        var last: [Key: LastInstall] = [:]
        var archesByName: [String: [String]] = [:]
        var prior: [[Prior?]] = []
        for t in kept {
            var row: [Prior?] = []
            for c in t.changes {
                let key = Key(name: c.name, arch: c.arch)
                switch c.action {
                case .install:
                    if let l = last[key] {
                        row.append(l.removed ? nil : Prior(arch: c.arch, evr: l.evr, at: l.at, crossArch: false))
                    } else {
                        // Never installed before under this arch: an arch change to/from noarch?
                        let others = (archesByName[c.name] ?? []).filter { a in
                            a != c.arch && (a == "noarch" || c.arch == "noarch")
                                && last[Key(name: c.name, arch: a)].map { !$0.removed } == true
                        }
                        if others.count == 1, let l = last[Key(name: c.name, arch: others[0])] {
                            row.append(Prior(arch: others[0], evr: l.evr, at: l.at, crossArch: true))
                        } else {
                            row.append(nil)
                        }
                        archesByName[c.name, default: []].append(c.arch)
                    }
                    last[key] = LastInstall(evr: c.evr, at: t.at, removed: false)
                case .remove:
                    row.append(nil)
                    if let l = last[key], EVR.compare(l.evr, c.evr, format: format) == 0 {
                        last[key]!.removed = true
                    }
                }
            }
            prior.append(row)
        }

        // 3. Walk back from the current state. Every name.arch that can occur gets a slot,
        // sorted once, so each state comes out in `Package.stateOrder` without sorting or hashing
        // thousands of packages per transaction.
        var allKeys = Set(current.map { Key(name: $0.package.name, arch: $0.package.arch) })
        for (ti, t) in kept.enumerated() {
            for (ci, c) in t.changes.enumerated() {
                allKeys.insert(Key(name: c.name, arch: c.arch))
                if let p = prior[ti][ci], p.crossArch { allKeys.insert(Key(name: c.name, arch: p.arch)) }
            }
        }
        let sortedKeys = allKeys.sorted { (a: Key, b: Key) -> Bool in a.name != b.name ? a.name < b.name : a.arch < b.arch }
        var slot: [Key: Int] = [:]
        for (i, k) in sortedKeys.enumerated() { slot[k] = i }
        var state: [[InstalledPackage]] = Array(repeating: [], count: sortedKeys.count)
        for p in current { state[slot[Key(name: p.package.name, arch: p.package.arch)]!].append(p) }
        let severalNow = Set(sortedKeys.indices.filter { state[$0].count > 1 }.map { sortedKeys[$0] })
        func multiversion(_ k: Key) -> Bool {
            format == .rpm && (severalNow.contains(k) || isMultiversion(name: k.name))
        }
        func same(_ a: EVR, _ b: EVR) -> Bool { EVR.compare(a, b, format: format) == 0 }
        func logOnly(_ name: String, _ evr: EVR, _ arch: String, _ at: Timestamp?) -> InstalledPackage {
            InstalledPackage(Package(format: format, name: name, evr: evr, arch: arch), installTime: at?.seconds)
        }
        func label(_ c: LoggedPackageChange) -> String {
            Package(format: format, name: c.name, evr: c.evr, arch: c.arch).nevra
        }
        func snapshot() -> [InstalledPackage] {
            var out: [InstalledPackage] = []
            out.reserveCapacity(current.count + 16)
            for e in state where !e.isEmpty {
                if e.count == 1 { out.append(e[0]) } else { out += e.sorted { Package.stateOrder($0.package, $1.package) } }
            }
            return out
        }

        for ti in kept.indices.reversed() {
            let t = kept[ti]
            // Transactions sharing a time give one state, the later one's.
            if !(ti + 1 < kept.count && kept[ti + 1].at == t.at) { try visit(t.at, snapshot()) }
            for ci in t.changes.indices.reversed() {
                let c = t.changes[ci]
                let key = Key(name: c.name, arch: c.arch)
                let k = slot[key]!
                let entries = state[k]
                switch c.action {
                case .install:
                    let present = entries.contains { isInstalled($0) && same($0.package.evr, c.evr) }
                    if !present {
                        notes.append("\(where_(t)): the log installs \(label(c)), but the state after it has \(describe(entries)) (changed outside the package manager?); the current state is trusted")
                    }
                    var before = entries.filter { !same($0.package.evr, c.evr) }
                    switch c.previous {
                    case .unknown:
                        if present && !before.isEmpty && !multiversion(key) {
                            notes.append("\(where_(t)): \(c.name).\(c.arch) is not multiversion, but besides \(c.evr) the state after the install also has \(describe(before))")
                        }
                        if let p = prior[ti][ci] {
                            if p.crossArch {
                                let other = slot[Key(name: c.name, arch: p.arch)]!
                                if state[other].isEmpty { state[other] = [logOnly(c.name, p.evr, p.arch, p.at)] }
                            } else if !before.contains(where: { same($0.package.evr, p.evr) }) {
                                before.append(logOnly(c.name, p.evr, c.arch, p.at))
                            }
                        }
                    case .none, .version:
                        // dpkg: one version per name and arch; the log says exactly what was there.
                        let others = before.filter(isInstalled)
                        if present && !others.isEmpty {
                            notes.append("\(where_(t)): the log installs \(label(c)) over \(previousText(c.previous)), but the state after it also has \(describe(others))")
                        }
                        if case .version(let old) = c.previous {
                            before = [logOnly(c.name, old, c.arch, nil)]
                        } else {
                            before = []
                        }
                    }
                    state[k] = before
                case .remove:
                    if entries.contains(where: { isInstalled($0) && same($0.package.evr, c.evr) }) {
                        notes.append("\(where_(t)): the log removes \(label(c)), but it is in the state after it (reinstalled outside the package manager?); the current state is trusted")
                    } else {
                        // A dpkg `config-files` entry of it appeared by this removal: undo it too.
                        state[k] = entries.filter(isInstalled) + [logOnly(c.name, c.evr, c.arch, nil)]
                    }
                }
            }
        }

        if notes.count > maximumNotes {
            let more = notes.count - maximumNotes
            notes = Array(notes.prefix(maximumNotes))
            notes.append("... and \(more) more notes like these: the log does not belong to this state (another host's log, or a restored system?)")
        }
        return notes
    }

    /// Notes beyond this many are counted, not listed: thousands of contradictions say one thing.
    public static let maximumNotes = 100

    /// dpkg keeps removed-but-not-purged packages (`deinstall ok config-files`) in its database;
    /// they are not installed binaries. rpm packages have no status: always installed.
    static func isInstalled(_ p: InstalledPackage) -> Bool {
        guard let status = p.package.status else { return true }
        guard let word = status.split(separator: " ").last else { return true }
        return word != "config-files" && word != "not-installed"
    }

    private struct Key: Hashable { var name: String; var arch: String }
    private struct LastInstall { var evr: EVR; var at: Timestamp; var removed: Bool }
    /// The version an install replaced per the log (`crossArch`: under another arch, noarch).
    private struct Prior { var arch: String; var evr: EVR; var at: Timestamp; var crossArch: Bool }

    private static func where_(_ t: LoggedTransaction) -> String {
        t.origin.isEmpty ? "\(t.at)" : "\(t.at) (\(t.origin))"
    }

    private static func describe(_ entries: [InstalledPackage]) -> String {
        entries.isEmpty ? "no such package" : entries.map(\.package.nevra).joined(separator: ", ")
    }

    private static func previousText(_ p: LoggedPackageChange.Previous) -> String {
        switch p {
        case .unknown: return "an unknown version"
        case .none: return "nothing"
        case .version(let v): return v.description
        }
    }
}
