import Foundation
import Testing
import TidemarkCore
@testable import TidemarkOpenQA

/// The gate rule without openQA: jobs as values, every outcome and its evidence.
@Suite struct OpenQAGateTests {
    static let at = Timestamp(seconds: 1_737_453_600)
    static let gate = OpenQAGate(url: "http://openqa.example", group: 3)

    static func job(
        _ id: Int64, _ test: String, state: String = "done", result: String = "passed", reason: String? = nil,
        build: String = "42", group: Int64 = 3, machine: String = "64bit"
    ) -> OpenQAJob {
        OpenQAJob(
            id: id, test: test, state: state, result: state == "done" ? result : "none", reason: reason, groupID: group,
            settings: ["BUILD": build, "DISTRI": "opensuse", "VERSION": "Tumbleweed", "FLAVOR": "DVD", "ARCH": "x86_64", "MACHINE": machine, "TEST": test])
    }

    func evaluate(_ jobs: [OpenQAJob], build: String? = "42", gate: OpenQAGate = Self.gate) -> CheckResult {
        gate.evaluate(jobs, build: build, check: "openqa", at: Self.at)
    }

    @Test func noJobsIsPendingNotFailed() {
        let r = evaluate([])
        #expect(r.status == .pending)
        #expect(r.evidence == "openQA group 3 build 42: no jobs yet for build 42")
        #expect(r.check == "openqa" && r.at == Self.at)
        // Jobs of other groups and builds are not this build's jobs.
        #expect(evaluate([Self.job(1, "a", build: "41"), Self.job(2, "a", group: 4)]).status == .pending)
        let none = evaluate([], build: nil)
        #expect(none.status == .pending)
        #expect(none.evidence == "openQA group 3: no jobs yet (the group has no build)")
    }

    @Test func allPassedIsPassed() {
        let r = evaluate([Self.job(1, "a"), Self.job(2, "b"), Self.job(3, "c", result: "softfailed")])
        #expect(r.status == .passed)
        #expect(r.evidence == "openQA group 3 build 42: 3 passed (1 softfailed)")
    }

    @Test func unfinishedIsPending() {
        let r = evaluate([Self.job(1, "a"), Self.job(2, "b", state: "running"), Self.job(3, "c", state: "scheduled")])
        #expect(r.status == .pending)
        #expect(r.evidence == "openQA group 3 build 42: 1 passed, 2 not finished (job 2: running; job 3: scheduled)")
    }

    @Test func aFailureIsFailedBeforeAllAreDone() {
        let r = evaluate([
            Self.job(5, "e", state: "running"), Self.job(1, "a"), Self.job(2, "b"), Self.job(3, "c"), Self.job(4, "d"),
            Self.job(17, "f", result: "incomplete", reason: "setup failure: isotovideo can not be started"),
        ])
        #expect(r.status == .failed)
        #expect(r.evidence == "openQA group 3 build 42: 4 passed, 1 failed (job 17: incomplete, setup failure: isotovideo can not be started), 1 not finished (job 5: running)")
    }

    @Test func theBriefsExampleEvidence() {
        let r = evaluate((1...4).map { Self.job(Int64($0), "t\($0)") } + [Self.job(17, "x", result: "incomplete", reason: "setup failure: isotovideo can not be started")])
        #expect(r.status == .failed)
        #expect(r.evidence == "openQA group 3 build 42: 4 passed, 1 failed (job 17: incomplete, setup failure: isotovideo can not be started)")
    }

    @Test func passingIsConfigurable() {
        let jobs = [Self.job(1, "a"), Self.job(2, "b", result: "softfailed")]
        let strict = OpenQAGate(url: "http://openqa.example", group: 3, passing: ["passed"])
        let r = evaluate(jobs, gate: strict)
        #expect(r.status == .failed)
        #expect(r.evidence == "openQA group 3 build 42: 1 passed, 1 failed (job 2: softfailed)")
    }

    @Test func onlyTheLatestJobOfAScenarioCounts() {
        // Job 1 failed and was restarted as job 4, which passed; job 2 passed, its rerun 5 failed.
        let r = evaluate([
            Self.job(1, "a", result: "failed"), Self.job(4, "a"), Self.job(2, "b"), Self.job(5, "b", result: "failed"),
            Self.job(3, "b", machine: "uefi"),
        ])
        #expect(r.status == .failed)
        #expect(r.evidence == "openQA group 3 build 42: 2 passed, 1 failed (job 5: failed)")
        #expect(evaluate([Self.job(1, "a", result: "incomplete"), Self.job(4, "a")]).status == .passed)
        // A rerun still running makes the scenario pending again, whatever its predecessor said.
        #expect(evaluate([Self.job(1, "a", result: "incomplete"), Self.job(4, "a", state: "scheduled")]).status == .pending)
    }

    @Test func cancelledJobsAreFinishedAndRed() {
        let r = evaluate([Self.job(1, "a"), OpenQAJob(id: 2, test: "b", state: "cancelled", result: "user_cancelled", groupID: 3, settings: ["BUILD": "42"])])
        #expect(r.status == .failed)
        #expect(r.evidence.contains("job 2: user_cancelled"))
    }

