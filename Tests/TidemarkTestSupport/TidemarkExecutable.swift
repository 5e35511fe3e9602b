import Foundation
import TidemarkCore
import TidemarkHosts

/// The built `tidemark` binary, run as a user runs it: end-to-end tests go through the real
/// command line (arguments, exit status, stdout and stderr), not through internals.
public struct TidemarkExecutable: Sendable {
    public let path: String
    /// The database every call uses (`--db` is appended to commands that take one).
    public let db: String

    public init(db: String) throws(TidemarkError) {
        self.db = db
        // The test runner lives in the build directory, next to the executable.
        let runner = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: runner).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("tidemark").path
            if FileManager.default.isExecutableFile(atPath: candidate) {
                path = candidate
                return
            }
            dir = dir.deletingLastPathComponent()
        }
        throw TidemarkError(.notFound, "the tidemark executable was not found near \(runner); run `swift build --build-tests` first")
    }

    /// Runs `tidemark ARGS --db DB`, whatever its exit status.
    public func run(_ args: [String], stdin: String? = nil, withDB: Bool = true) throws(TidemarkError) -> Subprocess.Result {
        try Subprocess.run(path, args + (withDB ? ["--db", db] : []), input: stdin.map { Data($0.utf8) })
    }

    /// Runs and requires exit status 0, returning stdout.
    @discardableResult
    public func check(_ args: [String], stdin: String? = nil) throws(TidemarkError) -> String {
        let r = try run(args, stdin: stdin)
        guard r.status == 0 else {
            throw TidemarkError(.toolFailed, "tidemark \(args.joined(separator: " ")) exited \(r.status): \(r.stderrText)")
        }
        return r.stdoutText
    }

    /// Runs with `--json` and decodes the answer.
    public func json<T: Decodable>(_ type: T.Type, _ args: [String]) throws -> T {
        let out = try check(args + ["--json"])
        return try JSONDecoder().decode(T.self, from: Data(out.utf8))
    }
}
