import Foundation
import Testing
import TidemarkCore
import TidemarkHosts
import TidemarkTestSupport

/// The real `tidemark server` serving its archive to real zypper over HTTP, with the token in
/// the baseurl as an operator configures it, and mirroring the fleet's repositories on its own.
@Suite struct ArchiveProcessTests {
    /// `curl -sS` against the server: status and body (headers too with `-D -`).
    static func curl(_ args: [String]) throws -> (status: Int, body: String) {
        let r = try Subprocess.run("curl", ["-sS", "-m", "60", "-o", "/dev/stdout", "-w", "\n%{http_code}"] + args)
        let text = r.stdoutText
        guard let cut = text.lastIndex(of: "\n") else { return (-1, text + r.stderrText) }
        return (Int(text[text.index(after: cut)...].trimmed) ?? -1, String(text[..<cut]))
    }

    static func token(_ cli: TidemarkExecutable, _ args: [String]) throws -> String {
        try cli.check(["token", "create"] + args).trimmed
    }

    @Test func zypperInstallsExactlyARecordedStateFromItsRepositoryAndEverythingFromTheAllRepository() throws {
        let tmp = try TemporaryDirectory("archive-zypper")
        defer { tmp.remove() }
        let b = try RPMBuilder(directory: try tmp.makeDirectory("build"))
        let alpha1 = try b.build(RPMSpec(name: "alpha", version: "1.0", files: [PackageFile("/usr/share/alpha/version", contents: "1.0\n")]))[0]
        let alpha2 = try b.build(RPMSpec(name: "alpha", version: "2.0", files: [PackageFile("/usr/share/alpha/version", contents: "2.0\n")]))[0]
        let beta1 = try b.build(RPMSpec(name: "beta", version: "1.0", requires: ["alpha >= 1.0"], files: [PackageFile("/usr/share/beta/readme", contents: "beta\n")]))[0]
        let gamma = try b.build(RPMSpec(name: "gamma", version: "3.1", release: "7", arch: "x86_64", files: [PackageFile("/usr/lib/gamma/data", contents: "gamma\n")]))[0]

        // The host: alpha 1.0 and beta, installed with rpm; its state recorded through the API.
        let host = try RPMRoot(path: tmp.path("worker1"))
        try host.rpmInstall([alpha1, beta1])
        let observation = try HostCollector.collect(root: host.path).observation(host: "worker1", at: Timestamp(seconds: Int64(Date().timeIntervalSince1970)), source: .agent)
        try FileSystem.write(Fleet.payload(observation, full: true), to: tmp.path("observation.json"))

        let cli = try TidemarkExecutable(db: tmp.path("tidemark.sqlite"))
        let admin = try Self.token(cli, ["--role", "admin"]), reader = try Self.token(cli, ["--role", "reader"]), agent = try Self.token(cli, ["--host", "worker1"])
        let server = try ServerProcess(cli, db: cli.db, log: tmp.path("server.log"), archive: tmp.path("archive"), arguments: ["--mirror-interval", "0"])
        try server.start()
        defer { server.kill9() }

        let posted = try Self.curl(["-H", "Authorization: Bearer \(agent)", "-H", "Content-Type: application/json", "--data-binary", "@" + tmp.path("observation.json"), server.url + "/api/v1/observations"])
        #expect(posted.status == 201, "\(posted.body)")
        for (i, rpm) in [alpha1, alpha2, beta1, gamma].enumerated() {
            let up = try Self.curl(["-H", "Authorization: Bearer \(i % 2 == 0 ? admin : agent)", "-H", "Content-Type: application/x-rpm", "--data-binary", "@" + rpm, server.url + "/api/v1/archive/files"])
            #expect(up.status == 201, "\(rpm): \(up.body)")
        }

        // An empty root, pointed at the state's repository with a reader token in the baseurl.
        let state = observation.state
        let empty = try RPMRoot(path: tmp.path("empty"))
        try empty.addRepo(alias: "tidemark-state", url: "http://tidemark:\(reader)@127.0.0.1:\(server.port)/api/v1/repos/state/\(state.id.hex)/")
        try empty.refresh()
        try empty.install(Array(Set(state.packages.map(\.name))).sorted())
        let installed = try empty.rpmQA().map(\.package)
        #expect(Set(installed.map(\.identityKey)) == Set(state.packages.map(\.identityKey)), "installed \(installed.map(\.nevra)), state \(state.packages.map(\.nevra))")
        // The repository offers exactly the state: alpha 2.0 and gamma are archived but not in it.
        #expect(caughtError { try empty.install(["gamma"]) } != nil)
        #expect(caughtError { try empty.install(["alpha-2.0"]) } != nil)
        #expect(try empty.rpmQA().count == state.count)
        // Identical to what the host itself has: rpm's own view, field by field.
        #expect(Set(try empty.rpmQuery("%{NEVRA} %{SIGMD5}\\n").split(separator: "\n")) == Set(try host.rpmQuery("%{NEVRA} %{SIGMD5}\\n").split(separator: "\n")))

        // The repository of everything, with an agent's token (a prefix of the state works too).
        let all = try RPMRoot(path: tmp.path("all"))
        try all.addRepo(alias: "tidemark-all", url: "http://worker1:\(agent)@127.0.0.1:\(server.port)/api/v1/repos/all/")
        try all.refresh()
        try all.install(["alpha", "gamma"])
        let fromAll = Dictionary(uniqueKeysWithValues: try all.rpmQA().map { ($0.package.name, $0.package.evr.description) })
        #expect(fromAll == ["alpha": "2.0-1", "gamma": "3.1-7"])
        let prefixRoot = try RPMRoot(path: tmp.path("prefix"))
        try prefixRoot.addRepo(alias: "tidemark-prefix", url: "http://x:\(admin)@127.0.0.1:\(server.port)/api/v1/repos/state/\(state.id.hex.prefix(12))/")
        try prefixRoot.refresh()
        try prefixRoot.install(["beta"])
        #expect(Set(try prefixRoot.rpmQA().map(\.package.identityKey)) == Set(state.packages.map(\.identityKey)))

        // Wrong or missing tokens: 401 with a challenge, nothing served.
        let repomd = server.url + "/api/v1/repos/all/repodata/repomd.xml"
        let wrong = try Self.curl(["-D", "-", "-u", "tidemark:tmk_0000", repomd])
        #expect(wrong.status == 401 && wrong.body.lowercased().contains("www-authenticate: basic") && wrong.body.contains("unknown token"), "\(wrong.body)")
        let none = try Self.curl(["-D", "-", repomd])
        #expect(none.status == 401 && !none.body.contains("<repomd"))
        let right = try Self.curl(["-u", "tidemark:\(reader)", repomd])
        #expect(right.status == 200 && right.body.contains("<repomd"))
        let wrongRoot = try RPMRoot(path: tmp.path("wrong"))
        try wrongRoot.addRepo(alias: "tidemark-wrong", url: "http://tidemark:tmk_wrong@127.0.0.1:\(server.port)/api/v1/repos/all/")
        #expect(caughtError { try wrongRoot.refresh() } != nil)

        let log = String(decoding: try FileSystem.read(tmp.path("server.log")), as: UTF8.self)
        #expect(!log.contains(reader) && !log.contains(admin) && !log.contains(agent))
        #expect(!log.contains("status=5"))
        #expect(server.stop() == 0)
    }

