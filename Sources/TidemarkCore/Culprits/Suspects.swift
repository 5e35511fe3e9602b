/// One package change on one host as the store saw it: what changed, and between which two of
/// the host's observations (the store knows no finer time unless rpm's install time says so).
public struct HostChange: Sendable, Hashable, Codable {
    public var host: String
    /// The source package it is grouped under (`Package.sourceName`).
    public var source: String
    public var name: String
    public var arch: String
    /// nil: newly installed.
    public var from: EVR?
    /// nil: removed.
    public var to: EVR?
    /// The first observation that showed it, and the one before (the change happened between).
    public var seenAt: Timestamp
    public var previous: Timestamp?
    /// rpm's install time of the new package, kept only when it lies in (previous, seenAt].
    public var installedAt: Timestamp?

    public init(host: String, source: String, name: String, arch: String, from: EVR?, to: EVR?, seenAt: Timestamp, previous: Timestamp?, installedAt: Timestamp? = nil) {
        self.host = host
        self.source = source
        self.name = name
        self.arch = arch
        self.from = from
        self.to = to
        self.seenAt = seenAt
        self.previous = previous
        if let i = installedAt, i <= seenAt, previous.map({ $0 < i }) ?? true { self.installedAt = i }
    }

    /// When it happened, as precisely as known.
    public var time: Timestamp { installedAt ?? seenAt }

    /// `name from → to`.
    public var text: String { "\(name) \(from?.description ?? "(new)") → \(to?.description ?? "(removed)")" }

    /// What a state must contain for this change to be "present": the new package, or for a
    /// removal the absence of the name.
    public var presenceKey: String {
        if let to { return "\(name)|\(to.description)|\(arch)" }
        return "gone:\(name)|\(arch)"
    }

    /// The subset of `keys` that hold in a state with these packages.
    public static func present(_ keys: Set<String>, in packages: [Package]) -> Set<String> {
        var have: Set<String> = [], names: Set<String> = []
        for p in packages {
            have.insert("\(p.name)|\(p.evr.description)|\(p.arch)")
            names.insert("\(p.name)|\(p.arch)")
        }
        return keys.filter { k in
            if k.hasPrefix("gone:") { return !names.contains(String(k.dropFirst(5))) }
            return have.contains(k)
        }
    }
}

/// A healthy signal with the state the host was in at that moment.
public struct HealthySample: Sendable, Hashable, Codable {
    public var host: String
    public var at: Timestamp
    public var state: StateID
    public init(host: String, at: Timestamp, state: StateID) {
        self.host = host
        self.at = at
        self.state = state
    }
}

/// Everything the ranking reads, gathered from the store by the adapter.
public struct SuspectEvidence: Sendable, Hashable {
    /// Each failing host's first failing signal in the period.
    public var onsets: [String: Signal]
    /// Each failing host's package changes in the window before its first failure.
    public var changes: [String: [HostChange]]
    /// Every healthy signal of the period, with the host's state then.
    public var healthy: [HealthySample]
    /// For the states of `healthy`: which `HostChange.presenceKey`s of the changes they hold.
    public var presence: [StateID: Set<String>]
    /// Seconds before a first failure in which a change counts.
    public var window: Int64

    public init(onsets: [String: Signal], changes: [String: [HostChange]], healthy: [HealthySample], presence: [StateID: Set<String>], window: Int64) {
        self.onsets = onsets
        self.changes = changes
        self.healthy = healthy
        self.presence = presence
        self.window = window
    }
}

/// A source package's changes, as an explanation of the failures.
public struct Suspect: Sendable, Hashable, Codable {
    /// A failing host on which the suspect changed before its first failure.
    public struct Fit: Sendable, Hashable, Codable {
        public var host: String
        public var changedAt: Timestamp
        public var firstFailure: Timestamp
        /// Seconds from the change to the first failure.
        public var lag: Int64
        public var change: String
    }

    /// A healthy signal from a host that had the suspect's change installed.
    public struct Contradiction: Sendable, Hashable, Codable {
        public var host: String
        /// The host's first healthy signal with the change present.
        public var at: Timestamp
        public var healthySignals: Int
        public var package: String
    }

