import ArgumentParser
import Foundation
import TidemarkClient
import TidemarkCore
import TidemarkStore

/// `--server URL` (or `$TIDEMARK_SERVER`) with a token: read commands then ask a Tidemark server
/// instead of a local database, and print exactly the same.
struct ServerOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Ask this Tidemark server instead of a local database (default: $TIDEMARK_SERVER).", valueName: "url"))
    var server: String?

    @Option(help: ArgumentHelp("File holding the API token (default: $TIDEMARK_TOKEN_FILE; or the token itself in $TIDEMARK_TOKEN).", valueName: "path"))
    var tokenFile: String?

    var url: String? {
        server ?? ProcessInfo.processInfo.environment["TIDEMARK_SERVER"].flatMap { $0.isEmpty ? nil : $0 }
    }

    func token() throws(TidemarkError) -> String? {
        let env = ProcessInfo.processInfo.environment
        if let path = tokenFile ?? env["TIDEMARK_TOKEN_FILE"].flatMap({ $0.isEmpty ? nil : $0 }) {
            let t = try readInput(path).trimmed
            guard !t.isEmpty else { throw TidemarkError(.invalidArgument, "token file \(path) is empty") }
            return t
        }
        return env["TIDEMARK_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `timeout`: how long one request may take (longer for requests that do long work on the
    /// server, such as a rollout that first mirrors a repository).
    func client(timeout: Duration = .seconds(60)) throws(TidemarkError) -> TidemarkClient? {
        guard let url else { return nil }
        return try TidemarkClient(baseURL: url, token: try token(), timeout: timeout)
    }
}

/// The read queries, answered by the local store or by a server: one rendering for both.
protocol QuerySource: Sendable {
    func hosts() async throws -> [HostSummary]
    func history(host: String, since: TimeSpec?, until: TimeSpec?) async throws -> HistoryResult
    func show(_ ref: String) async throws -> ShowResult
    func diff(_ from: String, _ to: String, changelog: Bool) async throws -> DiffResult
    func whereIs(_ name: String, at: TimeSpec?) async throws -> WhereResult
    func drift(against: String?, at: TimeSpec?) async throws -> DriftResult
}

struct LocalSource: QuerySource {
    let queries: HistoryQueries
    func hosts() async throws -> [HostSummary] { try await queries.store.hosts() }
    func history(host: String, since: TimeSpec?, until: TimeSpec?) async throws -> HistoryResult {
        let now = queries.now()
        return try await queries.history(host: host, since: since?.resolve(now: now), until: until?.resolve(now: now))
    }
    func show(_ ref: String) async throws -> ShowResult { try await queries.show(ref) }
    func diff(_ from: String, _ to: String, changelog: Bool) async throws -> DiffResult { try await queries.diff(from, to, changelog: changelog) }
    func whereIs(_ name: String, at: TimeSpec?) async throws -> WhereResult { try await queries.whereIs(name, at: at) }
    func drift(against: String?, at: TimeSpec?) async throws -> DriftResult { try await queries.drift(against: against, at: at) }
}

struct RemoteSource: QuerySource {
    let client: TidemarkClient
    func hosts() async throws -> [HostSummary] { try await client.hosts() }
    func history(host: String, since: TimeSpec?, until: TimeSpec?) async throws -> HistoryResult {
        try await client.history(host: host, since: since?.text, until: until?.text)
    }
    func show(_ ref: String) async throws -> ShowResult { try await client.show(ref) }
    func diff(_ from: String, _ to: String, changelog: Bool) async throws -> DiffResult { try await client.diff(from, to, changelog: changelog) }
    func whereIs(_ name: String, at: TimeSpec?) async throws -> WhereResult { try await client.whereIs(name, at: at?.text) }
    func drift(against: String?, at: TimeSpec?) async throws -> DriftResult { try await client.drift(against: against, at: at?.text) }
}

/// Options every read command takes: where to read from.
struct SourceOptions: ParsableArguments {
    @OptionGroup var store: StoreOptions
    @OptionGroup var remote: ServerOptions

    /// Runs `body` against the server when one is given, else against the local store.
    func with<T>(_ body: (any QuerySource) async throws -> T) async throws -> T {
        if let client = try remote.client() {
            do {
                let r = try await body(RemoteSource(client: client))
                await client.shutdown()
                return r
            } catch {
                await client.shutdown()
                throw error
            }
        }
        return try await store.withQueries { try await body(LocalSource(queries: $0)) }
    }
}
