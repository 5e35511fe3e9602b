import Foundation
import TidemarkCore
import TidemarkHosts

/// A small openQA worker fleet as the incident had it, for end-to-end tests: real rpm roots
/// `worker1…N` that installed `openQA-worker` and `perl-Mojo-IOLoop-ReadWriteProcess` with real
/// zypper from a createrepo_c "development repository" (keeppackages on, as o3 workers have), a
/// real `tidemark server` process, and on demand a real `tidemark agent` process per host
/// reporting every second and running the jobs the server hands it.
public final class Fleet: @unchecked Sendable {
    public let dir: TemporaryDirectory
    public let builder: RPMBuilder
    public let repo: RPMRepository
    public let roots: [String: RPMRoot]
    public let tm: TidemarkExecutable
    public var server: ServerProcess
    public let admin: String
    public var hosts: [String] { roots.keys.sorted { $0.localizedStandardCompare($1) == .orderedAscending } }
    private var agents: [String: ChildProcess] = [:]
    public static let library = "perl-Mojo-IOLoop-ReadWriteProcess"
    /// The file the broken build installs, which the health command looks for.
    public static let brokenFile = "/usr/share/perl-mojo/BROKEN"

    /// Builds `library` at `version-release`; `broken` adds `brokenFile`.
    public func library(_ version: String, _ release: String, broken: Bool = false) throws -> String {
        let files = [PackageFile("/usr/share/perl-mojo/VERSION", contents: "\(version)-\(release)\n")] + (broken ? [PackageFile(Self.brokenFile, contents: "isotovideo can not be started\n")] : [])
        return try builder.build(RPMSpec(name: Self.library, version: version, release: release, files: files))[0]
    }

    /// - Parameters:
    ///   - db: the server's `--db`; nil: SQLite in the fleet's directory.
    ///   - serverArguments: more `tidemark server` arguments.
    public init(_ name: String, hosts: Int, db: String? = nil, serverArguments: [String] = []) throws {
        dir = try TemporaryDirectory(name)
        builder = try RPMBuilder(directory: try dir.makeDirectory("build"))
        let lib = try builder.build(RPMSpec(name: Self.library, version: "0.34", release: "1.1", files: [PackageFile("/usr/share/perl-mojo/VERSION", contents: "0.34-1.1\n")]))[0]
        let worker = try builder.build(RPMSpec(name: "openQA-worker", version: "5.1", requires: [Self.library]))[0]
        repo = try RPMRepository(path: try dir.makeDirectory("devel_openQA"), rpms: [lib, worker])
        var roots: [String: RPMRoot] = [:]
        for i in 1...hosts {
            let root = try RPMRoot(path: dir.path("worker\(i)"))
            try root.addRepo(alias: "devel_openQA", url: repo.url, keepPackages: true)
            try root.install(["openQA-worker"])
            roots["worker\(i)"] = root
        }
        self.roots = roots
        let database = db ?? dir.path("server.sqlite")
        tm = try TidemarkExecutable(db: database)
        admin = dir.path("admin.token")
        try FileSystem.write(try tm.check(["token", "create", "--role", "admin", "--note", "operator"]).trimmed + "\n", to: admin)
        for h in roots.keys {
            try FileSystem.write(try tm.check(["token", "create", "--host", h]).trimmed + "\n", to: dir.path("\(h).token"))
        }
        server = try ServerProcess(tm, db: database, log: dir.path("server.log"), archive: dir.path("archive"), arguments: Self.serverDefaults + serverArguments)
        try server.start()
    }

    /// Fast loops for tests: drive every second, check every second, no scheduled mirroring.
    public static let serverDefaults = ["--mirror-interval", "0", "--rollout-interval", "1s", "--check-interval", "1"]

    deinit {
        for a in agents.values { a.signal(SIGKILL); a.wait() }
        server.kill9()
    }

