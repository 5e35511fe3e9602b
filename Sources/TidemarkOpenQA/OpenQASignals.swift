import Foundation
import TidemarkCore

/// Turns openQA's finished jobs into per-host signals: each job joined to the host of the worker
/// that ran it (the API has no such query), a failure whose reason matches as a failing signal, a
/// passed or softfailed job as a healthy one. Other results (cancelled, obsoleted, skipped, or a
/// failure for another reason) say nothing about the host and are left out.
public enum OpenQASignals {
    public static let healthyResults: Set<String> = ["passed", "softfailed"]

    /// - Parameters:
    ///   - baseURL: names each signal (`openqa:BASE/tests/ID`), so importing again stores nothing twice.
    ///   - reason: only failures whose reason it matches count (all failures when nil).
    public static func signals(
        jobs: [OpenQAJob], workers: [OpenQAWorker], baseURL: String, reason: NSRegularExpression?,
        failing: Set<String> = OpenQAHostResults.defaultFailing
    ) -> [Signal] {
        var hostOf: [Int64: String] = [:]
        for w in workers { hostOf[w.id] = w.host }
        var out: [Signal] = []
        for job in jobs.sorted(by: { $0.id < $1.id }) {
            guard job.state == "done", let finished = job.tFinished, let worker = job.assignedWorkerID, let host = hostOf[worker],
                  (try? Observation.validateHostName(host)) != nil else { continue }
            let id = "openqa:\(baseURL)/tests/\(job.id)"
            if healthyResults.contains(job.result) {
                out.append(Signal(host: host, at: finished, status: .healthy, reason: "openQA job \(job.id) \(job.result)", source: "openqa", externalID: id))
            } else if OpenQAHostResults.isFailure(job, failing: failing, reason: reason) {
                let why = job.reason.map { "\($0) (openQA job \(job.id) \(job.result))" } ?? "openQA job \(job.id) \(job.result)"
                out.append(Signal(host: host, at: finished, status: .failing, reason: why, source: "openqa", externalID: id))
            }
        }
        return out
    }
}

extension OpenQAClient {
    /// Reads finished jobs since `since` and the workers, and maps them (`OpenQASignals.signals`).
    public func signals(since: Timestamp?, reason: NSRegularExpression?, limit: Int = 5000) async throws -> (signals: [Signal], jobs: Int) {
        let jobs = try await finishedJobs(since: since, limit: limit)
        let workers = try await workers()
        return (OpenQASignals.signals(jobs: jobs, workers: workers, baseURL: baseURL, reason: reason), jobs.count)
    }
}
