import Foundation
import Glibc
import TidemarkCore

/// Runs an external tool (rpm, zypper, dpkg, a decompressor) and captures its output. The one
/// place Tidemark starts processes, so errors always name the command and show its stderr.
public enum Subprocess {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: Data
        public var stderr: Data
        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
        public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    }

    /// Finds an executable on PATH (plus the sbin directories tools like `zypper` live in).
    public static func which(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") + ":/usr/sbin:/sbin:/usr/local/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs `executable args…` to completion. Stdout and stderr are drained (and stdin fed)
    /// together with poll(2), so a chatty tool cannot dead-lock on a full pipe. Throws only when
    /// the tool cannot be started.
    public static func run(
        _ executable: String, _ arguments: [String], input: Data? = nil,
        environment: [String: String]? = nil, currentDirectory: String? = nil
    ) throws(TidemarkError) -> Result {
        let out = try ChildProcess.pipe(), err = try ChildProcess.pipe()
        let inPipe = input == nil ? nil : try ChildProcess.pipe()
        let child: ChildProcess
        do {
            child = try ChildProcess.spawn(
                executable, arguments, environment: environment, currentDirectory: currentDirectory,
                stdin: inPipe.map { .fd($0.read) } ?? .null, stdout: .fd(out.write), stderr: .fd(err.write))
        } catch {
            for fd in [out.read, out.write, err.read, err.write, inPipe?.read, inPipe?.write].compactMap({ $0 }) { close(fd) }
            throw error
        }
        close(out.write)
        close(err.write)
        if let inPipe { close(inPipe.read) }
        var outData = [UInt8](), errData = [UInt8]()
        let inBytes = input.map { [UInt8]($0) } ?? []
        var inFD = inPipe?.write ?? -1, written = 0, outFD = out.read, errFD = err.read
        if inFD >= 0, inBytes.isEmpty { close(inFD); inFD = -1 }
        var buffer = [UInt8](repeating: 0, count: 65536)
        while outFD >= 0 || errFD >= 0 || inFD >= 0 {
            var fds = [pollfd(fd: outFD, events: Int16(POLLIN), revents: 0), pollfd(fd: errFD, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: inFD, events: Int16(POLLOUT), revents: 0)]
            if poll(&fds, 3, -1) < 0 {
                if errno == EINTR { continue }
                break
            }
            for i in 0..<2 where fds[i].revents != 0 {
                let n = buffer.withUnsafeMutableBytes { read(fds[i].fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    if i == 0 { outData.append(contentsOf: buffer[0..<n]) } else { errData.append(contentsOf: buffer[0..<n]) }
                } else if n == 0 || errno != EINTR {
                    close(fds[i].fd)
                    if i == 0 { outFD = -1 } else { errFD = -1 }
                }
            }
            if inFD >= 0, fds[2].revents != 0 {
                // A tool that exits without reading its input is not our crash: EPIPE just ends it.
                let n = inBytes.withUnsafeBytes { write(inFD, $0.baseAddress! + written, min(65536, $0.count - written)) }
                if n > 0 { written += n }
                if (n < 0 && errno != EINTR && errno != EAGAIN) || written == inBytes.count {
                    close(inFD)
                    inFD = -1
                }
            }
        }
        return Result(status: child.wait(), stdout: Data(outData), stderr: Data(errData))
    }

    /// Like `run`, but a non-zero exit is an error that quotes the command and its stderr.
    @discardableResult
    public static func check(
        _ executable: String, _ arguments: [String], input: Data? = nil,
        environment: [String: String]? = nil, currentDirectory: String? = nil
    ) throws(TidemarkError) -> Result {
        let r = try run(executable, arguments, input: input, environment: environment, currentDirectory: currentDirectory)
        guard r.status == 0 else {
            let cmd = ([executable] + arguments).joined(separator: " ")
            throw TidemarkError(.toolFailed, "'\(cmd)' failed with exit status \(r.status): \(r.stderrText.trimmed)\(r.stdoutText.isEmpty ? "" : "\n" + r.stdoutText.suffix(2000))")
        }
        return r
    }
}

/// A child process started with posix_spawn: what `Subprocess.run` uses, and what runs
/// long-lived tools (a server, an agent) that a caller signals and waits for.
///
/// Not Foundation's `Process`: on Linux its `run()` intermittently crashes the parent while
/// listing /proc/self/fd (swift-corelibs-foundation PR #5472, present in Swift 6.3.1), which a
/// test suite that starts thousands of tools hits. All descriptors but 0, 1 and 2 are closed in
/// the child, and signal dispositions are reset (the parent ignores SIGPIPE; its tools must not).
public final class ChildProcess: @unchecked Sendable {
    public enum Redirect: Sendable {
        case null
        case fd(Int32)
        /// A file, created if missing; appended to when `append` (else truncated).
        case file(String, append: Bool)
    }

    public let pid: pid_t
    private let state = NSLock()
    private var exitStatus: Int32?

    private init(pid: pid_t) { self.pid = pid }

    /// A pipe whose ends are closed on exec (the child gets only what it is given as 0/1/2).
    static func pipe() throws(TidemarkError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard Glibc.pipe(&fds) == 0 else { throw TidemarkError(.toolFailed, "pipe failed: \(String(cString: strerror(errno)))") }
        // (children close every descriptor above 2 anyway; this covers a C library without closefrom)
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return (fds[0], fds[1])
    }

    private typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    // glibc extensions (2.29, 2.34) that Swift's Glibc module does not declare.
    private static let addChdir = dlsym(nil, "posix_spawn_file_actions_addchdir_np").map { unsafeBitCast($0, to: AddChdir.self) }
    private static let addCloseFrom = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np").map { unsafeBitCast($0, to: AddCloseFrom.self) }

    /// Starts `executable` (a path, or a name looked up like `Subprocess.which`).
    public static func spawn(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, currentDirectory: String? = nil,
        stdin: Redirect = .null, stdout: Redirect = .null, stderr: Redirect = .null, newProcessGroup: Bool = false
    ) throws(TidemarkError) -> ChildProcess {
        guard let path = Subprocess.which(executable) else {
            throw TidemarkError(.toolFailed, "'\(executable)' was not found on PATH; install it (see README)")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (target, redirect) in [(Int32(0), stdin), (1, stdout), (2, stderr)] {
            switch redirect {
            case .null: posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0)
            case .fd(let fd): posix_spawn_file_actions_adddup2(&actions, fd, target)
            case .file(let file, let append):
                posix_spawn_file_actions_addopen(&actions, target, file, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0o644)
            }
        }
        if let currentDirectory {
            guard let addChdir else { throw TidemarkError(.toolFailed, "this C library cannot start a process in another directory (posix_spawn_file_actions_addchdir_np)") }
            _ = addChdir(&actions, currentDirectory)
        }
        _ = addCloseFrom?(&actions, 3)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var all = sigset_t(), none = sigset_t()
        sigfillset(&all)
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setsigmask(&attributes, &none)
        // Its own process group on request, so that a timeout can end the command with every
        // child it started (`signalGroup`).
        if newProcessGroup { posix_spawnattr_setpgroup(&attributes, 0) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | (newProcessGroup ? POSIX_SPAWN_SETPGROUP : 0)))

        var env = ProcessInfo.processInfo.environment
        if let environment { env.merge(environment) { $1 } }
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        guard rc == 0 else { throw TidemarkError(.toolFailed, "could not start \(path): \(String(cString: strerror(rc)))") }
        return ChildProcess(pid: pid)
    }

    /// `signal` to the child's whole process group (spawned with `newProcessGroup`).
    public func signalGroup(_ signal: Int32) {
        _ = kill(-pid, signal)
    }

    /// Sends `signal` (if the child has not been reaped yet).
    public func signal(_ signal: Int32) {
        state.lock()
        defer { state.unlock() }
        if exitStatus == nil { kill(pid, signal) }
    }

    /// Waits for the child to end: its exit status, or 128 + the signal that ended it.
    @discardableResult
    public func wait() -> Int32 {
        if let s = reaped(blocking: true) { return s }
        return -1
    }

    /// False once the child has ended (reaping it).
    public var isRunning: Bool { reaped(blocking: false) == nil }

    private func reaped(blocking: Bool) -> Int32? {
        state.lock()
        if let exitStatus {
            state.unlock()
            return exitStatus
        }
        state.unlock()
        // Not under the lock: a blocking wait must not hold off `signal` from another thread.
        var status: Int32 = 0
        var r: pid_t
        repeat { r = waitpid(pid, &status, blocking ? 0 : WNOHANG) } while r < 0 && errno == EINTR
        state.lock()
        defer { state.unlock() }
        if let exitStatus { return exitStatus }
        if r == 0 { return nil }
        let s = r != pid ? -1 : status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        exitStatus = s
        return s
    }
}