    /// Starts every host's agent (`--interval 1s`), or only `only`'s.
    public func startAgents(_ only: [String]? = nil) throws {
        for h in only ?? hosts where agents[h] == nil {
            agents[h] = try ChildProcess.spawn(
                tm.path, ["agent", "--server", server.url, "--token-file", dir.path("\(h).token"), "--root", roots[h]!.path, "--host", h,
                          "--interval", "1s", "--spool", dir.path("spool-\(h)")],
                stdout: .file(dir.path("agent-\(h).log"), append: true), stderr: .file(dir.path("agent-\(h).log"), append: true))
        }
    }

    public func stopAgents() {
        for (_, a) in agents { a.signal(SIGTERM); a.wait() }
        agents = [:]
    }

    /// `tidemark ARGS --server URL --token-file admin` (no --db): stdout, or an error with stderr.
    @discardableResult
    public func cli(_ args: [String], server: ServerProcess? = nil) throws -> String {
        let r = try tm.run(args + ["--server", (server ?? self.server).url, "--token-file", admin], withDB: false)
        guard r.status == 0 else { throw TidemarkError(.toolFailed, "tidemark \(args.joined(separator: " ")) exited \(r.status): \(r.stderrText)") }
        return r.stdoutText
    }

    public func json<T: Decodable>(_ type: T.Type, _ args: [String], server: ServerProcess? = nil) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(try cli(args + ["--json"], server: server).utf8))
    }

    public func status(_ id: Int64, server: ServerProcess? = nil) throws -> RolloutStatus {
        try json(RolloutStatus.self, ["rollout", "status", String(id)], server: server)
    }

    /// Polls until `done` holds for the rollout (or fails after `timeout` with its status and log).
    @discardableResult
    public func wait(_ id: Int64, timeout: Double = 180, server: ServerProcess? = nil, until done: (RolloutStatus) -> Bool) throws -> RolloutStatus {
        let deadline = Date().addingTimeInterval(timeout)
        var last: RolloutStatus? = nil
        while Date() < deadline {
            if let s = try? status(id, server: server) {
                if done(s) { return s }
                last = s
            }
            Thread.sleep(forTimeInterval: 0.5)
        }
        let log = (try? cli(["rollout", "log", String(id)], server: server)) ?? "?"
        throw TidemarkError(.toolFailed, "rollout \(id) did not get there within \(timeout) s; last: \(last.map { "\($0.phase.rawValue) wave \($0.wave): \($0.outcome ?? "")" } ?? "none")\nlog:\n\(log)\nserver log:\n\(serverLog().suffix(3000))")
    }

    /// Waits until the server has an observation of every host (the agents are reporting).
    public func waitForHosts(timeout: Double = 60) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let known = try? json([HostSummary].self, ["hosts"]), Set(known.map(\.host)).isSuperset(of: hosts) { return }
            Thread.sleep(forTimeInterval: 0.3)
        }
        throw TidemarkError(.toolFailed, "not every host reported within \(timeout) s")
    }

    public func agentLog(_ host: String) -> String {
        String(decoding: (try? FileSystem.read(dir.path("agent-\(host).log"))) ?? [], as: UTF8.self)
    }

    public func serverLog() -> String {
        String(decoding: (try? FileSystem.read(dir.path("server.log"))) ?? [], as: UTF8.self)
    }

    /// The installed version-release of `name` on a host (`rpm -q --qf`).
    public func installed(_ host: String, _ name: String = Fleet.library) throws -> String {
        try roots[host]!.rpmQA().filter { $0.package.name == name }.map { "\($0.package.evr.version)-\($0.package.evr.release)" }.sorted().joined(separator: " ")
    }

    /// The host's exact binaries: `rpm -qa` with SIGMD5.
    public func binaries(_ host: String) throws -> Set<Package> {
        Set(try roots[host]!.rpmQA().map(\.package))
    }

    /// Writes a policy file and returns its path.
    public func policy(_ yaml: String, name: String = "policy.yaml") throws -> String {
        try FileSystem.write(yaml, to: dir.path(name))
        return dir.path(name)
    }
}
