import Foundation
import Synchronization
import TidemarkCore
import TidemarkHosts

/// A real, private PostgreSQL server for tests: one per test process, started on first use, and a
/// fresh database per test (`createDatabase()`).
///
/// It is Debian's `postgresql` (`scripts/install-test-tools.sh`): `initdb` into a temporary
/// directory, then `pg_ctl start` listening on a unix socket in that directory only (no TCP, so
/// parallel test processes and a system PostgreSQL never collide, and nothing is exposed). As root
/// it runs as user `postgres`, because initdb and postgres refuse to run as root. Durability is off
/// (`fsync=off`): the data is thrown away anyway.
///
/// It never outlives the test process: an `atexit` handler stops it (SIGQUIT: immediate shutdown)
/// and removes the directory, and a small watchdog shell does the same if the process dies without
/// running `atexit` (kill -9, a crash).
///
/// Missing PostgreSQL is an error, not a skip: a suite that silently tests one backend is worse
/// than a red one. `TIDEMARK_PG_BIN` may name the directory of initdb/pg_ctl/createdb.
public final class PostgresServer: Sendable {
    /// The directory holding `data/`, the log and the socket.
    public let directory: String
    public let socketDirectory: String
    public let binDirectory: String
    public let port = 5432
    public let user = "postgres"
    private let runAs: [String]

    private static let state = Mutex<Result<PostgresServer, TidemarkError>?>(nil)

    /// The process's server, started on first use (tests in parallel wait for the one start).
    public static func shared() throws -> PostgresServer {
        try state.withLock { s in
            if s == nil {
                s = Result { () throws(TidemarkError) -> PostgresServer in try PostgresServer() }
                if case .success = s { atexit { PostgresServer.stopShared() } }
            }
            return try s!.get()
        }
    }

    /// A new empty database; returns its URL (the unix-socket form `PostgresBackend` accepts).
    public static func createDatabase() throws -> String {
        try shared().createDatabase()
    }

    private static func stopShared() {
        guard case .success(let server)? = state.withLock({ $0 }) else { return }
        server.stop()
    }

    /// Finds the newest `/usr/lib/postgresql/<version>/bin` (or `$TIDEMARK_PG_BIN`).
    public static func findBinaries() throws(TidemarkError) -> String {
        if let dir = ProcessInfo.processInfo.environment["TIDEMARK_PG_BIN"], !dir.isEmpty { return dir }
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap { v in Int(v).map { ($0, "\(root)/\(v)/bin") } }
            .filter { FileManager.default.isExecutableFile(atPath: $0.1 + "/initdb") }
            .sorted { $0.0 > $1.0 }
        guard let bin = versions.first?.1 else {
            throw TidemarkError(.toolFailed, "PostgreSQL server binaries (initdb, pg_ctl) not found under \(root)/<version>/bin; run scripts/install-test-tools.sh (Debian package postgresql) or set TIDEMARK_PG_BIN")
        }
        return bin
    }

