import Foundation
import Testing
import TidemarkCore
import TidemarkHosts
import TidemarkTestSupport

/// Issue 6's incident replayed end to end: 12 worker roots changed by real zypper, 15 packages
/// updated on them in a staggered way over hours, one build broken (its installed file makes the
/// workers' health command fail), failure signals from a real openQA web UI, then `suspects`,
/// `bisect` and `rollback` through the real `tidemark` binary.
@Suite(.serialized) struct CulpritIncidentTests {
    static let broken = "perl-Mojo-IOLoop-ReadWriteProcess"
    static let others = [
        "os-autoinst", "openQA-worker", "openQA-client", "perl-Mojolicious", "perl-DBD-Pg", "qemu-x86", "ffmpeg-4", "tesseract-ocr",
        "perl-YAML-PP", "xterm", "python3-pyzmq", "libvirt-client", "perl-IPC-Run", "opencv",
    ]
    static let reason = "setup failure: isotovideo can not be started"
    static let health = #"test ! -e "$TIDEMARK_ROOT\#(PackageLab.marker(broken, "2.0"))""#

    struct Report: Decodable {
        struct Suspect: Decodable {
            struct Fit: Decodable { var host: String; var lag: Int64 }
            struct Contradiction: Decodable { var host: String }
            var rank: Int; var source: String; var score: Double; var fits: [Fit]; var missing: [String]; var contradictions: [Contradiction]; var tiedWith: [String]
        }
        struct Onset: Decodable { var host: String }
        struct Suggestion: Decodable { var host: String; var command: String; var sources: [String] }
        var failing: [Onset]; var suspects: [Suspect]; var tie: [String]; var verdict: String; var bisect: Suggestion?
    }

    static func iso(_ t: Int64) -> String { Timestamp(seconds: t).iso8601 }

