import AsyncHTTPClient
import Foundation
import Glibc
import NIOCore
import Synchronization
import TidemarkCore
import TidemarkHosts

// MARK: - command checks

/// A command check: `/bin/sh -c COMMAND`; exit 0 passes, any other exit fails, a timeout fails.
/// The evidence is the exit status and the last lines of the command's output (stdout and
/// stderr together, in the order written), about 400 characters on one line.
///
/// The command runs in its own process group (`ChildProcess.spawn(newProcessGroup:)`), so a
/// timeout ends it together with everything it started: SIGTERM to the group, SIGKILL to the
/// group `killGrace` seconds later. Background processes it leaves behind that still hold its
/// output are killed too when it exits (a check must not leave strays on the server).
///
/// The wait happens on a thread of its own, never on a thread of Swift's cooperative pool (a
/// check may take minutes; two cores' worth of pool threads blocked would stall the server).
/// Cancelling the calling task ends the command the same way as a timeout; the result is then
/// pending ("cancelled"), as nothing was decided.
public struct CommandCheckRunner: Sendable {
    /// Characters of output the evidence quotes at most.
    public var evidenceLimit = 400
    /// Seconds between SIGTERM and SIGKILL after a timeout.
    public var killGrace: Double = 2

    public init() {}

    public func run(_ check: CommandCheck, name: String, environment: [String: String], now: Timestamp) async -> CheckResult {
        let outcome = await outcome(check.command, environment: environment, timeout: Double(check.timeout))
        func with(_ head: String, _ output: [UInt8]) -> String {
            let tail = Self.tail(output, limit: evidenceLimit)
            return tail.isEmpty ? head + " (no output)" : head + ": " + tail
        }
        switch outcome {
        case .exited(0, let output):
            return CheckResult(check: name, status: .passed, evidence: with("exit 0", output), at: now)
        case .exited(let status, let output):
            return CheckResult(check: name, status: .failed, evidence: with("exit \(status)", output), at: now)
        case .timedOut(let output):
            return CheckResult(check: name, status: .failed, evidence: with("timed out after \(DurationText.words(check.timeout))", output), at: now)
        case .cancelled(let output):
            return CheckResult(check: name, status: .pending, evidence: with("cancelled before the command finished", output), at: now)
        case .couldNotStart(let reason):
            return CheckResult(check: name, status: .failed, evidence: "could not start the command: \(reason)", at: now)
        }
    }

    /// How a command ended, for callers that read its exit status themselves (`tidemark bisect`
    /// follows `git bisect run`'s convention).
    public struct Ending: Sendable, Hashable {
        /// The exit status (128 + N when killed by signal N); nil when it timed out, was
        /// cancelled or could not start.
        public var status: Int32?
        public var timedOut: Bool
        public var cancelled: Bool
        /// The last lines of its output (see `evidenceLimit`), or why it could not start.
        public var output: String
    }

    /// Runs `/bin/sh -c command` as `run` does (own process group, timeout, own thread).
    public func execute(_ command: String, environment: [String: String], timeout: Int) async -> Ending {
        let outcome = await outcome(command, environment: environment, timeout: Double(timeout))
        switch outcome {
        case .exited(let status, let output): return Ending(status: status, timedOut: false, cancelled: false, output: Self.tail(output, limit: evidenceLimit))
        case .timedOut(let output): return Ending(status: nil, timedOut: true, cancelled: false, output: Self.tail(output, limit: evidenceLimit))
        case .cancelled(let output): return Ending(status: nil, timedOut: false, cancelled: true, output: Self.tail(output, limit: evidenceLimit))
        case .couldNotStart(let reason): return Ending(status: nil, timedOut: false, cancelled: false, output: "could not start the command: \(reason)")
        }
    }

