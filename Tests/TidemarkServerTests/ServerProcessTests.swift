import Foundation
import Testing
import TidemarkCore
import TidemarkHosts
import TidemarkTestSupport

/// The real `tidemark server` executable on a free loopback port, spoken to with curl: the
/// command line, the socket, token commands and graceful shutdown as an operator meets them.
@Suite struct ServerProcessTests {
    @Test func realServerTokensIngestReadAndGracefulShutdown() throws {
        let tmp = try TemporaryDirectory("server-process")
        defer { tmp.remove() }
        let cli = try TidemarkExecutable(db: tmp.path("tidemark.sqlite"))
        let admin = try cli.check(["token", "create", "--role", "admin", "--note", "first admin"]).trimmed
        #expect(admin.hasPrefix("tmk_"))
        let agentToken = try cli.check(["token", "create", "--host", "worker1"]).trimmed
        let bad = try cli.run(["token", "create", "--role", "reader", "--host", "worker1"])
        #expect(bad.status != 0)
        let list = try cli.check(["token", "list", "--json"])
        #expect(!list.contains(admin) && list.contains("\"first admin\""))

        let server = try ServerProcess(cli, db: cli.db, log: tmp.path("server.log"))
        try server.start()
        defer { server.kill9() }

        func curl(_ args: [String]) throws -> (status: Int, body: String) {
            let r = try Subprocess.run("curl", ["-sS", "-m", "30", "-o", "/dev/stdout", "-w", "\n%{http_code}"] + args)
            let text = r.stdoutText
            let cut = text.lastIndex(of: "\n")!
            return (Int(text[text.index(after: cut)...].trimmed) ?? -1, String(text[..<cut]))
        }

        let o = Fleet.observation("worker1", "2025-01-21T10:00:00Z", Fleet.base)
        try FileSystem.write(Fleet.payload(o, full: true), to: tmp.path("full.json"))
        let posted = try curl(["-H", "Authorization: Bearer \(agentToken)", "-H", "Content-Type: application/json", "--data-binary", "@" + tmp.path("full.json"), server.url + "/api/v1/observations"])
        #expect(posted.status == 201, "\(posted.body)")
        #expect(posted.body.contains("\"recorded-new-state\""))
        let unauthorized = try curl([server.url + "/api/v1/hosts"])
        #expect(unauthorized.status == 401 && unauthorized.body.contains("\"unauthorized\""))
        let hosts = try curl(["-H", "Authorization: Bearer \(admin)", server.url + "/api/v1/hosts"])
        #expect(hosts.status == 200)
        #expect(hosts.body == (try cli.check(["hosts", "--json"])))
        let metrics = try curl([server.url + "/metrics"])
        #expect(metrics.body.contains("tidemark_observations_ingested_total{outcome=\"recorded-new-state\"} 1"))

        // The CLI's --server mode reads through the API and prints the same as locally.
        let remote = try Subprocess.run(cli.path, ["show", "worker1", "--json", "--server", server.url], environment: ProcessInfo.processInfo.environment.merging(["TIDEMARK_TOKEN": admin]) { $1 })
        #expect(remote.status == 0, "tidemark show --server: \(remote.stderrText)")
        #expect(remote.stdoutText == (try cli.check(["show", "worker1", "--json"])))

        // An upload in flight when SIGTERM arrives still completes, then the server exits 0.
        let big = Fleet.observation("worker1", "2025-01-21T11:00:00Z", (0..<3000).map { Fleet.package("pkg\($0)", "1.\($0)") })
        try FileSystem.write(Fleet.payload(big, full: true), to: tmp.path("big.json"))
        let size = (try FileSystem.read(tmp.path("big.json"))).count
        // About 2.5 s of upload at this rate.
        let upload = try ChildProcess.spawn(
            "curl", ["-sS", "-m", "60", "--limit-rate", "\(size / 5 * 2)", "-o", tmp.path("upload.out"), "-w", "%{http_code}",
                     "-H", "Authorization: Bearer \(agentToken)", "-H", "Content-Type: application/json",
                     "--data-binary", "@" + tmp.path("big.json"), server.url + "/api/v1/observations"],
            stdout: .file(tmp.path("upload.code"), append: false))
        Thread.sleep(forTimeInterval: 1.0)
        let status = server.stop()
        upload.wait()
        let code = String(decoding: try FileSystem.read(tmp.path("upload.code")), as: UTF8.self)
        #expect(status == 0, "server exit status \(status): \(String(decoding: (try? FileSystem.read(tmp.path("server.log"))) ?? [], as: UTF8.self).suffix(2000))")
        #expect(code == "201", "in-flight upload answered \(code): \(String(decoding: (try? FileSystem.read(tmp.path("upload.out"))) ?? [], as: UTF8.self))")
        let log = String(decoding: try FileSystem.read(tmp.path("server.log")), as: UTF8.self)
        #expect(log.contains("route=/api/v1/observations") && log.contains("status=201") && log.contains("token_id="))
        #expect(!log.contains(admin) && !log.contains(agentToken))
        #expect(try cli.check(["history", "worker1", "--json"]).contains("2025-01-21T11:00:00Z"))
    }

    /// A body that stops arriving is answered 408 with the API's JSON error once
    /// `--request-timeout` has passed, the connection is closed, nothing is stored, and the
    /// server goes on serving.
    @Test func aStalledUploadIsAnswered408AndNothingIsStored() throws {
        let tmp = try TemporaryDirectory("server-request-timeout")
        defer { tmp.remove() }
        let cli = try TidemarkExecutable(db: tmp.path("tidemark.sqlite"))
        let admin = try cli.check(["token", "create", "--role", "admin"]).trimmed
        let server = try ServerProcess(cli, db: cli.db, log: tmp.path("server.log"), arguments: ["--request-timeout", "1"])
        try server.start()
        defer { server.kill9() }

        let body = Fleet.payload(Fleet.observation("worker1", "2025-01-21T10:00:00Z", Fleet.base), full: true)
        let head = "POST /api/v1/observations HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(admin)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
        let answer = try server.rawExchange(Array(head.utf8) + Array(body.utf8.prefix(body.utf8.count / 2)))
        #expect(answer.hasPrefix("HTTP/1.1 408"), "\(answer)")
        #expect(answer.lowercased().contains("connection: close"), "\(answer)")
        #expect(answer.contains("\"request_timeout\"") && answer.contains("--request-timeout"), "\(answer)")
        #expect(try cli.check(["hosts", "--json"]).filter { !$0.isWhitespace } == "[]")

        // The whole request, sent at once, is answered as usual.
        let whole = try server.rawExchange(Array((head.replacingOccurrences(of: "Host:", with: "Connection: close\r\nHost:") + body).utf8))
        #expect(whole.hasPrefix("HTTP/1.1 201"), "\(whole)")
        #expect(try cli.check(["hosts", "--json"]).contains("\"worker1\""))
        let log = String(decoding: try FileSystem.read(tmp.path("server.log")), as: UTF8.self)
        #expect(log.contains("status=408") && log.contains("error_code=request_timeout"), "\(log.suffix(2000))")
    }
}