    public var rank: Int
    public var source: String
    /// Between 0 and 1: the share of hosts the suspect explains (failing hosts that had it
    /// before failing, plus healthy hosts that never had it while healthy).
    public var score: Double
    /// The distinct changes (`name from → to`).
    public var changes: [String]
    public var fits: [Fit]
    /// Failing hosts where it did not change in the window before their first failure.
    public var missing: [String]
    public var contradictions: [Contradiction]
    /// Hosts with healthy signals that never had it while healthy.
    public var healthyWithout: Int
    public var medianLag: Int64?
    /// Suspects with exactly the same evidence: the signals cannot tell them apart.
    public var tiedWith: [String]
}

/// How to prove which of several equally fitting suspects it is.
public struct BisectSuggestion: Sendable, Hashable, Codable {
    public var host: String
    public var good: Timestamp
    public var bad: Timestamp
    public var sources: [String]
    public var command: String
}

/// The ranked suspects and what the evidence could not decide.
public struct SuspectReport: Sendable, Hashable, Codable {
    public struct Onset: Sendable, Hashable, Codable {
        public var host: String
        public var at: Timestamp
        public var reason: String?
    }

    public var window: Int64
    public var failing: [Onset]
    public var healthyHosts: [String]
    public var failingSignals: Int
    public var healthySignals: Int
    public var suspects: [Suspect]
    /// The top suspects when several fit equally.
    public var tie: [String]
    public var bisect: BisectSuggestion?
    public var verdict: String
}

