import Foundation
import Testing
import TidemarkCore
import TidemarkHosts
import TidemarkTestSupport

/// Agents and server as separate processes over loopback, with a real rpm root changed by real
/// zypper between agent runs: what the server answers must equal `rpm -qa`, the CLI must print the
/// same against the server as against the database, and no observation is ever lost — not while
/// the server is down, not when it is killed with SIGKILL in the middle of a stream.
@Suite(.serialized) struct AgentServerTests {
    struct Fleet {
        let dir: TemporaryDirectory
        let repo: RPMRepository
        let root: RPMRoot
        let tidemark: TidemarkExecutable
        let server: ServerProcess
        let admin: String, reader: String, worker: String

        /// `tidemark agent --once` as the host would run it from cron.
        func agentOnce(host: String = "worker14", token: String? = nil) throws -> AgentReport {
            let r = try tidemark.run(["agent", "--once", "--json", "--server", server.url, "--token-file", token ?? worker,
                                      "--root", root.path, "--host", host, "--spool", dir.path("spool-\(host)")], withDB: false)
            guard r.status == 0 else { throw TidemarkError(.toolFailed, "agent failed: \(r.stderrText)") }
            return try JSONDecoder().decode(AgentReport.self, from: r.stdout)
        }

        /// A read command against the server, and the same against the server's database file.
        func bothWays(_ args: [String]) throws -> (remote: String, local: String) {
            let remote = try tidemark.run(args + ["--server", server.url, "--token-file", reader], withDB: false)
            let local = try tidemark.run(args)
            guard remote.status == 0, local.status == 0 else {
                throw TidemarkError(.toolFailed, "\(args): remote \(remote.stderrText) local \(local.stderrText)")
            }
            return (remote.stdoutText, local.stdoutText)
        }
    }

    struct AgentReport: Decodable {
        var state: StateID
        var changed: Bool
        var backfilled: Int
        var delivered: Int
        var pending: Int
        var error: String?
    }

    func fleet(startServer: Bool = true) throws -> Fleet {
        let dir = try TemporaryDirectory("agent-server")
        let builder = try RPMBuilder(directory: try dir.makeDirectory("build"))
        var rpms: [String] = []
        for release in ["1.1", "1.2", "1.3"] {
            rpms += try builder.build(RPMSpec(name: "perl-Mojo-IOLoop-ReadWriteProcess", version: "0.34", release: release))
        }
        rpms += try builder.build(RPMSpec(name: "openQA-worker", version: "5.1", requires: ["perl-Mojo-IOLoop-ReadWriteProcess"]))
        let repo = try RPMRepository(path: try dir.makeDirectory("repo"), rpms: rpms)
        let root = try RPMRoot(path: dir.path("worker14"))
        try root.addRepo(alias: "devel_openQA", url: "file://" + repo.path)
        try root.install(["openQA-worker", "perl-Mojo-IOLoop-ReadWriteProcess=0.34-1.1"])
        let db = dir.path("server.sqlite")
        let tidemark = try TidemarkExecutable(db: db)
        func token(_ args: [String], _ name: String) throws -> String {
            let t = try tidemark.check(["token", "create"] + args).trimmed
            try FileSystem.write(t + "\n", to: dir.path(name))
            return dir.path(name)
        }
        let admin = try token(["--role", "admin"], "admin.token")
        let reader = try token(["--role", "reader"], "reader.token")
        let worker = try token(["--host", "worker14"], "worker14.token")
        let server = try ServerProcess(tidemark, db: db, log: dir.path("server.log"))
        if startServer { try server.start() }
        return Fleet(dir: dir, repo: repo, root: root, tidemark: tidemark, server: server, admin: admin, reader: reader, worker: worker)
    }

