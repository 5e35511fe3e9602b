import Foundation
import Testing
import TidemarkCore
import TidemarkHosts
import TidemarkTestSupport

/// A remote host's rollback goes through its agent: the agent uploads what its zypp package cache
/// holds and the archive lacks, the operator asks the server for a rollback, and the agent picks
/// the job up with its next report, runs zypper from the server's archive and reports the result.
/// Server, agent and CLI are separate processes over loopback; the host is a real rpm root.
@Suite(.serialized) struct AgentRollbackTests {
    struct AgentReport: Decodable {
        var state: StateID
        var uploaded: Int
        var jobs: Int
        var error: String?
    }

    @Test func rollbackThroughTheAgentFromPackagesTheAgentUploaded() throws {
        let dir = try TemporaryDirectory("agent-rollback")
        let builder = try RPMBuilder(directory: try dir.makeDirectory("build"))
        let lib1 = try builder.build(RPMSpec(name: "perl-Mojo-IOLoop-ReadWriteProcess", version: "0.34", release: "1.1"))[0]
        let lib2 = try builder.build(RPMSpec(name: "perl-Mojo-IOLoop-ReadWriteProcess", version: "0.34", release: "1.2"))[0]
        let worker = try builder.build(RPMSpec(name: "openQA-worker", version: "5.1", requires: ["perl-Mojo-IOLoop-ReadWriteProcess"]))[0]
        let repo = try RPMRepository(path: try dir.makeDirectory("repo"), rpms: [lib1, worker])
        let root = try RPMRoot(path: dir.path("worker14"))
        // keeppackages: zypper leaves every file it installs in the host's package cache
        try root.addRepo(alias: "devel_openQA", url: repo.url, keepPackages: true)
        try root.install(["openQA-worker"])

        let db = dir.path("server.sqlite")
        let tm = try TidemarkExecutable(db: db)
        func token(_ args: [String], _ name: String) throws -> String {
            try FileSystem.write(try tm.check(["token", "create"] + args).trimmed + "\n", to: dir.path(name))
            return dir.path(name)
        }
        let admin = try token(["--role", "admin"], "admin.token"), host = try token(["--host", "worker14"], "worker14.token")
        let server = try ServerProcess(tm, db: db, log: dir.path("server.log"), arguments: ["--mirror-interval", "0"])
        try server.start()
        defer { server.stop() }
        func agentOnce() throws -> AgentReport {
            let r = try tm.run(["agent", "--once", "--json", "--server", server.url, "--token-file", host, "--root", root.path,
                                "--host", "worker14", "--spool", dir.path("spool")], withDB: false)
            guard r.status == 0 else { throw TidemarkError(.toolFailed, "agent: \(r.stderrText)") }
            return try JSONDecoder().decode(AgentReport.self, from: r.stdout)
        }
        Thread.sleep(forTimeInterval: 1.1)  // the install's second is in the past: it is history
        let good = try agentOnce()
        #expect(good.uploaded == 2 && good.error == nil, "the cached lib and worker were uploaded: \(good)")
        let before = Set(try root.rpmQA().map(\.package))

        // the broken build replaces the good one in the repository; the host updates (a second
        // later: observations are to the second, and one second holds one state)
        Thread.sleep(forTimeInterval: 1.1)
        try repo.remove([(lib1 as NSString).lastPathComponent], update: false)
        try repo.add([lib2])
        try root.refresh()
        try root.update()
        Thread.sleep(forTimeInterval: 1.1)
        let broken = try agentOnce()
        #expect(broken.state != good.state && broken.uploaded == 1)

        // the operator asks for the rollback and waits; the agent runs it with its next report
        let out = dir.path("rollback.out")
        let cli = try ChildProcess.spawn(
            tm.path, ["rollback", "worker14", "--to", "state:" + good.state.hex, "--server", server.url, "--token-file", admin, "--wait", "120"],
            stdout: .file(out, append: false), stderr: .file(out, append: true))
        var ran = 0
        for _ in 0..<100 where ran == 0 {
            Thread.sleep(forTimeInterval: 0.3)
            ran = try agentOnce().jobs
        }
        #expect(ran == 1)
        let status = cli.wait()
        let printed = String(decoding: try FileSystem.read(out), as: UTF8.self)
        #expect(status == 0, "\(printed)")
        #expect(printed.contains("downgrade") && printed.contains("succeeded"), "\(printed)")
        #expect(Set(try root.rpmQA().map(\.package)) == before, "rpm -qa: exactly the good state's binaries again")
        let shown = try tm.json(ShowResult.self, ["show", "worker14", "--server", server.url, "--token-file", admin])
        #expect(shown.state.state == good.state, "and the server knows it")
    }
}
