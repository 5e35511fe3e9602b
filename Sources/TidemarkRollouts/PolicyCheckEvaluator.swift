import AsyncHTTPClient
import Foundation
import TidemarkCore
import TidemarkOpenQA

/// The real check runners behind `RolloutDriver`: openQA through its API, commands through
/// `/bin/sh`, HTTP endpoints through AsyncHTTPClient. An openQA instance that cannot be asked
/// is pending, not failed: the rollout waits (up to the check's deadline) rather than guessing.
public struct PolicyCheckEvaluator: CheckEvaluating {
    public let http: HTTPClient

    public init(http: HTTPClient) { self.http = http }

    /// openQA's client: a 10 s connect timeout (AsyncHTTPClient retries a refused connection
    /// until then), never shut down.
    public static let shared = PolicyCheckEvaluator(http: OpenQAClient.sharedHTTPClient)

    /// One openQA question may take this long; the driver asks again next time (pending meanwhile).
    static let openQATimeout: Duration = .seconds(20)

    public func evaluate(_ check: CheckSpec, rollout: Rollout, now: Timestamp) async -> CheckResult {
        switch check.kind {
        case .command(let c):
            var env = ProcessInfo.processInfo.environment
            env["TIDEMARK_ROLLOUT"] = String(rollout.id)
            env["TIDEMARK_CHECK"] = check.name
            return await CommandCheckRunner().run(c, name: check.name, environment: env, now: now)
        case .http(let h):
            return await HTTPCheckRunner(client: http).run(h, name: check.name, now: now)
        case .openQA(let o):
            do {
                let client = try OpenQAClient(baseURL: o.url, apiKey: o.apiKey, apiSecret: o.apiSecret, timeout: Self.openQATimeout, http: http)
                return try await client.check(OpenQAGate(url: o.url, group: o.group, build: o.build, passing: Set(o.passing)), name: check.name, at: now)
            } catch {
                return CheckResult(check: check.name, status: .pending, evidence: "cannot read openQA at \(o.url): \(Self.text(error))", at: now)
            }
        }
    }

    /// openQA jobs finished on the wave's hosts since the wave was updated, against jobs on the
    /// hosts not updated yet over the same time, under the policy's decision rule.
    public func openQAHealth(
        _ health: OpenQAHealth, rule: HealthComparison.Rule, waveHosts: [String], baselineHosts: [String], since: Timestamp, now: Timestamp
    ) async -> CheckResult {
        let name = OpenQAHealth.checkName
        do {
            let client = try OpenQAClient(baseURL: health.url, apiKey: health.apiKey, apiSecret: health.apiSecret, timeout: Self.openQATimeout, http: http)
            let jobs = try await client.finishedJobs(since: since)
            let workers = try await client.workers()
            let reason = try health.reason.map { try NSRegularExpression(pattern: $0) }
            let tally = OpenQAHostResults.tally(
                jobs: jobs, workers: workers, hosts: Set(waveHosts + baselineHosts), from: since, to: Timestamp(seconds: now.seconds + 1),
                failing: Set(health.failing), reason: reason)
            func sum(_ hosts: [String]) -> (failed: Int, total: Int, jobs: [Int64]) {
                hosts.reduce((0, 0, [])) { acc, h in
                    let t = tally[h] ?? OpenQAHostTally(host: h)
                    return (acc.0 + t.failed, acc.1 + t.total, acc.2 + t.failedJobs)
                }
            }
            let w = sum(waveHosts), b = sum(baselineHosts)
            var (status, evidence) = HealthComparison(waveFailed: w.failed, waveTotal: w.total, baselineFailed: b.failed, baselineTotal: b.total).decide(rule)
            evidence = "openQA jobs since \(since.iso8601): " + evidence
            let failedOnWave = waveHosts.compactMap { h in tally[h].flatMap { $0.failed > 0 ? "\(h): jobs \($0.failedJobs.map(String.init).joined(separator: ", "))" : nil } }
            if !failedOnWave.isEmpty { evidence += "; failed on " + failedOnWave.joined(separator: "; ") }
            return CheckResult(check: name, status: status, evidence: evidence, at: now)
        } catch {
            return CheckResult(check: name, status: .pending, evidence: "cannot read openQA at \(health.url): \(Self.text(error))", at: now)
        }
    }

    static func text(_ error: any Error) -> String { (error as? TidemarkError)?.message ?? "\(error)" }
}
