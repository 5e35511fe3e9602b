import Foundation
import Testing
import TidemarkCore
import TidemarkHosts
import TidemarkOpenQA
import TidemarkTestSupport

/// The client against a real openQA web UI (`OpenQAServer`): what the API really serves for
/// jobs created, finished and assigned the way openQA's own users and workers do it. Tests share
/// the instance, so each works in its own job group, builds and worker host names.
@Suite struct OpenQALiveTests {
    static func tag() -> String { String(UInt32.random(in: 0...UInt32.max), radix: 36) }
    static func now() -> Timestamp { Timestamp(seconds: Int64(Date().timeIntervalSince1970)) }
    static let isotovideo = "setup failure: isotovideo can not be started"

    @Test func gateFollowsABuildFromScheduledToRedToGreen() async throws {
        let oqa = try OpenQAServer.shared()
        let t = Self.tag()
        let group = try oqa.createJobGroup(name: "gate-\(t)")
        let client = try OpenQAClient(baseURL: oqa.url)

        // An empty group has no build: pending, not failed.
        #expect(try await client.latestBuild(groupID: group) == nil)
        let empty = try await client.check(OpenQAGate(url: oqa.url, group: group), name: "itest", at: Self.now())
        #expect(empty.status == .pending)
        #expect(empty.evidence == "openQA group \(group): no jobs yet (the group has no build)")

        // Build 1: scheduled → pending; one incomplete while the other still waits → failed.
        let b1 = "1-\(t)"
        let a = try oqa.createJob(["TEST": "a-\(t)", "BUILD": b1, "_GROUP_ID": String(group)])
        let b = try oqa.createJob(["TEST": "b-\(t)", "BUILD": b1, "_GROUP": "gate-\(t)"])   // by name works too
        let gate1 = OpenQAGate(url: oqa.url, group: group, build: b1)
        var r = try await client.check(gate1, name: "itest", at: Self.now())
        #expect(r.status == .pending)
        #expect(r.evidence == "openQA group \(group) build \(b1): 2 not finished (job \(a): scheduled; job \(b): scheduled)")
        try oqa.setDone(job: a, result: "passed")
        #expect(try await client.check(gate1, name: "itest", at: Self.now()).status == .pending)
        try oqa.setDone(job: b, result: "incomplete", reason: Self.isotovideo)
        r = try await client.check(gate1, name: "itest", at: Self.now())
        #expect(r.status == .failed)
        #expect(r.evidence == "openQA group \(group) build \(b1): 1 passed, 1 failed (job \(b): incomplete, \(Self.isotovideo))")

        // The failed test rerun (a new job of the same scenario) and passing: the build is green.
        let b2nd = try oqa.createJob(["TEST": "b-\(t)", "BUILD": b1, "_GROUP_ID": String(group)])
        #expect(try await client.check(gate1, name: "itest", at: Self.now()).status == .pending)
        try oqa.setDone(job: b2nd, result: "passed")
        r = try await client.check(gate1, name: "itest", at: Self.now())
        #expect(r.status == .passed)
        #expect(r.evidence == "openQA group \(group) build \(b1): 2 passed")

        // Build 2: red is red even while another job has not run yet.
        let b2 = "2-\(t)"
        let c = try oqa.createJob(["TEST": "a-\(t)", "BUILD": b2, "_GROUP_ID": String(group)])
        let d = try oqa.createJob(["TEST": "b-\(t)", "BUILD": b2, "_GROUP_ID": String(group)])
        try oqa.setDone(job: c, result: "incomplete", reason: Self.isotovideo)
        r = try await client.check(OpenQAGate(url: oqa.url, group: group, build: b2), name: "itest", at: Self.now())
        #expect(r.status == .failed)
        #expect(r.evidence == "openQA group \(group) build \(b2): 1 failed (job \(c): incomplete, \(Self.isotovideo)), 1 not finished (job \(d): scheduled)")

        // Build 3, the newest: passed and softfailed are green; without a build the gate judges it.
        let b3 = "3-\(t)"
        let e = try oqa.createJob(["TEST": "a-\(t)", "BUILD": b3, "_GROUP_ID": String(group)])
        let f = try oqa.createJob(["TEST": "b-\(t)", "BUILD": b3, "_GROUP_ID": String(group)])
        #expect(try await client.latestBuild(groupID: group) == b3)
        try oqa.setDone(job: e, result: "passed")
        try oqa.setDone(job: f, result: "softfailed")
        r = try await client.check(OpenQAGate(url: oqa.url, group: group), name: "itest", at: Self.now())
        #expect(r.status == .passed)
        #expect(r.evidence == "openQA group \(group) build \(b3): 2 passed (1 softfailed)")
        // Build 2 stays red, whatever came after it.
        #expect(try await client.check(OpenQAGate(url: oqa.url, group: group, build: b2), name: "itest", at: Self.now()).status == .failed)

        // The job list's filters, as the client sends them.
        let latest1 = try await client.jobs(OpenQAJobQuery(groupID: group, build: b1, latest: true))
        #expect(Set(latest1.map(\.id)) == [a, b2nd])
        let all1 = try await client.jobs(OpenQAJobQuery(groupID: group, build: b1))
        #expect(all1.map(\.id) == [b2nd, b, a])   // newest first
        #expect(try await client.jobs(OpenQAJobQuery(groupID: group, results: ["incomplete"])).map(\.id).sorted() == [b, c])
        #expect(try await client.jobs(OpenQAJobQuery(groupID: group, states: ["scheduled"])).map(\.id) == [d])
        #expect(try await client.jobs(OpenQAJobQuery(ids: [a, e])).map(\.id).sorted() == [a, e])
        #expect(try await client.jobs(OpenQAJobQuery(groupID: group, before: c, after: a)).map(\.id) == [b2nd, b])
    }

