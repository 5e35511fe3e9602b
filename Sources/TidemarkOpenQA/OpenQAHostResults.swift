import Foundation
import TidemarkCore

/// What one host's openQA jobs say about it in a time window: the health evidence behind "this
/// wave broke the workers" (the incident: workers updated to a bad package, and their jobs
/// ended `incomplete`, "setup failure: isotovideo can not be started", while the fleet kept
/// updating).
public struct OpenQAHostTally: Sendable, Hashable, Codable {
    /// The host as its openQA workers registered.
    public var host: String
    /// Jobs that finished (state `done`) on the host in the window.
    public var total: Int
    /// Of those, the ones that count as failures.
    public var failed: Int
    /// Their ids, ascending.
    public var failedJobs: [Int64]

    public init(host: String, total: Int = 0, failed: Int = 0, failedJobs: [Int64] = []) {
        self.host = host
        self.total = total
        self.failed = failed
        self.failedJobs = failedJobs
    }
}

/// Joins finished jobs to the hosts that ran them (openQA has no such query: a job names its
/// worker, the worker its host) and counts failures per host, so a health check can compare a
/// wave's hosts before and after their update.
public enum OpenQAHostResults {
    /// The results that mean "the host could not run the test" by default.
    public static let defaultFailing: Set<String> = ["incomplete", "failed"]

    /// Per host, the jobs in state `done` whose t_finished is in [`from`, `to`), and how many of
    /// them failed: a result in `failing`, and when `reason` is given, a reason it matches
    /// (somewhere in it; a job without a reason does not match). Jobs without a worker, or whose
    /// worker is not in `workers`, count for no host.
    ///
    /// - Parameter hosts: the hosts to report, each present even without jobs; nil reports
    ///   every host that ran a counted job. Names are compared as openQA's workers wrote them.
    public static func tally(
        jobs: [OpenQAJob], workers: [OpenQAWorker], hosts: Set<String>? = nil, from: Timestamp, to: Timestamp,
        failing: Set<String> = defaultFailing, reason: NSRegularExpression? = nil
    ) -> [String: OpenQAHostTally] {
        var hostOf: [Int64: String] = [:]
        for w in workers { hostOf[w.id] = w.host }
        var out: [String: OpenQAHostTally] = [:]
        for h in hosts ?? [] { out[h] = OpenQAHostTally(host: h) }
        for job in jobs.sorted(by: { $0.id < $1.id }) {
            guard job.state == "done", let finished = job.tFinished, from <= finished, finished < to,
                  let worker = job.assignedWorkerID, let host = hostOf[worker],
                  hosts?.contains(host) ?? true else { continue }
            var t = out[host] ?? OpenQAHostTally(host: host)
            t.total += 1
            if isFailure(job, failing: failing, reason: reason) {
                t.failed += 1
                t.failedJobs.append(job.id)
            }
            out[host] = t
        }
        return out
    }

    /// Whether `job` counts as a failure under `failing` and `reason`.
    public static func isFailure(_ job: OpenQAJob, failing: Set<String> = defaultFailing, reason: NSRegularExpression? = nil) -> Bool {
        guard failing.contains(job.result) else { return false }
        guard let reason else { return true }
        guard let text = job.reason else { return false }
        return reason.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }
}