    @Test func agentsReportZypperStepsAndTheServerAnswersLikeTheDatabase() throws {
        let f = try fleet()
        defer { f.server.stop() }
        Thread.sleep(forTimeInterval: 1.1)  // the install's second is in the past: it is history
        let first = try f.agentOnce()
        #expect(first.changed && first.pending == 0 && first.error == nil)
        #expect(first.backfilled >= 1)  // the zypper install before the agent existed

        Thread.sleep(forTimeInterval: 1.1)
        try f.root.dup()
        let second = try f.agentOnce()
        #expect(second.changed && second.delivered == 1 && second.state != first.state)
        Thread.sleep(forTimeInterval: 1.1)
        let beat = try f.agentOnce()
        #expect(!beat.changed && beat.delivered == 1 && beat.state == second.state)

        // the server's answer is the host's real rpm database
        let shown = try JSONDecoder().decode(ShowResult.self, from: Data(try f.bothWays(["show", "worker14", "--json"]).remote.utf8))
        #expect(Set(shown.packages.map { "\($0.name)-\($0.evr).\($0.arch) \($0.digest ?? "")" })
                == Set(try f.root.rpmQA().map { "\($0.package.nevra) \($0.package.digest ?? "")" }))
        // and every read command prints the same through the server as from the database
        // Times fixed once: a default of "now" differs when a second ticks between the two runs.
        let now = Timestamp(seconds: Int64(Date().timeIntervalSince1970))
        for args in [["hosts"], ["hosts", "--json"], ["show", "worker14"], ["history", "worker14", "--json"], ["history", "worker14"],
                     ["where", "perl-Mojo-IOLoop-ReadWriteProcess", "--json", "--at", now.iso8601], ["drift"],
                     ["diff", "worker14@\(Timestamp(seconds: now.seconds - 2).iso8601)", "worker14", "--json"]] {
            let r = try f.bothWays(args)
            #expect(r.remote == r.local, "tidemark \(args.joined(separator: " "))")
        }
        let history = try JSONDecoder().decode(HistoryResult.self, from: Data(try f.bothWays(["history", "worker14", "--json"]).local.utf8))
        #expect(history.entries.last?.observations == 2)  // the heartbeat counted, no new state

