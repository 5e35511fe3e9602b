import Synchronization
import TidemarkCore
import TidemarkStore

/// The server's own Prometheus metrics, written as text exposition format 0.0.4 by hand: nine
/// metrics do not justify a metrics library in every build.
///
/// Counters and the latency histogram live in this process (they restart at zero, as Prometheus
/// expects of counters); the fleet gauges are read from the store at scrape time, so several
/// servers behind a load balancer report the same fleet.
public final class ServerMetrics: Sendable {
    /// Prometheus' default latency buckets, plus 30 s for full states of big hosts.
    static let buckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    struct Histogram {
        var counts = [Int](repeating: 0, count: ServerMetrics.buckets.count)
        var sum = 0.0
        var count = 0
    }

    struct Key: Hashable, Comparable {
        var route: String
        var status: Int
        static func < (a: Key, b: Key) -> Bool { (a.route, a.status) < (b.route, b.status) }
    }

    struct State {
        var ingested: [String: Int] = Dictionary(uniqueKeysWithValues: [RecordOutcome.recorded, .recordedNewState, .duplicate].map { ($0.rawValue, 0) })
        /// Accepted agent posts by what they carried: the whole state, what changed, or only its id.
        var forms: [String: Int] = ["full": 0, "delta": 0, "heartbeat": 0]
        var requests: [Key: Histogram] = [:]
        var mirrorRuns = 0
        var mirrorFailures = 0
    }

    private let state = Mutex(State())

    public init() {}

    func countIngested(_ outcomes: [RecordOutcome], form: String? = nil) {
        state.withLock { s in
            for o in outcomes { s.ingested[o.rawValue, default: 0] += 1 }
            if let form { s.forms[form, default: 0] += outcomes.count }
        }
    }

    /// One repository mirrored (scheduled or asked for); `failed` when it could not be read at
    /// all (its metadata), not when single packages failed.
    func countMirror(failed: Bool) {
        state.withLock { s in
            s.mirrorRuns += 1
            if failed { s.mirrorFailures += 1 }
        }
    }

    func observe(route: String, status: Int, seconds: Double) {
        state.withLock { s in
            var h = s.requests[Key(route: route, status: status)] ?? Histogram()
            for (i, b) in Self.buckets.enumerated() where seconds <= b { h.counts[i] += 1 }
            h.sum += seconds
            h.count += 1
            s.requests[Key(route: route, status: status)] = h
        }
    }

    /// Fleet gauges read from the store for one scrape.
    public struct Fleet: Sendable {
        public var states: Int
        public var hosts: Int
        public var staleHosts: Int
        public var archivedFiles: Int
    }

    func render(_ fleet: Fleet) -> String {
        let s = state.withLock { $0 }
        var out = ""
        func header(_ name: String, _ type: String, _ help: String) { out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n" }
        header("tidemark_observations_ingested_total", "counter", "Observations this server process accepted (posts and imports), by outcome.")
        for (k, v) in s.ingested.sorted(by: { $0.key < $1.key }) { out += "tidemark_observations_ingested_total{outcome=\"\(escape(k))\"} \(v)\n" }
        header("tidemark_observation_posts_total", "counter", "Observations posted and accepted, by form: full (every package), delta (what changed since a known state), heartbeat (the state id).")
        for (k, v) in s.forms.sorted(by: { $0.key < $1.key }) { out += "tidemark_observation_posts_total{form=\"\(k)\"} \(v)\n" }
        header("tidemark_states", "gauge", "Distinct package states stored.")
        out += "tidemark_states \(fleet.states)\n"
        header("tidemark_hosts", "gauge", "Hosts with at least one observation.")
        out += "tidemark_hosts \(fleet.hosts)\n"
        header("tidemark_hosts_stale", "gauge", "Hosts whose last observation is older than 2x the median gap of their last 10 observations (or than --stale-after when set).")
        out += "tidemark_hosts_stale \(fleet.staleHosts)\n"
        header("tidemark_archive_files", "gauge", "Package files in the archive.")
        out += "tidemark_archive_files \(fleet.archivedFiles)\n"
        header("tidemark_mirror_runs_total", "counter", "Repositories this server process mirrored into the archive (scheduled and POST /api/v1/archive/mirror).")
        out += "tidemark_mirror_runs_total \(s.mirrorRuns)\n"
        header("tidemark_mirror_failures_total", "counter", "Mirror runs that failed as a whole (repository unreadable, not rpm-md, unexpanded $variables).")
        out += "tidemark_mirror_failures_total \(s.mirrorFailures)\n"
        header("tidemark_http_request_duration_seconds", "histogram", "HTTP request durations by route (the path pattern) and status.")
        for (key, h) in s.requests.sorted(by: { $0.key < $1.key }) {
            let labels = "route=\"\(escape(key.route))\",status=\"\(key.status)\""
            for (i, b) in Self.buckets.enumerated() {
                out += "tidemark_http_request_duration_seconds_bucket{\(labels),le=\"\(formatBound(b))\"} \(h.counts[i])\n"
            }
            out += "tidemark_http_request_duration_seconds_bucket{\(labels),le=\"+Inf\"} \(h.count)\n"
            out += "tidemark_http_request_duration_seconds_sum{\(labels)} \(h.sum)\n"
            out += "tidemark_http_request_duration_seconds_count{\(labels)} \(h.count)\n"
        }
        return out
    }

    private func formatBound(_ b: Double) -> String { b == b.rounded() ? String(Int(b)) : String(b) }

    private func escape(_ s: String) -> String {
        s.replacingAll("\\", "\\\\").replacingAll("\"", "\\\"").replacingAll("\n", "\\n")
    }
}

/// When a host counts as stale: it stopped reporting at its usual pace.
public enum Staleness {
    /// How many recent observations define a host's usual interval.
    public static let window = 10

    /// Counts hosts whose last observation is older than `staleAfter` seconds when given, else
    /// older than twice the median gap between their recent observations (`times` newest first).
    /// A host seen once has no usual interval and is stale only under `staleAfter`.
    public static func count(_ recent: [String: [Int64]], now: Timestamp, staleAfter: Int64?) -> Int {
        var n = 0
        for times in recent.values {
            guard let last = times.first else { continue }
            let age = now.seconds - last
            if let staleAfter {
                if age > staleAfter { n += 1 }
                continue
            }
            guard times.count >= 2 else { continue }
            let gaps = zip(times, times.dropFirst()).map { $0 - $1 }.sorted()
            let median = gaps.count % 2 == 1 ? gaps[gaps.count / 2] : (gaps[gaps.count / 2 - 1] + gaps[gaps.count / 2]) / 2
            if median > 0, age > 2 * median { n += 1 }
        }
        return n
    }
}

extension String {
    func replacingAll(_ a: String, _ b: String) -> String {
        guard contains(a) else { return self }
        return split(separator: a, omittingEmptySubsequences: false).joined(separator: b)
    }
}