    @Test func longListsAreCut() {
        let r = evaluate((1...13).map { Self.job(Int64($0), "t\($0)", result: "failed") })
        #expect(r.status == .failed)
        #expect(r.evidence.hasPrefix("openQA group 3 build 42: 13 failed (job 1: failed; job 2: failed;"))
        #expect(r.evidence.hasSuffix("job 10: failed; … and 3 more)"))
    }
}

/// The per-host tally without openQA.
@Suite struct OpenQAHostResultsTests {
    static let from = Timestamp.parseISO8601("2025-01-21T10:00:00Z")!
    static let to = Timestamp.parseISO8601("2025-01-21T12:00:00Z")!
    static let workers = [
        OpenQAWorker(id: 1, host: "worker14", instance: 1), OpenQAWorker(id: 2, host: "worker14", instance: 2),
        OpenQAWorker(id: 3, host: "worker15", instance: 1),
    ]
    static let isotovideo = "setup failure: isotovideo can not be started"

    static func job(_ id: Int64, worker: Int64?, finished: String?, result: String = "passed", reason: String? = nil, state: String = "done") -> OpenQAJob {
        OpenQAJob(id: id, state: state, result: result, reason: reason, tFinished: finished.map { Timestamp.parseISO8601($0)! }, assignedWorkerID: worker)
    }

    @Test func joinsJobsToHostsThroughWorkers() {
        let jobs = [
            Self.job(1, worker: 1, finished: "2025-01-21T10:05:00", result: "incomplete", reason: Self.isotovideo),
            Self.job(2, worker: 2, finished: "2025-01-21T10:06:00", result: "incomplete", reason: Self.isotovideo),
            Self.job(3, worker: 2, finished: "2025-01-21T10:07:00"),
            Self.job(4, worker: 3, finished: "2025-01-21T10:08:00"),
            Self.job(5, worker: 3, finished: "2025-01-21T10:09:00", result: "failed"),
            Self.job(6, worker: nil, finished: "2025-01-21T10:09:00", result: "incomplete"),   // no worker
            Self.job(7, worker: 99, finished: "2025-01-21T10:09:00", result: "incomplete"),    // unknown worker
            Self.job(8, worker: 1, finished: nil, result: "none", state: "running"),           // not finished
        ]
        let t = OpenQAHostResults.tally(jobs: jobs, workers: Self.workers, from: Self.from, to: Self.to)
        #expect(t == [
            "worker14": OpenQAHostTally(host: "worker14", total: 3, failed: 2, failedJobs: [1, 2]),
            "worker15": OpenQAHostTally(host: "worker15", total: 2, failed: 1, failedJobs: [5]),
        ])
    }

    @Test func windowIsHalfOpen() {
        let jobs = [
            Self.job(1, worker: 1, finished: "2025-01-21T09:59:59", result: "incomplete"),
            Self.job(2, worker: 1, finished: "2025-01-21T10:00:00", result: "incomplete"),
            Self.job(3, worker: 1, finished: "2025-01-21T11:59:59"),
            Self.job(4, worker: 1, finished: "2025-01-21T12:00:00", result: "incomplete"),
        ]
        let t = OpenQAHostResults.tally(jobs: jobs, workers: Self.workers, from: Self.from, to: Self.to)
        #expect(t == ["worker14": OpenQAHostTally(host: "worker14", total: 2, failed: 1, failedJobs: [2])])
    }

    @Test func reasonPatternNarrowsFailures() throws {
        let jobs = [
            Self.job(1, worker: 1, finished: "2025-01-21T10:05:00", result: "incomplete", reason: Self.isotovideo),
            Self.job(2, worker: 1, finished: "2025-01-21T10:06:00", result: "incomplete", reason: "backend died: QEMU exited unexpectedly"),
            Self.job(3, worker: 1, finished: "2025-01-21T10:07:00", result: "incomplete"),   // no reason: no match
            Self.job(4, worker: 1, finished: "2025-01-21T10:08:00", result: "passed", reason: "isotovideo"),  // not a failing result
        ]
        let pattern = try NSRegularExpression(pattern: "isotovideo can ?not be started")
        let t = OpenQAHostResults.tally(jobs: jobs, workers: Self.workers, from: Self.from, to: Self.to, reason: pattern)
        #expect(t["worker14"] == OpenQAHostTally(host: "worker14", total: 4, failed: 1, failedJobs: [1]))
        let none = try NSRegularExpression(pattern: "^cache failure")
        #expect(OpenQAHostResults.tally(jobs: jobs, workers: Self.workers, from: Self.from, to: Self.to, reason: none)["worker14"]?.failed == 0)
        #expect(OpenQAHostResults.tally(jobs: jobs, workers: Self.workers, from: Self.from, to: Self.to)["worker14"]?.failed == 3)
    }

    @Test func failingResultsAreConfigurable() {
        let jobs = [
            Self.job(1, worker: 3, finished: "2025-01-21T10:05:00", result: "failed"),
            Self.job(2, worker: 3, finished: "2025-01-21T10:06:00", result: "incomplete"),
        ]
        let t = OpenQAHostResults.tally(jobs: jobs, workers: Self.workers, from: Self.from, to: Self.to, failing: ["incomplete"])
        #expect(t["worker15"] == OpenQAHostTally(host: "worker15", total: 2, failed: 1, failedJobs: [2]))
    }

    @Test func requestedHostsAreReportedEvenWithoutJobs() {
        let jobs = [
            Self.job(1, worker: 1, finished: "2025-01-21T10:05:00", result: "incomplete"),
            Self.job(2, worker: 3, finished: "2025-01-21T10:05:00", result: "incomplete"),
        ]
        let t = OpenQAHostResults.tally(jobs: jobs, workers: Self.workers, hosts: ["worker15", "worker16"], from: Self.from, to: Self.to)
        #expect(t == [
            "worker15": OpenQAHostTally(host: "worker15", total: 1, failed: 1, failedJobs: [2]),
            "worker16": OpenQAHostTally(host: "worker16"),
        ])
        #expect(OpenQAHostResults.tally(jobs: [], workers: [], from: Self.from, to: Self.to).isEmpty)
    }
}