        // a host token reports only its own host; the refusal is kept in the spool, not lost
        let other = try f.agentOnce(host: "worker15", token: f.worker)
        #expect(other.error != nil && other.pending == 1)
    }

    /// A host whose update touched one of its eight packages sends that package, not eight; a
    /// server that lost the base (its database replaced) gets the whole state instead.
    @Test func aChangedStateGoesAsWhatChanged() throws {
        let lab = try PackageLab("agent-delta", names: ["pkg-a", "pkg-b", "pkg-c", "pkg-d", "pkg-e", "pkg-f", "pkg-g", "pkg-h"])
        let root = try lab.root("w1")
        let token = lab.dir.path("w1.token")
        try FileSystem.write(try lab.tm.check(["token", "create", "--host", "w1"]).trimmed + "\n", to: token)
        var server = try ServerProcess(lab.tm, db: lab.tm.db, log: lab.dir.path("server.log"), arguments: ["--mirror-interval", "0"])
        try server.start()
        defer { _ = server.stop() }
        func agent() throws {
            let r = try lab.tm.run(["agent", "--once", "--server", server.url, "--token-file", token, "--root", root.path, "--host", "w1", "--spool", lab.dir.path("spool")], withDB: false)
            #expect(r.status == 0, "\(r.stderrText)")
        }
        func posts(_ form: String) throws -> Int {
            let m = try Subprocess.check("curl", ["-fsS", server.url + "/metrics"]).stdoutText
            return m.split(separator: "\n").first { $0.hasPrefix("tidemark_observation_posts_total{form=\"\(form)\"}") }.flatMap { Int($0.split(separator: " ").last!) } ?? -1
        }
        try agent()
        // the state, and the zypper install before it when it fell into an earlier second (backfill)
        let fulls = try posts("full")
        #expect(try fulls >= 1 && posts("delta") == 0)
        Thread.sleep(forTimeInterval: 1.1)
        try root.install(["pkg-c-2.0"])
        try agent()
        #expect(try posts("delta") == 1 && posts("full") == fulls, "the update went as a delta")
        let shown = try JSONDecoder().decode(ShowResult.self, from: Data(try lab.tm.check(["show", "w1", "--json"]).utf8))
        #expect(Set(shown.packages.map { "\($0.name)-\($0.evr).\($0.arch) \($0.digest ?? "")" }) == Set(try root.rpmQA().map { "\($0.package.nevra) \($0.package.digest ?? "")" }))

        // a new server on an empty database: the base is unknown, so the agent sends the whole state
        _ = server.stop()
        server = try ServerProcess(lab.tm, db: lab.dir.path("fresh.sqlite"), log: lab.dir.path("server2.log"), archive: lab.dir.path("archive2"), arguments: ["--mirror-interval", "0"])
        try FileSystem.write(try lab.tm.run(["token", "create", "--host", "w1", "--db", lab.dir.path("fresh.sqlite")], withDB: false).stdoutText.trimmed + "\n", to: token)
        try server.start()
        Thread.sleep(forTimeInterval: 1.1)
        try root.install(["pkg-d-2.0"])
        try agent()
        #expect(try posts("full") == 1 && posts("delta") == 0, "one full state after the refused delta")
        let fresh = try lab.tm.run(["show", "w1", "--json", "--db", lab.dir.path("fresh.sqlite")], withDB: false)
        let now = try JSONDecoder().decode(ShowResult.self, from: Data(fresh.stdoutText.utf8))
        #expect(now.packages.count == 8 && now.packages.contains { $0.name == "pkg-d" && $0.version == "2.0" })
    }

    @Test func anAgentStartedWhileTheServerIsDownDeliversEverythingLaterInOrder() throws {
        let f = try fleet(startServer: false)
        defer { f.server.stop() }
        var states: [StateID] = []
        for (i, step) in [["dup"], ["install", "--oldpackage", "perl-Mojo-IOLoop-ReadWriteProcess=0.34-1.2"], ["remove", "openQA-worker"]].enumerated() {
            Thread.sleep(forTimeInterval: 1.1)
            try f.root.zypper(step)
            let r = try f.agentOnce()
            #expect(r.pending == i + 1 && r.delivered == 0 && r.error != nil)
            states.append(r.state)
        }
        try f.server.start()
        Thread.sleep(forTimeInterval: 1.1)
        let r = try f.agentOnce()
        #expect(r.pending == 0 && r.delivered == 4 && r.error == nil, "\(r)")
        let history = try JSONDecoder().decode(HistoryResult.self, from: Data(try f.bothWays(["history", "worker14", "--json"]).remote.utf8))
        let agentEntries = history.entries.filter { $0.source == .agent }
        #expect(agentEntries.map(\.state) == states)
        #expect(zip(agentEntries, agentEntries.dropFirst()).allSatisfy { $0.at < $1.at })
    }

    @Test func killingTheServerMidStreamLosesNothingItAcknowledged() throws {
        let f = try fleet()
        let agentLog = f.dir.path("agent.log")
        FileManager.default.createFile(atPath: agentLog, contents: nil)
        let agent = try ChildProcess.spawn(
            f.tidemark.path, ["agent", "--server", f.server.url, "--token-file", f.worker, "--root", f.root.path, "--host", "worker14",
                              "--spool", f.dir.path("spool-worker14"), "--interval", "1s"],
            stdout: .file(agentLog, append: true), stderr: .file(agentLog, append: true))
        Thread.sleep(forTimeInterval: 3.5)
        f.server.kill9()                       // mid-stream: no chance to finish anything
        try f.root.dup()                       // the host changes while the server is gone
        Thread.sleep(forTimeInterval: 3.0)
        try f.server.start()                   // same database, after a crash
        Thread.sleep(forTimeInterval: 4.0)
        agent.signal(SIGTERM)
        agent.wait()
        Thread.sleep(forTimeInterval: 1.1)     // a later second than the daemon's last cycle
        let flush = try f.agentOnce()          // whatever was still spooled goes out now
        #expect(flush.pending == 0 && flush.error == nil)

        // every cycle the agent ran is on the server exactly once
        let cycles = String(decoding: FileManager.default.contents(atPath: agentLog) ?? Data(), as: UTF8.self)
            .split(separator: "\n").filter { $0.contains("state ") && $0.contains("pending") }.count + 1
        let stored = try Subprocess.check("sqlite3", [f.tidemark.db, "SELECT count(*), count(DISTINCT at) FROM observations WHERE source = 'agent'"]).stdoutText.trimmed
        #expect(stored == "\(cycles)|\(cycles)", "agent cycles \(cycles), stored (count|distinct times) \(stored)")
        let history = try JSONDecoder().decode(HistoryResult.self, from: Data(try f.bothWays(["history", "worker14", "--json"]).local.utf8))
        #expect(history.entries.last?.state == flush.state)
        // the store is consistent after the crash
        let check = try Subprocess.check("sqlite3", [f.tidemark.db, "PRAGMA integrity_check"]).stdoutText.trimmed
        #expect(check == "ok")
        let shown = try JSONDecoder().decode(ShowResult.self, from: Data(try f.bothWays(["show", "worker14", "--json"]).remote.utf8))
        #expect(Set(shown.packages.map { "\($0.name)-\($0.evr).\($0.arch)" }) == Set(try f.root.rpmQA().map(\.package.nevra)))
        f.server.stop()
    }
}
