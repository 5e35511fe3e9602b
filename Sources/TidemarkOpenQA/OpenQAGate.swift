import TidemarkCore

/// A rollout gate on an openQA job group: a build may go out only when its integration tests
/// are green. Today's fleet updates without asking openQA at all; this is the question it skips.
///
/// The rule, over the newest job of each scenario of the group and build (a restarted job's
/// clone replaces it): no jobs yet → pending (tests for the build were not even scheduled);
/// any finished job whose result is not in `passing` → failed, even while others still run
/// (red is red, waiting cannot make it green); any job not finished → pending; else passed.
public struct OpenQAGate: Sendable, Hashable, Codable {
    /// The openQA web UI (`https://openqa.opensuse.org`).
    public var url: String
    /// The job group's id.
    public var group: Int64
    /// The build to judge; nil means the group's latest build (its newest job's BUILD).
    public var build: String?
    /// Results that count as green.
    public var passing: Set<String>

    public static let defaultPassing: Set<String> = ["passed", "softfailed"]

    public init(url: String, group: Int64, build: String? = nil, passing: Set<String> = OpenQAGate.defaultPassing) {
        self.url = url
        self.group = group
        self.build = build
        self.passing = passing
    }

    /// How many failing or unfinished jobs evidence names before it says "… and N more".
    static let listed = 10

    /// Judges `jobs` (jobs of other groups or builds are ignored) for `build`, the one resolved
    /// for this gate (its own, or the group's latest; nil when the group has no jobs at all).
    public func evaluate(_ jobs: [OpenQAJob], build: String?, check: String, at: Timestamp) -> CheckResult {
        let subject = "openQA group \(group)" + (build.map { " build \($0)" } ?? "")
        guard let build else {
            return CheckResult(check: check, status: .pending, evidence: "\(subject): no jobs yet (the group has no build)", at: at)
        }
        var latest: [String: OpenQAJob] = [:]
        for job in jobs where job.groupID == group && job.build == build {
            if let seen = latest[job.scenario], seen.id > job.id { continue }
            latest[job.scenario] = job
        }
        guard !latest.isEmpty else {
            return CheckResult(check: check, status: .pending, evidence: "\(subject): no jobs yet for build \(build)", at: at)
        }
        let sorted = latest.values.sorted { $0.id < $1.id }
        let finished = sorted.filter(\.isFinished)
        let green = finished.filter { passing.contains($0.result) }
        let red = finished.filter { !passing.contains($0.result) }
        let open = sorted.filter { !$0.isFinished }

        var parts: [String] = []
        if !green.isEmpty {
            // Results other than "passed" that count as green, named: "5 passed (1 softfailed)".
            var other: [String: Int] = [:]
            for job in green where job.result != "passed" { other[job.result, default: 0] += 1 }
            let named = other.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            parts.append("\(green.count) passed" + (named.isEmpty ? "" : " (\(named))"))
        }
        if !red.isEmpty {
            parts.append("\(red.count) failed (" + Self.list(red) { "job \($0.id): \($0.result)" + ($0.reason.map { ", \($0)" } ?? "") } + ")")
        }
        if !open.isEmpty {
            parts.append("\(open.count) not finished (" + Self.list(open) { "job \($0.id): \($0.state)" } + ")")
        }
        let status: CheckResult.Status = !red.isEmpty ? .failed : !open.isEmpty ? .pending : .passed
        return CheckResult(check: check, status: status, evidence: "\(subject): " + parts.joined(separator: ", "), at: at)
    }

    private static func list(_ jobs: [OpenQAJob], _ describe: (OpenQAJob) -> String) -> String {
        let shown = jobs.prefix(listed).map(describe).joined(separator: "; ")
        return jobs.count > listed ? shown + "; … and \(jobs.count - listed) more" : shown
    }
}