    @Test func theBrokenPackageIsRankedFirstProvenByBisectionAndRolledBack() throws {
        let openQA = try OpenQAServer.shared()
        let lab = try PackageLab("culprit-incident", names: [Self.broken] + Self.others)
        let tm = lab.tm
        // Everything happened a day ago, so that jobs other tests finish in the shared openQA
        // now fall outside the period asked about.
        let now = Int64(Date().timeIntervalSince1970)
        let t0 = now / 3600 * 3600 - 30 * 3600
        func hour(_ h: Double, _ minutes: Int = 0) -> Int64 { t0 + Int64(h * 3600) + Int64(minutes * 60) }
        let hosts = (1...12).map { "worker\($0)" }

        // 12 workers with every package at 1.0, then three update rounds (hours 2, 4, 6): each
        // worker takes a third of the other updates each round; workers 1–8 take the broken build
        // in round i % 3, workers 9–12 never do.
        let first = try lab.root("worker1")
        var roots: [String: RPMRoot] = ["worker1": first]
        for h in hosts.dropFirst() { roots[h] = try lab.copy(first, as: h) }
        for h in hosts { try tm.check(["snapshot", "--root", roots[h]!.path, "--host", h, "--at", Self.iso(hour(0))]) }
        var brokenAt: [String: Int64] = [:]
        for round in 0..<3 {
            for (i, h) in zip(1..., hosts) {
                var names = Self.others.enumerated().filter { ($0.offset + i + round) % 3 == 0 }.map(\.element)
                if i <= 8, i % 3 == round {
                    names.append(Self.broken)
                    brokenAt[h] = hour(Double(2 + 2 * round))
                }
                try roots[h]!.install(names.map { "\($0)-2.0" })
                try tm.check(["snapshot", "--root", roots[h]!.path, "--host", h, "--at", Self.iso(hour(Double(2 + 2 * round), i))])
            }
        }
        #expect(brokenAt.count == 8)

        // openQA: every worker ran a job at hours 1, 3, 5 and 7; a job on a worker with the broken
        // build is incomplete with the incident's reason. One unrelated test failure on worker10.
        var workerIDs: [String: Int64] = [:]
        for h in hosts { workerIDs[h] = try openQA.registerWorker(host: h, instance: 1) }
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        var assignments: [(job: Int64, worker: Int64, finished: Int64)] = []
        for (i, h) in zip(1..., hosts) {
            for jobHour in [1.0, 3, 5, 7] {
                let finished = hour(jobHour, i)
                let failing = brokenAt[h].map { $0 < finished } ?? false
                let job = try openQA.createJob(["TEST": "incident-\(tag)", "BUILD": "\(tag)-\(Int(jobHour))", "WORKER": h])
                try openQA.setDone(job: job, result: failing ? "incomplete" : "passed", reason: failing ? Self.reason : nil)
                assignments.append((job, workerIDs[h]!, finished))
            }
        }
        let noise = try openQA.createJob(["TEST": "needles-\(tag)", "BUILD": "\(tag)-noise"])
        try openQA.setDone(job: noise, result: "failed", reason: "test failed: needle not found")
        assignments.append((noise, workerIDs["worker10"]!, hour(5, 30)))
        for a in assignments { try openQA.assign(job: a.job, worker: a.worker, started: Timestamp(seconds: a.finished - 600), finished: Timestamp(seconds: a.finished)) }

        // The server imports openQA's jobs on a schedule; the CLI's import of the same jobs then
        // stores nothing twice.
        let adminToken = lab.dir.path("admin.token")
        try FileSystem.write(try tm.check(["token", "create", "--role", "admin"]).trimmed + "\n", to: adminToken)
        let server = try ServerProcess(tm, db: tm.db, log: lab.dir.path("server.log"), archive: lab.dir.path("archive"), arguments: [
            "--mirror-interval", "0", "--rollout-interval", "0", "--openqa-signals", openQA.url, "--openqa-reason", "isotovideo can not be started",
            "--signal-interval", "2s", "--openqa-apikey", openQA.apiKey, "--openqa-apisecret", openQA.apiSecret,
        ])
        try server.start()
        defer { _ = server.stop() }
        let remote = ["--server", server.url, "--token-file", adminToken]
        let period = ["--since", Self.iso(hour(0)), "--until", Self.iso(hour(8))]
        struct SignalRow: Decodable { var host: String; var status: String }
        var imported: [SignalRow] = []
        for _ in 0..<60 {
            imported = try JSONDecoder().decode([SignalRow].self, from: Data(try tm.check(["signal", "list", "--json"] + period + remote).utf8))
            if imported.count == 48 { break }
            Thread.sleep(forTimeInterval: 0.5)
        }
        #expect(imported.count == 48, "12 workers × 4 jobs; the needle failure is another reason")
        #expect(imported.filter { $0.status == "failing" }.count == [3.0, 5, 7].map { jh in brokenAt.values.filter { $0 < hour(jh) }.count }.reduce(0, +))
        let cli = try tm.check(["signal", "import", "openqa", "--url", openQA.url, "--apikey", openQA.apiKey, "--apisecret", openQA.apiSecret,
                                "--reason", "isotovideo can not be started", "--since", Self.iso(hour(0))])
        // (other tests' jobs in the shared openQA finish now, outside the period, and may be new)
        let already = cli.split(separator: " ").firstIndex(of: "already").map { Int(cli.split(separator: " ")[$0 - 1]) ?? 0 } ?? 0
        #expect(already >= 48, "\(cli)")
        let after = try JSONDecoder().decode([SignalRow].self, from: Data(try tm.check(["signal", "list", "--json"] + period).utf8))
        #expect(after.count == 48, "the period's signals are stored once")

        // suspects: the broken build first, fitting all 8 failing workers, contradicted by none
        let at = ["--at", Self.iso(hour(9))]
        let report = try JSONDecoder().decode(Report.self, from: Data(try tm.check(["suspects", "--reason", "isotovideo", "--json"] + at).utf8))
        #expect(report.failing.map(\.host).sorted() == brokenAt.keys.sorted())
        let top = try #require(report.suspects.first)
        #expect(top.source == Self.broken, "\(report.suspects.map { "\($0.source) \($0.score)" })")
        #expect(top.score == 1.0 && top.fits.count == 8 && top.missing.isEmpty && top.contradictions.isEmpty && top.tiedWith.isEmpty)
        #expect(top.fits.allSatisfy { $0.lag > 0 && $0.lag < 2 * 3600 }, "each failure came within two hours of the update")
        #expect(report.suspects.dropFirst().allSatisfy { $0.score < 1.0 && !$0.contradictions.isEmpty }, "every other update was healthy somewhere")
        #expect(report.verdict.contains("explains every signal"), "\(report.verdict)")
        let table = try tm.check(["suspects", "--reason", "isotovideo"] + at)
        #expect(table.contains("1     \(Self.broken)"), "\(table)")
        // the server answers exactly what the local store answers
        #expect(try tm.check(["suspects", "--reason", "isotovideo", "--json"] + at + remote) == (try tm.check(["suspects", "--reason", "isotovideo", "--json"] + at)))

        // bisect proves it on a copy of worker1: 15 groups between its first and last states
        let scratch = try lab.copy(roots["worker1"]!, as: "bisect-worker1")
        let b = try tm.run(["bisect", "start", "--good", "worker1@" + Self.iso(hour(0)), "--bad", "worker1@" + Self.iso(hour(9)), "--root", scratch.path, "--test", Self.health, "--json"] + lab.archive)
        #expect(b.status == 0, "\(b.stderrText)")
        let v = try JSONDecoder().decode(BisectTests.View.self, from: Data(b.stdoutText.utf8))
        #expect(v.session.groups.count == 15)
        #expect(v.culprits.map(\.source) == [Self.broken])
        #expect(v.session.report!.runs <= BisectSearch.bound(groups: 15), "\(v.session.report!.runs) runs, bound \(BisectSearch.bound(groups: 15))")

        // rollback: every failing worker back to its state before the broken build; healthy again
        for h in brokenAt.keys.sorted() {
            let r = try tm.run(["rollback", h, "--to", "\(h)@" + Self.iso(brokenAt[h]! - 60), "--root", roots[h]!.path] + lab.archive)
            #expect(r.status == 0, "\(h): \(r.stderrText)")
            let check = try Subprocess.run("/bin/sh", ["-c", Self.health], environment: ["TIDEMARK_ROOT": roots[h]!.path])
            #expect(check.status == 0, "\(h) passes its health command again")
        }
        let whereNow = try tm.check(["where", Self.broken])
        #expect(!whereNow.contains("2.0-1.1"), "no worker runs the broken build:\n\(whereNow)")
    }

