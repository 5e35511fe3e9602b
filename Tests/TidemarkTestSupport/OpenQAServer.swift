import Foundation
import Synchronization
import TidemarkCore
import TidemarkHosts

/// A real openQA web UI for tests: one per test process, started on first use, so the openQA
/// client is tested against what openQA really serves (field names, time formats, auth) and not
/// against a mock that agrees with the client by construction.
///
/// It is Debian's `openqa` (`scripts/install-test-tools.sh`), run from a private directory:
/// `OPENQA_CONFIG` names its `openqa.ini` (fake auth: a GET of `/login` creates user Demo with
/// key and secret `1234567890ABCDEF`) and `database.ini` (a database of the shared
/// `PostgresServer`, over its unix socket), `OPENQA_BASEDIR` moves `/var/lib/openqa` (lock file,
/// results) into the directory, and `OPENQA_BASE_PORT` puts the scheduler port it pokes beside
/// its own free loopback port. Nothing under /etc or /var/lib is written. As root it runs as
/// the package's user `geekotest` (`setpriv`), which an ACL lets reach the PostgreSQL socket.
/// Only the web UI runs (no scheduler, no workers): jobs stay `scheduled` until a test finishes
/// them (`setDone`) and says which worker ran them when (`assign`, straight into openQA's
/// database, where openQA's own worker would have written it).
///
/// Tests share the instance: each uses its own job group, BUILD, TEST and worker host names.
///
/// It never outlives the test process: an `atexit` handler stops it (SIGTERM to its process
/// group, SIGKILL after 5 s) and a watchdog shell does the same when the process dies without
/// `atexit`. Missing openQA is an error, not a skip. `TIDEMARK_OPENQA_HOME` may name openQA's
/// installation directory (default `/usr/share/openqa`).
public final class OpenQAServer: Sendable {
    public let url: String
    public let port: Int
    /// The API key and secret fake auth gives user Demo (an operator and admin).
    public let apiKey = "1234567890ABCDEF"
    public let apiSecret = "1234567890ABCDEF"
    /// Holds `etc/`, `base/`, `home/` and `webui.log`.
    public let directory: String
    /// openQA's database in the shared `PostgresServer`.
    public let database: String
    private let postgres: PostgresServer
    private let daemon: Mutex<ChildProcess?>

    private static let state = Mutex<Result<OpenQAServer, TidemarkError>?>(nil)
    private static let daemonUser = "geekotest"

    /// The process's openQA, started on first use (tests in parallel wait for the one start).
    public static func shared() throws -> OpenQAServer {
        try state.withLock { s in
            if s == nil {
                s = Result { () throws(TidemarkError) -> OpenQAServer in try OpenQAServer() }
                // Registered after PostgresServer's handler, so it runs first (atexit is LIFO):
                // openQA stops before its database does.
                if case .success = s { atexit { OpenQAServer.stopShared() } }
            }
            return try s!.get()
        }
    }

    private static func stopShared() {
        guard case .success(let server)? = state.withLock({ $0 }) else { return }
        server.stop()
    }

    private static var home: String {
        let env = ProcessInfo.processInfo.environment["TIDEMARK_OPENQA_HOME"] ?? ""
        return env.isEmpty ? "/usr/share/openqa" : env
    }

