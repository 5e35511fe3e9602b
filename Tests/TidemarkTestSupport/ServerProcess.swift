import Foundation
import TidemarkCore
import TidemarkHosts

/// A real `tidemark server` as its own process on a free loopback port, for tests that need
/// agents and CLIs talking HTTP to it, and that kill it (-9) or stop it (SIGTERM) on purpose.
public final class ServerProcess: @unchecked Sendable {
    public let port: Int
    public let db: String
    public var url: String { "http://127.0.0.1:\(port)" }
    private let executable: TidemarkExecutable
    private var process: ChildProcess?
    private let log: String
    /// The package archive's directory (`--archive`): by default `archive/` beside a database
    /// file (for a PostgreSQL URL, a directory beside the log), never the user's own archive.
    public let archive: String
    /// More `tidemark server` arguments (`--mirror-interval 0`, `--max-upload 1M` …).
    public let arguments: [String]

    public init(_ executable: TidemarkExecutable, db: String, log: String, port: Int? = nil, archive: String? = nil, arguments: [String] = []) throws {
        self.executable = executable
        self.db = db
        self.log = log
        self.port = try port ?? ServerProcess.freePort()
        let beside = db.contains("://") ? log : db
        self.archive = archive ?? ((beside as NSString).deletingLastPathComponent + "/archive")
        self.arguments = arguments
    }

    deinit { process?.signal(SIGKILL) }

    /// Starts the server and waits until `/healthz` answers.
    public func start(timeout: Duration = .seconds(30)) throws {
        let p = try ChildProcess.spawn(
            executable.path, ["server", "--listen", "127.0.0.1:\(port)", "--db", db, "--archive", archive] + arguments,
            stdout: .file(log, append: true), stderr: .file(log, append: true))
        process = p
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if !p.isRunning {
                throw TidemarkError(.toolFailed, "tidemark server exited with \(p.wait()): \(String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self).suffix(2000))")
            }
            if (try? Subprocess.run("curl", ["-fsS", "-m", "2", url + "/healthz"]))?.status == 0 { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw TidemarkError(.toolFailed, "tidemark server did not answer /healthz within \(timeout)")
    }

    /// kill -9: no chance to finish anything.
    public func kill9() {
        guard let p = process else { return }
        p.signal(SIGKILL)
        p.wait()
        process = nil
    }

    /// SIGTERM and wait; returns the exit status.
    @discardableResult
    public func stop() -> Int32 {
        guard let p = process else { return 0 }
        p.signal(SIGTERM)
        process = nil
        return p.wait()
    }

    public var isRunning: Bool { process?.isRunning ?? false }

    /// Sends `bytes` over a fresh connection as a client that then sends nothing more (a stalled
    /// upload), and returns everything the server answers until it closes the connection (or
    /// `wait` passes, so a server that never answers fails the test instead of hanging it).
    public func rawExchange(_ bytes: [UInt8], wait: Duration = .seconds(60)) throws -> String {
        let fd = try Self.tcpSocket()
        defer { close(fd) }
        var addr = Self.loopback(port: port)
        let connected = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard connected == 0 else { throw TidemarkError(.toolFailed, "connect() to port \(port) failed") }
        var limit = timeval(tv_sec: Int(wait.components.seconds), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        guard bytes.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == bytes.count else {
            throw TidemarkError(.toolFailed, "send() to port \(port) failed")
        }
        var answer: [UInt8] = [], chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return String(decoding: answer, as: UTF8.self) }
            guard n > 0 else { throw TidemarkError(.toolFailed, "the server neither answered nor closed the connection within \(wait) (got: \(String(decoding: answer, as: UTF8.self)))") }
            answer += chunk[..<n]
        }
    }

    /// A loopback port nobody listens on right now.
    public static func freePort() throws -> Int {
        let fd = try tcpSocket()
        defer { close(fd) }
        var addr = loopback(port: 0)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        guard bound == 0 else { throw TidemarkError(.toolFailed, "bind() failed") }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    private static func tcpSocket() throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TidemarkError(.toolFailed, "socket() failed") }
        return fd
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        return addr
    }
}
