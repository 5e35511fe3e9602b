import Foundation
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

    /// Runs `executable args…` to completion. Stdout and stderr are drained concurrently so a
    /// chatty tool cannot dead-lock on a full pipe. Throws only when the tool cannot be started.
    public static func run(
        _ executable: String, _ arguments: [String], input: Data? = nil,
        environment: [String: String]? = nil, currentDirectory: String? = nil
    ) throws(TidemarkError) -> Result {
        guard let path = which(executable) else {
            throw TidemarkError(.toolFailed, "'\(executable)' was not found on PATH; install it (see README)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let inPipe = input.map { _ in Pipe() }
        process.standardInput = inPipe ?? FileHandle.nullDevice
        // Foundation's waitUntilExit() polls every 50 ms on Linux; a termination handler does not.
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        ignoreSIGPIPE
        do { try process.run() } catch {
            throw TidemarkError(.toolFailed, "could not start \(path): \(error)")
        }
        let group = DispatchGroup()
        nonisolated(unsafe) var outData = Data(), errData = Data()
        group.enter()
        DispatchQueue.global().async { outData = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter()
        DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        if let inPipe, let input {
            // A tool that exits without reading its input is not our crash: EPIPE is ignored.
            try? inPipe.fileHandleForWriting.write(contentsOf: input)
            try? inPipe.fileHandleForWriting.close()
        }
        exited.wait()
        group.wait()
        return Result(status: process.terminationStatus, stdout: outData, stderr: errData)
    }

    /// Writing to a pipe whose reader has gone must fail with EPIPE, not kill the process.
    private static let ignoreSIGPIPE: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

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