    /// Everything changed at once on every failing host: the signals cannot separate the changes,
    /// `suspects` says so honestly and prints the bisect command, which then separates them.
    @Test func changesThatArrivedTogetherTieAndTheSuggestedBisectionSeparatesThem() throws {
        let names = ["pkg-a", "pkg-b", "pkg-c", "pkg-d", "pkg-e"]
        let lab = try PackageLab("culprit-tie", names: names)
        let tm = lab.tm
        let t0 = "2026-11-20T08:00:00Z", t1 = "2026-11-20T09:00:00Z"
        let w1 = try lab.root("w1")
        var roots = ["w1": w1]
        for h in ["w2", "w3", "w4"] { roots[h] = try lab.copy(w1, as: h) }
        for (h, root) in roots { try tm.check(["snapshot", "--root", root.path, "--host", h, "--at", t0]) }
        for h in ["w1", "w2", "w3"] {
            try roots[h]!.install(names.map { "\($0)-2.0" })
            try tm.check(["snapshot", "--root", roots[h]!.path, "--host", h, "--at", t1])
            try tm.check(["signal", "add", "--host", h, "--at", "2026-11-20T09:30:00Z", "--failing", "--reason", Self.reason])
        }
        try tm.check(["signal", "add", "--host", "w4", "--at", "2026-11-20T09:30:00Z", "--healthy"])
        let test = PackageLab.test(broken: [("pkg-d", "2.0")])
        let report = try JSONDecoder().decode(Report.self, from: Data(try tm.check(["suspects", "--at", "2026-11-20T10:00:00Z", "--test", test, "--json"]).utf8))
        #expect(Set(report.tie) == Set(names))
        #expect(report.suspects.allSatisfy { $0.score == 1.0 && $0.tiedWith.count == 4 })
        #expect(report.verdict.contains("5 changes fit the signals equally"), "\(report.verdict)")
        let suggestion = try #require(report.bisect)
        #expect(suggestion.command.hasPrefix("tidemark bisect start --good w1@2026-11-20T08:00:00Z --bad w1@2026-11-20T09:30:00Z --host w1 --test "))
        let text = try tm.check(["suspects", "--at", "2026-11-20T10:00:00Z", "--test", test])
        #expect(text.contains("separate them: " + suggestion.command), "\(text)")

        // run the suggested command as printed, on w1's root instead of on w1 itself
        let command = suggestion.command.replacingOccurrences(of: "tidemark ", with: "'\(tm.path)' ", options: .anchored)
            .replacingOccurrences(of: "--host w1", with: "--root '\(w1.path)'")
            + " --db '\(tm.db)' --archive '\(lab.dir.path("archive"))'"
        let r = try Subprocess.run("/bin/sh", ["-c", command])
        #expect(r.status == 0, "\(r.stderrText)")
        #expect(r.stdoutText.contains("culprit: pkg-d: pkg-d 1.0-1.1 → 2.0-1.1"), "\(r.stdoutText)")
    }
}
