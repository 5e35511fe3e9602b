import Foundation
import Glibc
import TidemarkCore
import TidemarkHosts

/// A real HTTP server on a free loopback port, for tests of HTTP clients (an HTTP check, a
/// repository download): Python's `http.server` serving the files of `directory`, plus two
/// made-up paths: `/status/NNN` answers status NNN with the body `status NNN` (none for 1xx, 204, 304), and
/// `/sleep/SECONDS/…` waits that long before serving the rest of the path. The port is the one
/// the kernel gave the server's socket (never a guessed one that another test may take).
///
/// It stops on `stop()` or when the value goes away, and on its own when the test process dies
/// (it watches its parent), so it never outlives the tests.
public final class StaticHTTPServer: Sendable {
    public let directory: String
    public let port: Int
    public var url: String { "http://127.0.0.1:\(port)" }
    private let process: ChildProcess
    private let scratch: TemporaryDirectory

    private static let script = #"""
        import http.server, os, sys, threading, time
        root, parent = sys.argv[1], os.getppid()
        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=root, **kwargs)
            def log_message(self, *args):
                pass
            def do_GET(self):
                parts = self.path.split('?')[0].strip('/').split('/')
                if len(parts) == 2 and parts[0] == 'status' and parts[1].isdigit():
                    code = int(parts[1])
                    body = b'' if code < 200 or code in (204, 304) else ('status ' + parts[1]).encode()
                    self.send_response(code)
                    self.send_header('Content-Type', 'text/plain')
                    if body:
                        self.send_header('Content-Length', str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if len(parts) >= 2 and parts[0] == 'sleep':
                    time.sleep(float(parts[1]))
                    self.path = '/' + '/'.join(parts[2:])
                return super().do_GET()
        def watch():
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(0)
        threading.Thread(target=watch, daemon=True).start()
        server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        server.daemon_threads = True
        print('port', server.server_address[1], flush=True)
        server.serve_forever()
        """#

    /// Starts serving `directory` and returns once the server listens.
    public init(serving directory: String, timeout: Double = 30) throws(TidemarkError) {
        self.directory = directory
        scratch = try TemporaryDirectory("http-server")
        let log = scratch.path("server.log")
        process = try ChildProcess.spawn("python3", ["-u", "-c", Self.script, directory], stdout: .file(log, append: false), stderr: .file(log, append: true))
        let started = Date()
        var found: Int? = nil
        while found == nil {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("port ") }), let p = Int(line.dropFirst(5)) {
                found = p
                break
            }
            guard process.isRunning else {
                throw TidemarkError(.toolFailed, "the test HTTP server (python3 http.server) exited: \(text.suffix(2000))")
            }
            guard Date().timeIntervalSince(started) < timeout else {
                process.signal(SIGKILL)
                process.wait()
                throw TidemarkError(.toolFailed, "the test HTTP server did not start within \(Int(timeout)) s: \(text.suffix(2000))")
            }
            usleep(20_000)
        }
        // The socket listens before the port is printed: connections from now on are answered.
        port = found!
    }

    /// Stops the server (idempotent).
    public func stop() {
        process.signal(SIGTERM)
        process.wait()
    }

    deinit { stop() }
}

/// A loopback TCP port that nobody listens on, for as long as the value lives: a socket is
/// bound to it and never listens, so connecting is refused and no other test can take it.
public final class UnusedPort: Sendable {
    public let port: Int
    private let fd: Int32

    public init() throws(TidemarkError) {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard s >= 0 else { throw TidemarkError(.toolFailed, "socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &length) }
        }
        guard bound == 0, named == 0 else {
            let reason = String(cString: strerror(errno))
            close(s)
            throw TidemarkError(.toolFailed, "cannot bind a loopback port: \(reason)")
        }
        fd = s
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}