    private init() throws(TidemarkError) {
        let script = Self.home + "/script/openqa"
        guard FileManager.default.isExecutableFile(atPath: script), Subprocess.which("openqa-cli") != nil else {
            throw TidemarkError(.toolFailed, "openQA not found (\(script), openqa-cli); run scripts/install-test-tools.sh (Debian packages openqa, openqa-client) or set TIDEMARK_OPENQA_HOME")
        }
        let root = geteuid() == 0
        var runAs: [String] = []
        if root {
            guard let pw = getpwnam(Self.daemonUser) else {
                throw TidemarkError(.toolFailed, "user \(Self.daemonUser) does not exist (the openqa package creates it); run scripts/install-test-tools.sh")
            }
            runAs = ["setpriv", "--reuid=\(pw.pointee.pw_uid)", "--regid=\(pw.pointee.pw_gid)", "--init-groups", "--"]
        }
        let pg = try Self.wrap { try PostgresServer.shared() }
        try Self.wrap { try pg.allowSocketAccess(forUser: Self.daemonUser) }
        postgres = pg
        database = try Self.wrap { try pg.createDatabase(owner: Self.daemonUser) }

        var template = Array("/tmp/tidemark-openqa-XXXXXX".utf8CString)
        guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw TidemarkError(.storage, "cannot create a directory for openQA: \(String(cString: strerror(errno)))")
        }
        directory = String(cString: p)
        port = try Self.wrap { try ServerProcess.freePort() }
        url = "http://127.0.0.1:\(port)"
        daemon = Mutex(nil)
        do {
            try start(script: script, runAs: runAs, chownTo: root ? Self.daemonUser : nil)
        } catch {
            stop()
            throw error
        }
    }

    private static func wrap<T>(_ body: () throws -> T) throws(TidemarkError) -> T {
        do { return try body() } catch let e as TidemarkError { throw e } catch { throw TidemarkError(.toolFailed, "\(error)") }
    }

    private func write(_ text: String, _ path: String) throws(TidemarkError) {
        guard FileManager.default.createFile(atPath: directory + "/" + path, contents: Data(text.utf8)) else {
            throw TidemarkError(.storage, "cannot write \(directory)/\(path)")
        }
    }

    private func start(script: String, runAs: [String], chownTo: String?) throws(TidemarkError) {
        // The watchdog first, so that not even a failed start can leave a daemon behind. It
        // learns the daemon's process group from daemon.pid, written right after the spawn.
        // (sh is dash here: its kill takes -PGID but not "--".)
        let parent = getpid()
        let dir = PostgresServer.shellQuote(directory)
        let watchdog = """
            while kill -0 \(parent) 2>/dev/null; do sleep 2; done; \
            g=$(cat \(dir)/daemon.pid 2>/dev/null); \
            if [ -n "$g" ]; then kill -TERM -"$g" 2>/dev/null; sleep 3; kill -KILL -"$g" 2>/dev/null; fi; \
            rm -rf \(dir)
            """
        try Subprocess.check("bash", ["-c", PostgresServer.closeInheritedFDs + "setsid sh -c \(PostgresServer.shellQuote(watchdog)) </dev/null >/dev/null 2>&1 &"])

        for sub in ["etc", "home", "base/openqa/db", "base/openqa/testresults", "base/openqa/images", "base/openqa/share/factory", "base/openqa/share/tests"] {
            do { try FileManager.default.createDirectory(atPath: directory + "/" + sub, withIntermediateDirectories: true) } catch {
                throw TidemarkError(.storage, "cannot create \(directory)/\(sub): \(error.localizedDescription)")
            }
        }
        try write("""
            [production]
            dsn = DBI:Pg:dbname=\(database);host=\(postgres.socketDirectory);port=\(postgres.port)
            user = \(Self.daemonUser)

            """, "etc/database.ini")
        try write("""
            [global]
            [auth]
            method = Fake

            """, "etc/openqa.ini")
        if let chownTo {
            try Subprocess.check("chown", ["-R", chownTo, directory])
        }

        // setsid: the daemon leads its own process group, which stop() and the watchdog signal.
        // setpriv execs (unlike runuser, which would stay as the parent), so the pid is openQA's.
        let log = directory + "/webui.log"
        let child = try ChildProcess.spawn(
            "setsid", runAs + [script, "daemon", "-m", "production", "-l", url],
            environment: [
                "OPENQA_CONFIG": directory + "/etc", "OPENQA_BASEDIR": directory + "/base", "OPENQA_BASE_PORT": String(port),
                "HOME": directory + "/home", "TZ": "UTC", "MOJO_LISTEN": url,
            ],
            currentDirectory: directory, stdout: .file(log, append: true), stderr: .file(log, append: true))
        daemon.withLock { $0 = child }
        try write(String(child.pid), "daemon.pid")

        // It creates its schema on first start (a few seconds); the first GET of /login that
        // succeeds also creates the fake user and its API key.
        let deadline = ContinuousClock.now + .seconds(120)
        while true {
            if !child.isRunning {
                throw TidemarkError(.toolFailed, "openQA's web UI exited with \(child.wait()) while starting:\n\(logTail())")
            }
            if (try? Subprocess.run("curl", ["-fsSL", "-o", "/dev/null", "-m", "10", url + "/login"]))?.status == 0 { break }
            if ContinuousClock.now > deadline {
                throw TidemarkError(.toolFailed, "openQA's web UI did not answer \(url)/login within 120 s:\n\(logTail())")
            }
            usleep(100_000)
        }
    }

    /// The end of the web UI's log, for error messages.
    public func logTail(_ count: Int = 3000) -> String {
        String((FileManager.default.contents(atPath: directory + "/webui.log").map { String(decoding: $0, as: UTF8.self) } ?? "").suffix(count))
    }

    /// Stops the daemon (SIGTERM to its process group, SIGKILL after 5 s) and removes the
    /// directory; idempotent. Its database stays until PostgresServer stops.
    public func stop() {
        if let child = daemon.withLock({ d -> ChildProcess? in defer { d = nil }; return d }) {
            kill(-child.pid, SIGTERM)
            var waited = 0
            while child.isRunning && waited < 100 {
                usleep(50_000)
                waited += 1
            }
            kill(-child.pid, SIGKILL)
            child.wait()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    // MARK: driving openQA as its users and workers would

    /// `openqa-cli api --host URL --apikey … --apisecret … ARGS…` (the real client, signing as
    /// openQA's own tools do); its stdout (JSON). A non-zero exit (an HTTP error) throws with
    /// openqa-cli's output.
    @discardableResult
    public func cli(_ args: [String]) throws -> String {
        let full = ["api", "--host", url, "--apikey", apiKey, "--apisecret", apiSecret] + args
        let r = try Subprocess.run("openqa-cli", full, environment: ["OPENQA_CONFIG": directory + "/etc", "NO_COLOR": "1"])
        guard r.status == 0 else {
            throw TidemarkError(.toolFailed, "'openqa-cli \(full.joined(separator: " "))' failed with exit status \(r.status): \(r.stderrText.trimmed) \(r.stdoutText.trimmed)")
        }
        return r.stdoutText
    }

    /// The `id` of the object an API call created (`{"id":N}`).
    private func createdID(_ args: [String]) throws -> Int64 {
        let out = try cli(args)
        guard let object = try? JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any],
              let id = (object["id"] as? NSNumber)?.int64Value else {
            throw TidemarkError(.corrupt, "openqa-cli \(args.joined(separator: " ")) answered no id: \(out.prefix(500))")
        }
        return id
    }

    /// `POST /api/v1/job_groups name=…`; the group's id. Names are unique in openQA.
    public func createJobGroup(name: String) throws -> Int64 {
        try createdID(["-X", "POST", "job_groups", "name=\(name)"])
    }

    /// Registers a worker as openQA's worker does on start (`POST /api/v1/workers`); its id.
    /// Registering the same host and instance again gives the same worker.
    public func registerWorker(host: String, instance: Int) throws -> Int64 {
        try createdID([
            "-X", "POST", "workers", "host=\(host)", "instance=\(instance)", "cpu_arch=x86_64", "mem_max=1000",
            "worker_class=qemu_x86_64", "websocket_api_version=1",
        ])
    }

    /// `POST /api/v1/jobs` with `settings` over defaults (DISTRI=tidemark VERSION=1 FLAVOR=dev
    /// ARCH=x86_64 MACHINE=64bit); pass at least TEST and BUILD, and `_GROUP_ID` (or `_GROUP`,
    /// the group's name) to put it in a job group. The job is `scheduled`; its id.
    public func createJob(_ settings: [String: String]) throws -> Int64 {
        let all = ["DISTRI": "tidemark", "VERSION": "1", "FLAVOR": "dev", "ARCH": "x86_64", "MACHINE": "64bit"].merging(settings) { $1 }
        return try createdID(["-X", "POST", "jobs"] + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
    }

    /// Finishes a job as its worker would (`POST /api/v1/jobs/N/set_done`): state `done`, the
    /// given result (`passed`, `softfailed`, `failed`, `incomplete` …) and reason, t_finished now.
    public func setDone(job: Int64, result: String, reason: String? = nil) throws {
        try cli(["-X", "POST", "jobs/\(job)/set_done", "result=\(result)"] + (reason.map { ["reason=\($0)"] } ?? []))
    }

    /// Says which worker ran a job and when (UTC), in openQA's database: what openQA's scheduler
    /// and worker record, and the API then serves, but which a setup without them cannot get
    /// through the API. Call after `setDone` (which sets t_finished to now). nil sets NULL.
    public func assign(job: Int64, worker: Int64?, started: Timestamp?, finished: Timestamp?) throws {
        func time(_ t: Timestamp?) -> String { t.map { "'\($0.iso8601.dropLast())'" } ?? "NULL" }
        let updated = try sql("UPDATE jobs SET assigned_worker_id = \(worker.map(String.init) ?? "NULL"), t_started = \(time(started)), t_finished = \(time(finished)) WHERE id = \(job) RETURNING id")
        guard updated.trimmed == String(job) else { throw TidemarkError(.notFound, "openQA at \(url) has no job \(job)") }
    }

    /// Runs SQL in openQA's database (as PostgreSQL's superuser); psql's unaligned output.
    @discardableResult
    public func sql(_ statement: String) throws -> String {
        try Subprocess.check(postgres.binDirectory + "/psql", [
            "-h", postgres.socketDirectory, "-p", String(postgres.port), "-U", postgres.user, "-d", database,
            "-qAt", "-v", "ON_ERROR_STOP=1", "-c", statement,
        ]).stdoutText
    }
}