/// Ranks package changes by how well they explain failure signals: present on failing hosts
/// before their first failure, absent on hosts while they were healthy, close in time to the
/// onset. The evidence is kept with each suspect so that an operator can check it.
public enum SuspectRanking {
    /// - Parameter test: the health command to put in the suggested `bisect` command.
    public static func rank(_ evidence: SuspectEvidence, test: String? = nil, failingCount: Int, healthyCount: Int) -> SuspectReport {
        let failingHosts = evidence.onsets.keys.sorted()
        var healthyByHost: [String: [HealthySample]] = [:]
        for s in evidence.healthy { healthyByHost[s.host, default: []].append(s) }
        let healthyHosts = healthyByHost.keys.sorted()

        // every source that changed on some failing host in its window
        var bySource: [String: [String: [HostChange]]] = [:]
        for (host, changes) in evidence.changes {
            guard let onset = evidence.onsets[host]?.at else { continue }
            for c in changes where c.time <= onset && c.time.seconds >= onset.seconds - evidence.window {
                bySource[c.source, default: [:]][host, default: []].append(c)
            }
        }

        struct Scored {
            var suspect: Suspect
            var signature: String
        }
        var scored: [Scored] = []
        let denominator = Double(failingHosts.count + healthyHosts.count)
        for (source, hosts) in bySource {
            var fits: [Suspect.Fit] = []
            var keys: Set<String> = [], texts: Set<String> = []
            for host in failingHosts {
                guard let changes = hosts[host], let onset = evidence.onsets[host]?.at else { continue }
                let latest = changes.max { $0.time < $1.time }!
                for c in changes {
                    keys.insert(c.presenceKey)
                    texts.insert(c.text)
                }
                fits.append(Suspect.Fit(host: host, changedAt: latest.time, firstFailure: onset, lag: onset.seconds - latest.time.seconds, change: changes.map(\.text).sorted().joined(separator: ", ")))
            }
            let missing = failingHosts.filter { hosts[$0] == nil }
            var contradictions: [Suspect.Contradiction] = []
            for host in healthyHosts {
                let samples = healthyByHost[host]!.filter { s in !(evidence.presence[s.state] ?? []).isDisjoint(with: keys) }
                guard let first = samples.min(by: { $0.at < $1.at }) else { continue }
                let held = (evidence.presence[first.state] ?? []).intersection(keys).sorted().first ?? ""
                contradictions.append(Suspect.Contradiction(host: host, at: first.at, healthySignals: samples.count, package: held.replacingOccurrences(of: "|", with: " ")))
            }
            let lags = fits.map(\.lag).sorted()
            let score = denominator == 0 ? 0 : Double(fits.count + healthyHosts.count - contradictions.count) / denominator
            let suspect = Suspect(
                rank: 0, source: source, score: score, changes: texts.sorted(), fits: fits, missing: missing, contradictions: contradictions,
                healthyWithout: healthyHosts.count - contradictions.count, medianLag: lags.isEmpty ? nil : lags[lags.count / 2], tiedWith: [])
            // what the signals can see: which hosts fit (and in which observation the change
            // appeared there), which are missing it, which healthy hosts contradict it
            let seen = fits.map { f in "\(f.host)@\(hosts[f.host]!.map(\.seenAt.seconds).max()!)" }.joined(separator: ",")
            let signature = "\(seen);\(missing.joined(separator: ","));\(contradictions.map(\.host).joined(separator: ","))"
            scored.append(Scored(suspect: suspect, signature: signature))
        }
        scored.sort { a, b in
            let x = a.suspect, y = b.suspect
            if x.score != y.score { return x.score > y.score }
            if x.fits.count != y.fits.count { return x.fits.count > y.fits.count }
            if (x.medianLag ?? .max) != (y.medianLag ?? .max) { return (x.medianLag ?? .max) < (y.medianLag ?? .max) }
            return x.source < y.source
        }
        var bySignature: [String: [String]] = [:]
        for s in scored { bySignature[s.signature, default: []].append(s.suspect.source) }
        var suspects: [Suspect] = []
        for (i, s) in scored.enumerated() {
            var x = s.suspect
            x.rank = i + 1
            x.tiedWith = bySignature[s.signature]!.filter { $0 != x.source }
            suspects.append(x)
        }

        var tie: [String] = []
        var suggestion: BisectSuggestion?
        var verdict: String
        if let top = suspects.first {
            tie = [top.source] + top.tiedWith
            if tie.count > 1 {
                verdict = "\(tie.count) changes fit the signals equally (\(tie.joined(separator: ", "))): the signals cannot separate them; bisect to find which"
                suggestion = suggest(top, tie: tie, evidence: evidence, test: test)
            } else if top.missing.isEmpty && top.contradictions.isEmpty {
                verdict = "\(top.source) explains every signal: on all \(top.fits.count) failing host\(top.fits.count == 1 ? "" : "s") before the first failure, on no host while it was healthy"
            } else {
                verdict = "\(top.source) explains the signals best (\(top.fits.count) of \(failingHosts.count) failing hosts, \(top.contradictions.count) healthy host\(top.contradictions.count == 1 ? "" : "s") had it)"
            }
        } else if failingHosts.isEmpty {
            verdict = "no failing signals in the period: nothing to explain"
        } else {
            verdict = "no package changed on the failing hosts in the \(DurationText.words(Int(evidence.window))) before their first failure"
        }
        return SuspectReport(
            window: evidence.window,
            failing: failingHosts.map { SuspectReport.Onset(host: $0, at: evidence.onsets[$0]!.at, reason: evidence.onsets[$0]!.reason) },
            healthyHosts: healthyHosts, failingSignals: failingCount, healthySignals: healthyCount, suspects: suspects, tie: tie.count > 1 ? tie : [],
            bisect: suggestion, verdict: verdict)
    }

    /// The bisection that separates tied suspects: on a failing host where they all changed,
    /// from the observation before the earliest of their changes to the first failure.
    static func suggest(_ top: Suspect, tie: [String], evidence: SuspectEvidence, test: String?) -> BisectSuggestion? {
        for fit in top.fits.sorted(by: { $0.host < $1.host }) {
            let changes = (evidence.changes[fit.host] ?? []).filter { tie.contains($0.source) }
            guard let previous = changes.compactMap(\.previous).min() else { continue }
            // the first observation that shows them all (it may come just after the failure)
            let bad = max(fit.firstFailure, changes.map(\.seenAt).max() ?? fit.firstFailure)
            let quoted = test.map(shellQuote) ?? "'COMMAND (exit 0 when healthy)'"
            let command = "tidemark bisect start --good \(fit.host)@\(previous.iso8601) --bad \(fit.host)@\(bad.iso8601) --host \(fit.host) --test \(quoted)"
            return BisectSuggestion(host: fit.host, good: previous, bad: bad, sources: tie, command: command)
        }
        return nil
    }

    public static func shellQuote(_ s: String) -> String {
        if !s.isEmpty, s.allSatisfy({ $0.isLetter || $0.isNumber || "-_./=:@".contains($0) }) { return s }
        return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