    private func outcome(_ command: String, environment: [String: String], timeout: Double) async -> CommandOutcome {
        let control = CommandControl()
        let grace = killGrace
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (done: CheckedContinuation<CommandOutcome, Never>) in
                let thread = Thread {
                    done.resume(returning: Self.execute(command, environment: environment, timeout: timeout, grace: grace, control: control))
                }
                thread.name = "tidemark-check"
                thread.start()
            }
        } onCancel: {
            control.cancel()
        }
    }

    enum CommandOutcome: Sendable {
        case exited(Int32, [UInt8])
        case timedOut([UInt8])
        case cancelled([UInt8])
        case couldNotStart(String)
    }

    final class CommandControl: Sendable {
        private let flag = Atomic<Bool>(false)
        func cancel() { flag.store(true, ordering: .relaxed) }
        var isCancelled: Bool { flag.load(ordering: .relaxed) }
    }

    /// The last `limit` bytes written to a pipe.
    struct Tail {
        let limit: Int
        var bytes: [UInt8] = []

        mutating func append(_ chunk: UnsafeRawBufferPointer) {
            bytes.append(contentsOf: chunk)
            if bytes.count > 2 * limit { bytes.removeFirst(bytes.count - limit) }
        }

        var last: [UInt8] { bytes.count > limit ? Array(bytes.suffix(limit)) : bytes }
    }

    /// Runs the command to its end, its timeout or its cancellation; blocks the calling thread.
    static func execute(_ command: String, environment: [String: String], timeout: Double, grace: Double, control: CommandControl) -> CommandOutcome {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return .couldNotStart("pipe: \(String(cString: strerror(errno)))") }
        var fd = fds[0]
        let write = fds[1]
        for f in fds { _ = fcntl(f, F_SETFD, FD_CLOEXEC) }
        let child: ChildProcess
        do {
            child = try ChildProcess.spawn("/bin/sh", ["-c", command], environment: environment, stdin: .null, stdout: .fd(write), stderr: .fd(write), newProcessGroup: true)
        } catch {
            close(fd)
            close(write)
            return .couldNotStart(error.message)
        }
        close(write)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var tail = Tail(limit: 64 << 10)
        var buffer = [UInt8](repeating: 0, count: 16 << 10)

        /// Reads what the pipe holds now; closes it at its end.
        func drain() {
            var chunks = 0
            while fd >= 0, chunks < 64 {
                chunks += 1
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    buffer.withUnsafeBytes { tail.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                } else if n < 0, errno == EINTR {
                    continue
                } else {
                    if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) {
                        close(fd)
                        fd = -1
                    }
                    return
                }
            }
        }

        /// Waits up to `seconds` for something to read (or a short while once the pipe is closed).
        func waitForOutput(_ seconds: Double) {
            if fd >= 0 {
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                if poll(&p, 1, Int32(max(1, min(seconds, 0.1) * 1000))) > 0 { drain() }
            } else {
                usleep(useconds_t(max(1000, min(seconds, 0.02) * 1_000_000)))
            }
        }

        let start = Self.monotonic()
        let stop: CommandOutcome
        while true {
            if !child.isRunning {
                drain()
                // Something the command left running still holds its output: end its group.
                if fd >= 0 { child.signalGroup(SIGKILL) }
                stop = .exited(child.wait(), [])
                break
            }
            if control.isCancelled {
                stop = .cancelled([])
                break
            }
            let left = timeout - (Self.monotonic() - start)
            if left <= 0 {
                stop = .timedOut([])
                break
            }
            waitForOutput(left)
        }
        if case .exited = stop {} else {
            child.signalGroup(SIGTERM)
            let killAt = Self.monotonic() + grace
            while child.isRunning, Self.monotonic() < killAt { waitForOutput(killAt - Self.monotonic()) }
            // Stragglers that ignored SIGTERM (or the shell itself).
            if child.isRunning || fd >= 0 { child.signalGroup(SIGKILL) }
            child.wait()
        }
        drain()
        if fd >= 0 { close(fd) }
        let output = tail.last
        switch stop {
        case .exited(let status, _): return .exited(status, output)
        case .timedOut: return .timedOut(output)
        case .cancelled: return .cancelled(output)
        case .couldNotStart: return stop
        }
    }

    static func monotonic() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    /// The last lines of `output`, cleaned of terminal escapes and control characters, joined
    /// with " | " and cut to about `limit` characters.
    static func tail(_ output: [UInt8], limit: Int) -> String {
        var bytes = output[...]
        while let b = bytes.first, b & 0xC0 == 0x80 { bytes = bytes.dropFirst() }  // cut inside a character
        let lines = Evidence.clean(String(decoding: bytes, as: UTF8.self), keepNewlines: true)
            .split(separator: "\n").map { $0.trimmed }.filter { !$0.isEmpty }
        var out: [String] = [], size = 0
        for line in lines.reversed() {
            if size + line.count > limit {
                if out.isEmpty { out.append("…" + line.suffix(limit - 1)) }
                break
            }
            out.insert(line, at: 0)
            size += line.count + 3
        }
        return out.joined(separator: " | ")
    }
}

