import AsyncHTTPClient
import Foundation
import NIOCore
import TidemarkCore
import TidemarkHosts

/// A command check: `/bin/sh -c`, exit 0 passes, anything else (a timeout included) fails with
/// the exit status and the end of its output as evidence. The command runs in its own process
/// group, so a timeout ends it together with everything it started.
public struct CommandCheckRunner: Sendable {
    public init() {}

    public func run(_ check: CommandCheck, name: String, environment: [String: String], now: Timestamp) async -> CheckResult {
        let output = FileManager.default.temporaryDirectory.path + "/tidemark-check-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).out"
        defer { try? FileManager.default.removeItem(atPath: output) }
        let child: ChildProcess
        do {
            child = try ChildProcess.spawn(
                "/bin/sh", ["-c", check.command], environment: environment, stdout: .file(output, append: false), stderr: .file(output, append: true),
                newProcessGroup: true)
        } catch {
            return CheckResult(check: name, status: .failed, evidence: "cannot run the command: \(error.message)", at: now)
        }
        let deadline = ContinuousClock.now + .seconds(check.timeout)
        var timedOut = false
        while child.isRunning {
            if ContinuousClock.now >= deadline {
                timedOut = true
                child.signalGroup(SIGTERM)
                try? await Task.sleep(for: .seconds(2))
                child.signalGroup(SIGKILL)
                break
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        let status = child.wait()
        let text = Self.tail((try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
        if timedOut {
            return CheckResult(check: name, status: .failed, evidence: "timed out after \(DurationText.words(check.timeout))" + (text.isEmpty ? "" : ": " + text), at: now)
        }
        if status == 0 {
            return CheckResult(check: name, status: .passed, evidence: "exit 0" + (text.isEmpty ? "" : ": " + text), at: now)
        }
        return CheckResult(check: name, status: .failed, evidence: "exit \(status)" + (text.isEmpty ? "" : ": " + text), at: now)
    }

    /// The last lines of a command's output, at most about 400 characters, on one line.
    static func tail(_ text: String) -> String {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var out: [String] = [], size = 0
        for line in lines.reversed() {
            if size + line.count > 400 {
                if out.isEmpty { out.append("…" + line.suffix(399)) }
                break
            }
            out.insert(line, at: 0)
            size += line.count + 3
        }
        return out.joined(separator: " / ")
    }
}

/// An HTTP check: the endpoint's status, and with a JSON path the value there. No answer at all
/// is pending (the endpoint may be restarting; the rollout waits up to the deadline); any answer
/// is judged, a 5xx included.
public struct HTTPCheckRunner: Sendable {
    public let client: HTTPClient

    public init(client: HTTPClient) { self.client = client }

    public func run(_ check: HTTPCheck, name: String, now: Timestamp) async -> CheckResult {
        let status: Int, body: ByteBuffer
        do {
            let response = try await client.execute(HTTPClientRequest(url: check.url), timeout: .seconds(Int64(check.timeout)))
            status = Int(response.status.code)
            body = try await response.body.collect(upTo: 16 << 20)
        } catch {
            return CheckResult(check: name, status: .pending, evidence: "no answer from \(check.url): \(error)", at: now)
        }
        let start = String(buffer: body).prefix(200).trimmingCharacters(in: .whitespacesAndNewlines)
        guard status == check.status else {
            return CheckResult(check: name, status: .failed, evidence: "HTTP \(status), expected \(check.status)" + (start.isEmpty ? "" : ": " + start), at: now)
        }
        guard let pathText = check.jsonPath else {
            return CheckResult(check: name, status: .passed, evidence: "HTTP \(status)", at: now)
        }
        let value: String
        do {
            let path = try JSONPath(pathText)
            guard let json = try? JSONValue.parse(Array(body.readableBytesView)) else {
                return CheckResult(check: name, status: .failed, evidence: "HTTP \(status), but the answer is not JSON: \(start)", at: now)
            }
            switch path.evaluate(json) {
            case .failure(let miss):
                return CheckResult(check: name, status: .failed, evidence: "HTTP \(status): \(miss)", at: now)
            case .success(let v):
                guard let text = v.scalarText else {
                    return CheckResult(check: name, status: .failed, evidence: "HTTP \(status): \(pathText) is \(v.kindName), not a single value", at: now)
                }
                value = text
            }
        } catch let e as TidemarkError {
            return CheckResult(check: name, status: .failed, evidence: "HTTP \(status): \(e.message)", at: now)
        } catch {
            return CheckResult(check: name, status: .failed, evidence: "HTTP \(status): \(error)", at: now)
        }
        if check.expect.contains(value) {
            return CheckResult(check: name, status: .passed, evidence: "HTTP \(status), \(pathText) = \(value)", at: now)
        }
        if check.pending.contains(value) {
            return CheckResult(check: name, status: .pending, evidence: "HTTP \(status), \(pathText) = \(value) (still pending)", at: now)
        }
        return CheckResult(check: name, status: .failed, evidence: "HTTP \(status), \(pathText) = \(value), expected \(check.expect.joined(separator: " or "))", at: now)
    }
}