    @Test func tallyJoinsFinishedJobsToWorkerHosts() async throws {
        let oqa = try OpenQAServer.shared()
        let t = Self.tag()
        let h1 = "w1-\(t)", h2 = "w2-\(t)", idle = "w3-\(t)"
        let w11 = try oqa.registerWorker(host: h1, instance: 1)
        let w12 = try oqa.registerWorker(host: h1, instance: 2)
        let w21 = try oqa.registerWorker(host: h2, instance: 1)
        _ = try oqa.registerWorker(host: idle, instance: 1)
        #expect(try oqa.registerWorker(host: h1, instance: 1) == w11)   // re-registering is the same worker

        let from = Timestamp.parseISO8601("2025-01-21T10:00:00Z")!, to = Timestamp.parseISO8601("2025-01-21T12:00:00Z")!
        func at(_ minutes: Int64) -> Timestamp { Timestamp(seconds: from.seconds + minutes * 60) }
        var ids: [String: Int64] = [:]
        // (name, worker, result, reason, finished minutes after `from`)
        let plan: [(String, Int64, String, String?, Int64)] = [
            ("inc1", w11, "incomplete", Self.isotovideo, 5),
            ("inc2", w12, "incomplete", Self.isotovideo, 10),
            ("ok1", w12, "passed", nil, 15),
            ("otherfail", w11, "incomplete", "backend died: QEMU exited unexpectedly", 20),
            ("ok2", w21, "passed", nil, 25),
            ("fail2", w21, "failed", nil, 30),
            ("late", w21, "incomplete", Self.isotovideo, 120),    // at `to`: outside
            ("early", w11, "incomplete", Self.isotovideo, -1),    // before `from`: outside
        ]
        for (name, worker, result, reason, minutes) in plan {
            let id = try oqa.createJob(["TEST": "\(name)-\(t)", "BUILD": "h-\(t)"])
            try oqa.setDone(job: id, result: result, reason: reason)
            try oqa.assign(job: id, worker: worker, started: at(minutes - 3), finished: at(minutes))
            ids[name] = id
        }
        let unassigned = try oqa.createJob(["TEST": "noworker-\(t)", "BUILD": "h-\(t)"])
        try oqa.setDone(job: unassigned, result: "incomplete")

        let client = try OpenQAClient(baseURL: oqa.url)
        // The job reads back exactly as assigned, times in UTC.
        let inc1 = try await client.job(id: ids["inc1"]!)
        #expect(inc1.assignedWorkerID == w11 && inc1.tStarted == at(2) && inc1.tFinished == at(5))
        #expect(inc1.state == "done" && inc1.result == "incomplete" && inc1.reason == Self.isotovideo && inc1.build == "h-\(t)")
        #expect(inc1.test == "inc1-\(t)" && inc1.name?.hasSuffix("inc1-\(t)@64bit") == true)

        let workers = try await client.workers()
        #expect(Set(workers.filter { $0.host == h1 }.map(\.instance)) == [1, 2])
        #expect(workers.first { $0.id == w21 }?.host == h2)

        // Paged by id, two at a time, back to a day before the window.
        let finished = try await client.finishedJobs(since: Timestamp(seconds: from.seconds - 86400), pageSize: 2)
        #expect(Set(ids.values).isSubset(of: Set(finished.map(\.id))))
        #expect(finished.map(\.id) == finished.map(\.id).sorted(by: >))
        #expect(finished.allSatisfy { $0.state == "done" })
        // `since` is honoured: everything here finished before now - 1 day, except the unassigned job.
        let recent = try await client.finishedJobs(since: Timestamp(seconds: Self.now().seconds - 3600))
        #expect(recent.contains { $0.id == unassigned } && !recent.contains { ids.values.contains($0.id) })

        let tally = OpenQAHostResults.tally(jobs: finished, workers: workers, hosts: [h1, h2, idle], from: from, to: to)
        #expect(tally == [
            h1: OpenQAHostTally(host: h1, total: 4, failed: 3, failedJobs: [ids["inc1"]!, ids["inc2"]!, ids["otherfail"]!]),
            h2: OpenQAHostTally(host: h2, total: 2, failed: 1, failedJobs: [ids["fail2"]!]),
            idle: OpenQAHostTally(host: idle),
        ])
        let pattern = try NSRegularExpression(pattern: "isotovideo can not be started")
        let narrow = OpenQAHostResults.tally(jobs: finished, workers: workers, hosts: [h1, h2], from: from, to: to, reason: pattern)
        #expect(narrow[h1] == OpenQAHostTally(host: h1, total: 4, failed: 2, failedJobs: [ids["inc1"]!, ids["inc2"]!]))
        #expect(narrow[h2] == OpenQAHostTally(host: h2, total: 2, failed: 0))
    }

    @Test func signedRequestsAreAcceptedAndAWrongSecretIsRefused() async throws {
        let oqa = try OpenQAServer.shared()
        // GET /api/v1/isos/N needs an operator: with a valid signature openQA gets as far as
        // "does not exist" (404), without one it stops at authentication (403). The query has
        // characters whose encoding the signature depends on.
        let path = "/api/v1/isos/987654321"
        let query = [("note", "a b/ä&c=d"), ("x", "~1*'(\"")]
        let signed = try OpenQAClient(baseURL: oqa.url, apiKey: oqa.apiKey, apiSecret: oqa.apiSecret)
        let e1 = await #expect(throws: TidemarkError.self) { try await signed.get(path, query: query) }
        #expect(e1.map { e in e.code == .toolFailed && e.message.contains("HTTP 404") && e.message.contains("Scheduled product does not exist") } == true, "\(String(describing: e1))")
        let wrong = try OpenQAClient(baseURL: oqa.url, apiKey: oqa.apiKey, apiSecret: "0000000000000000")
        let e2 = await #expect(throws: TidemarkError.self) { try await wrong.get(path, query: query) }
        #expect(e2.map { e in e.code == .toolFailed && e.message.contains(oqa.url) && e.message.contains("HTTP 403") && e.message.contains("wrong secret") && e.message.contains("check the API key and secret") } == true, "\(String(describing: e2))")
        let anonymous = try OpenQAClient(baseURL: oqa.url)
        let e3 = await #expect(throws: TidemarkError.self) { try await anonymous.get(path) }
        #expect(e3.map { e in e.code == .toolFailed && e.message.contains("HTTP 403") && e.message.contains("needs an API key") } == true, "\(String(describing: e3))")
        // Public reads work signed as well as anonymously.
        let group = try oqa.createJobGroup(name: "signed-\(OpenQALiveTests.tag())")
        let job = try oqa.createJob(["TEST": "signed", "BUILD": "s", "_GROUP_ID": String(group)])
        #expect(try await signed.jobs(OpenQAJobQuery(groupID: group, build: "s")).map(\.id) == [job])
        #expect(try await signed.job(id: job).groupID == group)
    }

    @Test func errorsNameTheURLAndWhatWasWrong() async throws {
        let oqa = try OpenQAServer.shared()
        let client = try OpenQAClient(baseURL: oqa.url)
        let e4 = await #expect(throws: TidemarkError.self) { try await client.job(id: 987_654_321) }
        #expect(e4.map { e in e.code == .notFound && e.message.contains(oqa.url) && e.message.contains("987654321") } == true, "\(String(describing: e4))")
        // A port nobody listens on.
        let closed = "http://127.0.0.1:\(try ServerProcess.freePort())"
        let e5 = await #expect(throws: TidemarkError.self) { try await OpenQAClient(baseURL: closed, timeout: .seconds(2)).workers() }
        #expect(e5.map { e in e.code == .unreachable && e.message.contains(closed) } == true, "\(String(describing: e5))")
        // Something that is not openQA: a static server answering JSON of another shape.
        let site = try StaticSite(files: [
            "api/v1/jobs": #"{"jobs":[{"id":1,"state":"done","result":"passed","t_finished":"yesterday"}]}"#,
            "api/v1/workers": #"{"workers":[{"id":1,"instance":1}]}"#,
        ])
        defer { site.stop() }
        let fake = try OpenQAClient(baseURL: site.url)
        let e6 = await #expect(throws: TidemarkError.self) { try await fake.jobs(OpenQAJobQuery(limit: 1)) }
        #expect(e6.map { e in e.code == .corrupt && e.message.contains(site.url) && e.message.contains("field jobs[0].t_finished") && e.message.contains("yesterday") } == true, "\(String(describing: e6))")
        let e7 = await #expect(throws: TidemarkError.self) { try await fake.workers() }
        #expect(e7.map { e in e.code == .corrupt && e.message.contains("field workers[0].host is missing") } == true, "\(String(describing: e7))")
        let e8 = await #expect(throws: TidemarkError.self) { try await fake.get("/api/v1/nothing") }
        #expect(e8.map { e in e.code == .toolFailed && e.message.contains("HTTP 404") && e.message.contains(site.url) } == true, "\(String(describing: e8))")
    }
}

/// `python3 -m http.server` over a directory of fixed answers: a web server that is not openQA.
final class StaticSite: Sendable {
    let url: String
    private let directory: TemporaryDirectory
    private let process: ChildProcess

    init(files: [String: String]) throws {
        directory = try TemporaryDirectory("static-site")
        for (path, text) in files {
            let full = directory.path + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: full))
        }
        let port = try ServerProcess.freePort()
        url = "http://127.0.0.1:\(port)"
        process = try ChildProcess.spawn("python3", ["-m", "http.server", "--bind", "127.0.0.1", "--directory", directory.path, String(port)])
        let deadline = ContinuousClock.now + .seconds(20)
        while (try? Subprocess.run("curl", ["-sS", "-o", "/dev/null", "-m", "2", url + "/"]))?.status != 0 {
            guard ContinuousClock.now < deadline, process.isRunning else {
                stop()
                throw TidemarkError(.toolFailed, "python3 -m http.server did not start on \(url)")
            }
            usleep(50_000)
        }
    }

    func stop() {
        process.signal(SIGKILL)
        process.wait()
        directory.remove()
    }
}