// MARK: - HTTP checks

/// An HTTP check: the endpoint's status and, with a JSON path, the value there.
///
/// - No answer at all (connection refused, a timeout, a name that does not resolve, a
///   connection dropped mid-answer) is **pending**: the endpoint may be restarting, and the
///   rollout waits, up to the check's deadline, rather than guess.
/// - Any answer is judged. A status other than the expected one fails, **5xx included**: a
///   server that says "503 Service Unavailable" has answered, and the answer is no.
/// - With `jsonPath`: a body that is not JSON fails, a path that selects nothing fails; the
///   value there (a JSON scalar as text: strings without quotes, numbers as written,
///   `true`/`false`/`null`) in `expect` passes, in `pending` is pending, anything else fails.
///
/// The client is the caller's (the server's one client; `withClient` for a one-off).
public struct HTTPCheckRunner: Sendable {
    public let client: HTTPClient
    /// Bytes of an answer read at most; a JSON answer longer than this fails.
    public var maxBody = 4 << 20

    public init(client: HTTPClient) { self.client = client }

    /// Runs `body` with a runner on a client of its own, shut down afterwards.
    public static func withClient<T>(_ body: (HTTPCheckRunner) async throws -> T) async rethrows -> T {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let result = try await body(HTTPCheckRunner(client: client))
            try? await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    public func run(_ check: HTTPCheck, name: String, now: Timestamp) async -> CheckResult {
        func result(_ status: CheckResult.Status, _ evidence: String) -> CheckResult {
            CheckResult(check: name, status: status, evidence: evidence, at: now)
        }
        var request = HTTPClientRequest(url: check.url)
        request.headers.add(name: "User-Agent", value: "tidemark")
        request.headers.add(name: "Accept", value: check.jsonPath == nil ? "*/*" : "application/json")
        let status: Int
        var body: [UInt8] = [], truncated = false
        let client = self.client, maxBody = self.maxBody, seconds = Int64(max(1, check.timeout)), sent = request
        do {
            // The whole exchange within the timeout, head and body, enforced here as well: the
            // client's own deadline was seen to let a stalled answer through on a loaded machine.
            (status, body, truncated) = try await withThrowingTaskGroup(of: (Int, [UInt8], Bool)?.self) { group in
                group.addTask {
                    let response = try await client.execute(sent, timeout: .seconds(seconds))
                    var bytes: [UInt8] = [], cut = false
                    for try await chunk in response.body {
                        let room = maxBody - bytes.count
                        if chunk.readableBytes > room {
                            bytes.append(contentsOf: chunk.readableBytesView.prefix(room))
                            cut = true
                            break
                        }
                        bytes.append(contentsOf: chunk.readableBytesView)
                    }
                    return (Int(response.status.code), bytes, cut)
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(seconds))
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let answer = first else { throw HTTPClientError.deadlineExceeded }
                return answer
            }
        } catch {
            if let e = error as? HTTPClientError, [HTTPClientError.invalidURL, .emptyHost, .emptyScheme].contains(e) {
                return result(.failed, "cannot ask \(check.url): \(Self.describe(error, timeout: check.timeout))")
            }
            return result(.pending, "no answer from \(check.url): \(Self.describe(error, timeout: check.timeout))")
        }
        let start = Evidence.start(body)
        guard status == check.status else {
            return result(.failed, "HTTP \(status), expected \(check.status)" + (start.isEmpty ? " (empty answer)" : ": " + start))
        }
        guard let pathText = check.jsonPath else {
            return result(.passed, "HTTP \(status) from \(check.url)")
        }
        let path: JSONPath
        do { path = try JSONPath(pathText) } catch { return result(.failed, "json-path \(error.message)") }
        guard !truncated else {
            return result(.failed, "HTTP \(status), but the answer is longer than \(maxBody) bytes; json-path needs the whole document")
        }
        let json: JSONValue
        do { json = try JSONValue.parse(body) } catch {
            let why = error.message.hasPrefix("body is not valid JSON: ") ? String(error.message.dropFirst("body is not valid JSON: ".count)) : error.message
            return result(.failed, "HTTP \(status), but the answer is not JSON (\(why))" + (start.isEmpty ? "" : ": " + start))
        }
        let value: String
        switch path.evaluate(json) {
        case .failure(let miss):
            return result(.failed, "HTTP \(status), but \(pathText) selects nothing: \(miss)")
        case .success(let v):
            guard let text = v.scalarText else {
                return result(.failed, "HTTP \(status), but \(pathText) is \(v.kindName), not a single value; expected \(Self.list(check.expect))")
            }
            value = text
        }
        let shown = Self.quote(value)
        if check.expect.contains(value) {
            return result(.passed, "HTTP \(status), \(pathText) = \(shown)")
        }
        if check.pending.contains(value) {
            return result(.pending, "HTTP \(status), \(pathText) = \(shown): not yet (passes at \(Self.list(check.expect)))")
        }
        let waits = check.pending.isEmpty ? "" : "; pending at \(Self.list(check.pending))"
        return result(.failed, "HTTP \(status), \(pathText) = \(shown), expected \(Self.list(check.expect))\(waits)")
    }

    static func quote(_ value: String) -> String {
        "'" + Evidence.clean(value.count > 80 ? String(value.prefix(77)) + "..." : value, keepNewlines: false) + "'"
    }

    static func list(_ values: [String]) -> String {
        values.isEmpty ? "(nothing)" : values.map(quote).joined(separator: " or ")
    }

    /// Why there was no answer, in words ("connection refused", "timed out after 30s").
    static func describe(_ error: any Error, timeout: Int) -> String {
        if let e = error as? HTTPClientError {
            switch e {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout, .tlsHandshakeTimeout:
                return "timed out after \(DurationText.words(timeout))"
            case .remoteConnectionClosed:
                return "the connection was closed before a complete answer"
            default:
                break
            }
        }
        var text = String(describing: error)
        if let e = error as? IOError { text = e.description }
        let lower = text.lowercased()
        if lower.contains("connection refused") || lower.contains("errno: 111") { return "connection refused" }
        if lower.contains("timed out") || lower.contains("timeout") { return "timed out after \(DurationText.words(timeout))" }
        return Evidence.clean(text.count > 300 ? String(text.prefix(297)) + "..." : text, keepNewlines: false)
    }
}

/// Text fit for evidence: no terminal escapes, no control characters.
enum Evidence {
    static func clean(_ text: some StringProtocol, keepNewlines: Bool) -> String {
        var out = "", escape = false
        for u in text.unicodeScalars {
            if escape {
                // ESC [ … final byte (0x40-0x7E), or ESC and one character
                if u.value >= 0x40, u.value <= 0x7E, u != "[" { escape = false }
                continue
            }
            switch u {
            case "\u{1B}": escape = true
            case "\n": out += keepNewlines ? "\n" : " "
            case "\t", "\r": out += keepNewlines && u == "\r" ? "" : " "
            default:
                if u.value < 0x20 || u.value == 0x7F || (0x80...0x9F).contains(u.value) { continue }
                out.unicodeScalars.append(u)
            }
        }
        return out
    }

    /// The start of an answer's body, on one line, at most about 200 characters.
    static func start(_ body: [UInt8]) -> String {
        let text = clean(String(decoding: body.prefix(800), as: UTF8.self), keepNewlines: false)
        let words = text.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        return words.count > 200 ? String(words.prefix(200)) + "…" : words
    }
}