/// openQA's request signing, against values computed with `openssl dgst -sha1 -hmac`.
@Suite struct OpenQASigningTests {
    @Test func hmacSHA1MatchesRFC2202() {
        #expect(OpenQAClient.hmacSHA1Hex(key: [UInt8](repeating: 0x0b, count: 20), message: Array("Hi There".utf8)) == "b617318655057264e28bc0b6fb378c8ef146be00")
        #expect(OpenQAClient.hmacSHA1Hex(key: Array("key".utf8), message: Array("The quick brown fox jumps over the lazy dog".utf8)) == "de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9")
    }

    @Test func queriesAreEncodedAsMojoReserializesThem() {
        #expect(OpenQAClient.encodeQuery([("build", "a b"), ("test", "x/y")]) == "build=a+b&test=x%2Fy")
        #expect(OpenQAClient.formEncode("ä+&=~*-._/?") == "%C3%A4%2B%26%3D%7E*-._%2F%3F")
        // printf '/api/v1/jobs?build=a+b&test=x%2Fy1737453600' | openssl dgst -sha1 -hmac 1234567890ABCDEF
        #expect(OpenQAClient.signature("/api/v1/jobs?build=a+b&test=x%2Fy", time: 1_737_453_600, secret: "1234567890ABCDEF") == "284b7f06ccae5bf680414130a4853c65e119b331")
    }

    @Test func keyAndSecretGoTogether() {
        #expect(throws: TidemarkError.self) { try OpenQAClient(baseURL: "http://openqa.example", apiKey: "K") }
        #expect(throws: TidemarkError.self) { try OpenQAClient(baseURL: "openqa.example") }
        #expect((try? OpenQAClient(baseURL: "https://openqa.example/prefix/"))?.baseURL == "https://openqa.example/prefix")
    }

    @Test func decodesTheAPIsJobAsServed() throws {
        // Captured from Debian's openQA 4.6 (GET /api/v1/jobs; fields trimmed).
        let json = #"{"jobs":[{"assigned_worker_id":1,"blocked_by_id":null,"clone_id":null,"group":"tmgroup1","group_id":1,"id":1,"name":"openqa-1-dev-x86_64-Build42-t1@64bit","priority":50,"reason":"setup failure: isotovideo can not be started","result":"incomplete","settings":{"ARCH":"x86_64","BUILD":"42","DISTRI":"openqa","FLAVOR":"dev","MACHINE":"64bit","TEST":"t1","VERSION":"1"},"state":"done","t_finished":"2025-01-21T10:05:00","t_started":"2025-01-21T10:00:00","test":"t1"},{"clone_id":null,"group_id":null,"id":2,"result":"none","settings":{"BUILD":42},"state":"scheduled","t_finished":null,"t_started":null}]}"#
        struct Answer: Decodable { var jobs: [OpenQAJob] }
        let jobs = try JSONDecoder().decode(Answer.self, from: Data(json.utf8)).jobs
        #expect(jobs[0] == OpenQAJob(
            id: 1, name: "openqa-1-dev-x86_64-Build42-t1@64bit", test: "t1", state: "done", result: "incomplete",
            reason: "setup failure: isotovideo can not be started", tStarted: Timestamp.parseISO8601("2025-01-21T10:00:00Z"),
            tFinished: Timestamp.parseISO8601("2025-01-21T10:05:00Z"), assignedWorkerID: 1, groupID: 1, group: "tmgroup1",
            settings: ["ARCH": "x86_64", "BUILD": "42", "DISTRI": "openqa", "FLAVOR": "dev", "MACHINE": "64bit", "TEST": "t1", "VERSION": "1"]))
        #expect(jobs[1].build == "42" && jobs[1].tFinished == nil && jobs[1].assignedWorkerID == nil && jobs[1].groupID == nil && !jobs[1].isFinished)
    }
}