    private init() throws(TidemarkError) {
        binDirectory = try Self.findBinaries()
        // mkdtemp under /tmp, not $TMPDIR: a unix socket path must stay under 108 bytes.
        var template = Array("/tmp/tidemark-pg-XXXXXX".utf8CString)
        guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw TidemarkError(.storage, "cannot create a directory for PostgreSQL: \(String(cString: strerror(errno)))")
        }
        directory = String(cString: p)
        socketDirectory = directory + "/socket"
        try FileSystem.makeDirectory(socketDirectory)
        if geteuid() == 0 {
            // The server's files must belong to the user it runs as.
            try Subprocess.check("chown", ["-R", "postgres:postgres", directory])
            runAs = ["runuser", "-u", "postgres", "--"]
        } else {
            runAs = []
        }
        do {
            try start()
        } catch {
            stop()
            throw error
        }
    }

    private func tool(_ name: String, _ args: [String]) throws(TidemarkError) {
        let command = runAs + [binDirectory + "/" + name] + args
        try Subprocess.check(command[0], Array(command.dropFirst()), currentDirectory: directory)
    }

    private func start() throws(TidemarkError) {
        // An ICU collation (not C) so that the store's text comparisons are tested under a real
        // locale, as on a production server.
        try tool("initdb", [
            "-D", directory + "/data", "-U", user, "--auth=trust", "--encoding=UTF8", "--no-sync",
            "--locale=C.UTF-8", "--locale-provider=icu", "--icu-locale=en-US",
        ])
        // The watchdog first, so that not even a failed start can leave a server behind.
        let parent = getpid()
        let stop = (runAs + [binDirectory + "/pg_ctl", "-D", directory + "/data", "-m", "immediate", "stop"]).map(Self.shellQuote).joined(separator: " ")
        let watchdog = "while kill -0 \(parent) 2>/dev/null; do sleep 2; done; \(stop) >/dev/null 2>&1; rm -rf \(Self.shellQuote(directory))"
        try Subprocess.check("bash", ["-c", Self.closeInheritedFDs + "setsid sh -c \(Self.shellQuote(watchdog)) </dev/null >/dev/null 2>&1 &"])
        let options = "-k \(socketDirectory) -c listen_addresses= -p \(port) -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        let start = (runAs + [binDirectory + "/pg_ctl", "-D", directory + "/data", "-l", directory + "/server.log", "-w", "-t", "60", "-o", options, "start"])
        do {
            try Subprocess.check("bash", ["-c", Self.closeInheritedFDs + "exec \"$@\"", "pg_ctl"] + start, currentDirectory: directory)
        } catch {
            let log = (try? FileSystem.read(directory + "/server.log")).map { String(decoding: $0, as: UTF8.self) } ?? ""
            throw TidemarkError(.toolFailed, "\(error.message)\nserver log:\n\(log.suffix(3000))")
        }
    }

    /// `CREATE DATABASE t_<random>` (a file copy of template1: fastest with fsync off).
    public func createDatabase() throws -> String {
        let name = "t_" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        try Subprocess.check(binDirectory + "/createdb", ["-h", socketDirectory, "-p", String(port), "-U", user, "--strategy=file_copy", name])
        return url(database: name)
    }

    /// A new empty database owned by `owner`, a login role created if missing: for a daemon that
    /// connects as its own role (openQA's web UI as `geekotest`). Returns the database's name.
    public func createDatabase(owner: String) throws -> String {
        let exists = try Subprocess.check(binDirectory + "/psql", [
            "-h", socketDirectory, "-p", String(port), "-U", user, "-d", "postgres", "-qAt", "-v", "ON_ERROR_STOP=1",
            "-c", "SELECT 1 FROM pg_roles WHERE rolname = '\(owner.replacingOccurrences(of: "'", with: "''"))'",
        ]).stdoutText.trimmed == "1"
        if !exists {
            try Subprocess.check(binDirectory + "/createuser", ["-h", socketDirectory, "-p", String(port), "-U", user, owner])
        }
        let name = "t_" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        try Subprocess.check(binDirectory + "/createdb", ["-h", socketDirectory, "-p", String(port), "-U", user, "--strategy=file_copy", "-O", owner, name])
        return name
    }

    /// Lets the OS user `osUser` reach the socket, which as root lives in a directory only
    /// `postgres` may enter: a POSIX ACL for that one user (`setfacl`, package acl), not a
    /// world-searchable directory, since the socket trusts every role. Nothing to do when not root.
    public func allowSocketAccess(forUser osUser: String) throws {
        guard geteuid() == 0 else { return }
        guard Subprocess.which("setfacl") != nil else {
            throw TidemarkError(.toolFailed, "setfacl not found; run scripts/install-test-tools.sh (Debian package acl)")
        }
        try Subprocess.check("setfacl", ["-m", "u:\(osUser):x", directory, socketDirectory])
    }

    /// Drops a database made by `createDatabase` (its connections must be closed).
    public func dropDatabase(url: String) {
        guard let name = URLComponents(string: url)?.path.dropFirst(), !name.isEmpty else { return }
        _ = try? Subprocess.run(binDirectory + "/dropdb", ["-h", socketDirectory, "-p", String(port), "-U", user, "--force", String(name)])
    }

    public func url(database: String) -> String {
        "postgres:///\(database)?host=\(socketDirectory)&user=\(user)"
    }

    /// Stops the server at once and removes its directory (idempotent). SIGQUIT to the postmaster
    /// is pg_ctl's "immediate" mode without starting a process, which an atexit handler must not.
    public func stop() {
        if let pid = try? FileSystem.read(directory + "/data/postmaster.pid"),
           let first = String(decoding: pid, as: UTF8.self).split(separator: "\n").first, let n = Int32(first), n > 0 {
            kill(n, SIGQUIT)
            // Wait (at most 5 s) for it to exit, or its children may still write as we delete.
            // Not our child, so it may linger as a zombie until init reaps it: that counts as gone.
            for _ in 0..<100 {
                guard let stat = FileManager.default.contents(atPath: "/proc/\(n)/stat"),
                      let state = String(decoding: stat, as: UTF8.self).split(separator: ")").last?.split(separator: " ").first,
                      state != "Z" else { break }
                usleep(50_000)
            }
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// bash prologue closing every descriptor above stderr. Foundation's `Process` learns that a
    /// child exited when a socket it leaves open in the child closes; a daemon started from that
    /// child (the postmaster, the watchdog) would inherit it and make `Subprocess.run` wait forever.
    static let closeInheritedFDs = #"for fd in /proc/$$/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-" 2>/dev/null; done; "#

    static func shellQuote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
}