    @Test func theServerMirrorsTheFleetsRepositoriesOnItsScheduleAndStopsGracefully() throws {
        let tmp = try TemporaryDirectory("archive-schedule")
        defer { tmp.remove() }
        let b = try RPMBuilder(directory: try tmp.makeDirectory("build"))
        var rpms: [String] = []
        for v in ["1.0", "1.1", "1.2"] { rpms += try b.build(RPMSpec(name: "perl-Mojo-IOLoop-ReadWriteProcess", version: v)) }
        let repo = try RPMRepository(path: try tmp.makeDirectory("repo"), rpms: rpms)

        let cli = try TidemarkExecutable(db: tmp.path("tidemark.sqlite"))
        let admin = try Self.token(cli, ["--role", "admin"])
        let server = try ServerProcess(cli, db: cli.db, log: tmp.path("server.log"), arguments: ["--mirror-interval", "1s"])
        try server.start()
        defer { server.kill9() }
        #expect(server.archive == tmp.path("archive"))

        var o = Fleet.observation("worker1", "2025-01-21T10:00:00Z", Fleet.base)
        o.repositories = [
            Repository(kind: .zypp, alias: "devel_openQA", url: repo.url + "/"),
            Repository(kind: .zypp, alias: "versioned", url: "http://download.example.org/$releasever/repo/oss/"),
            Repository(kind: .zypp, alias: "disabled", url: "file://" + tmp.path("nothing-here"), enabled: false),
        ]
        var o2 = Fleet.observation("worker2", "2025-01-21T10:00:00Z", Fleet.upgraded)
        o2.repositories = [Repository(kind: .zypp, alias: "same", url: repo.url)]
        for (i, x) in [o, o2].enumerated() {
            try FileSystem.write(Fleet.payload(x, full: true), to: tmp.path("o\(i).json"))
            let posted = try Self.curl(["-H", "Authorization: Bearer \(admin)", "-H", "Content-Type: application/json", "--data-binary", "@" + tmp.path("o\(i).json"), server.url + "/api/v1/observations"])
            #expect(posted.status == 201, "\(posted.body)")
        }

        var files: [ArchivedFile] = []
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let list = try Self.curl(["-H", "Authorization: Bearer \(admin)", server.url + "/api/v1/archive/files"])
            files = (try? JSONDecoder().decode([ArchivedFile].self, from: Data(list.body.utf8))) ?? []
            if files.count == 3 { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        #expect(Set(files.map(\.fileName)) == Set(repo.files))
        #expect(files.allSatisfy { $0.origin == "mirror:" + repo.url })
        Thread.sleep(forTimeInterval: 1.5)  // one more round: everything already archived
        let metrics = try PrometheusText.parse(try Self.curl([server.url + "/metrics"]).body)
        #expect(metrics["tidemark_archive_files"] == 3)
        #expect((metrics["tidemark_mirror_runs_total"] ?? 0) >= 4, "\(metrics)")
        #expect((metrics["tidemark_mirror_failures_total"] ?? 0) >= 2)
        #expect(metrics["tidemark_mirror_runs_total"]! - metrics["tidemark_mirror_failures_total"]! >= 2)
        #expect(server.stop() == 0)
        let log = String(decoding: try FileSystem.read(tmp.path("server.log")), as: UTF8.self)
        #expect(log.contains("mirror failed") && log.contains("$releasever"), "\(log.suffix(3000))")
        #expect(log.contains("mirrored") && !log.contains("nothing-here"))
        // The one URL (trailing slash or not) was mirrored once per round, not once per host.
        let rounds = log.components(separatedBy: "mirrored").count - 1
        let failedRounds = log.components(separatedBy: "mirror failed").count - 1
        #expect(rounds <= failedRounds + 1, "mirrored \(rounds) times in \(failedRounds) rounds")
    }
}
