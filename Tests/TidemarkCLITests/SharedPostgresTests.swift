import Foundation
import Synchronization
import Testing
import TidemarkCore
import TidemarkHosts
import TidemarkTestSupport

/// Two `tidemark server` processes on one real PostgreSQL, as behind a load balancer: agents
/// reporting to either of them, even the same observations to both, give one history — the same
/// answers from both servers and no observation twice.
@Suite(.serialized) struct SharedPostgresTests {
    @Test func twoServersOnOnePostgresGiveTheSameAnswersAndNeverDuplicate() throws {
        let dir = try TemporaryDirectory("two-servers")
        defer { dir.remove() }
        let url = try PostgresServer.createDatabase()
        let tidemark = try TidemarkExecutable(db: url)
        let admin = try tidemark.check(["token", "create", "--role", "admin"]).trimmed
        try FileSystem.write(admin, to: dir.path("admin.token"))
        let a = try ServerProcess(tidemark, db: url, log: dir.path("a.log")), b = try ServerProcess(tidemark, db: url, log: dir.path("b.log"))
        try a.start()
        try b.start()
        defer { a.stop(); b.stop() }

        // 6 hosts, 5 observations each, every observation sent to BOTH servers concurrently
        let builder = try RPMBuilder(directory: try dir.makeDirectory("build"))
        let rpms = try builder.buildMany(prefix: "shared", count: 12, version: "1.0")
        let root = try RPMRoot(path: dir.path("root"))
        try root.rpmInstall(Array(rpms.prefix(8)), nodeps: true)
        let list = try root.rpmQuery("%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}\\n")
        let group = DispatchGroup()
        let failures = Mutex<[String]>([])
        for host in 0..<6 {
            for step in 0..<5 {
                // each step drops one package from the list: a new state per step
                let lines = list.split(separator: "\n").dropLast(step).joined(separator: "\n")
                let file = dir.path("h\(host)-\(step).txt")
                try FileSystem.write(lines + "\n", to: file)
                for server in [a.url, b.url] {
                    group.enter()
                    DispatchQueue.global().async {
                        let r = try? Subprocess.run("curl", [
                            "-fsS", "-X", "POST", "-H", "Authorization: Bearer \(admin)", "-H", "Content-Type: text/plain",
                            "--data-binary", "@" + file, "\(server)/api/v1/import/rpm-qa?host=host\(host)&at=2025-01-21T10:0\(step):00Z",
                        ])
                        if r?.status != 0 { failures.withLock { $0.append(r?.stderrText ?? "did not run") } }
                        group.leave()
                    }
                }
            }
        }
        group.wait()
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        // the same through both HTTP servers
        for args in [["hosts", "--json"], ["history", "host3", "--json"], ["where", "shared-00001", "--at", "2025-01-21T10:02:30Z", "--json"]] {
            let ra = try tidemark.run(args + ["--server", a.url, "--token-file", dir.path("admin.token")], withDB: false)
            let rb = try tidemark.run(args + ["--server", b.url, "--token-file", dir.path("admin.token")], withDB: false)
            #expect(ra.status == 0 && ra.stdoutText == rb.stdoutText, "\(args): \(ra.stderrText)")
        }
        let hosts = try tidemark.json([HostSummary].self, ["hosts"])
        #expect(hosts.count == 6 && hosts.allSatisfy { $0.observations == 5 })
    }
}
