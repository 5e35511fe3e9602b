import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TidemarkCore

/// The HTTP API of `tidemark server`, typed: what the agent reports with and what the CLI's
/// `--server` reads through, so both speak exactly the contract the server implements.
public final class TidemarkClient: Sendable {
    public let baseURL: String
    private let token: String?
    private let http: HTTPClient
    private let timeout: TimeAmount

    /// - Parameters:
    ///   - baseURL: `http://host:port` (a trailing `/` is fine).
    ///   - token: sent as `Authorization: Bearer`.
    ///   - connections: concurrent connections to the server (requests beyond them wait).
    public init(baseURL: String, token: String?, timeout: Duration = .seconds(60), connections: Int = 8) throws(TidemarkError) {
        var base = baseURL.trimmed
        while base.hasSuffix("/") { base.removeLast() }
        guard base.hasPrefix("http://") || base.hasPrefix("https://"), URL(string: base) != nil else {
            throw TidemarkError(.invalidArgument, "server URL '\(baseURL)' must start with http:// or https://")
        }
        self.baseURL = base
        self.token = token?.trimmed
        self.timeout = .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000)
        var config = HTTPClient.Configuration()
        config.timeout = .init(connect: .seconds(10), read: self.timeout)
        config.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(1, connections)
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }

    /// Must be called before the client goes away.
    public func shutdown() async {
        try? await http.shutdown()
    }

    // MARK: observations

    /// What the server said to one observation.
    public enum PostOutcome: Sendable, Equatable {
        case recorded(RecordOutcomeName)
        /// A heartbeat whose state the server does not know: send the full observation.
        case unknownState
    }

    /// The server's `outcome` field (`recorded`, `recorded-new-state`, `duplicate`).
    public typealias RecordOutcomeName = String

    public func post(_ payload: ObservationPayload) async throws -> PostOutcome {
        struct Answer: Decodable { var outcome: String }
        let (status, body) = try await send(.POST, "/api/v1/observations", body: payload.json())
        if status == 409, (try? decodeError(body))?.code == "unknown_state" { return .unknownState }
        try check(status, body)
        return .recorded(try decode(Answer.self, body).outcome)
    }

    // MARK: reads (the same answers as the local store, as JSON)

    public func hosts() async throws -> [HostSummary] { try await get("/api/v1/hosts") }

    public func history(host: String, since: String?, until: String?) async throws -> HistoryResult {
        try await get("/api/v1/hosts/\(pathEscape(host))/history", ["since": since, "until": until])
    }

    public func show(_ ref: String) async throws -> ShowResult { try await get("/api/v1/show", ["ref": ref]) }

    public func diff(_ from: String, _ to: String, changelog: Bool) async throws -> DiffResult {
        try await get("/api/v1/diff", ["from": from, "to": to, "changelog": changelog ? "true" : nil])
    }

    public func whereIs(_ name: String, at: String?) async throws -> WhereResult {
        try await get("/api/v1/where/\(pathEscape(name))", ["at": at])
    }

    public func drift(against: String?, at: String?) async throws -> DriftResult {
        try await get("/api/v1/drift", ["against": against, "at": at])
    }

    // MARK: archive

    /// Uploads a package file to the server's archive; true when it was new there.
    public func uploadPackage(_ bytes: [UInt8]) async throws -> (added: Bool, file: ArchivedFile) {
        struct Answer: Decodable { var outcome: String; var file: ArchivedFile }
        let (status, body) = try await send(.POST, "/api/v1/archive/files", body: bytes, contentType: "application/x-rpm")
        try check(status, body)
        let a = try decode(Answer.self, body)
        return (a.outcome == "added", a.file)
    }

    public func archivedFiles() async throws -> [ArchivedFile] { try await get("/api/v1/archive/files") }

    /// Which of these SHA-256s the server's archive lacks.
    public func missingFromArchive(_ sha256s: [String]) async throws -> [String] {
        struct Ask: Encodable { var sha256: [String] }
        struct Answer: Decodable { var missing: [String] }
        return try await post("/api/v1/archive/missing", Ask(sha256: sha256s), as: Answer.self).missing
    }

    /// An archived package file's bytes, checked against its SHA-256.
    public func downloadPackage(_ file: ArchivedFile) async throws -> [UInt8] {
        let (status, body) = try await send(.GET, "/api/v1/repos/all/" + file.href, body: nil)
        try check(status, body)
        let bytes = Array(body.readableBytesView)
        guard SHA256.hex(bytes) == file.sha256 else {
            throw TidemarkError(.corrupt, "\(file.fileName) from \(baseURL) does not match its SHA-256 \(file.sha256) (\(bytes.count) bytes received)")
        }
        return bytes
    }

    // MARK: jobs

    /// Asks the host's agent to turn the host into state `to` (a ref); the server plans it and
    /// refuses when a needed package is not archived.
    public func createRollback(host: String, to ref: String, dryRun: Bool) async throws -> (job: HostJob, plan: TransactionPlan) {
        struct Ask: Encodable { var kind = "rollback"; var to: String; var dryRun: Bool }
        struct Answer: Decodable { var job: HostJob; var plan: TransactionPlan }
        let a = try await post("/api/v1/hosts/\(pathEscape(host))/jobs", Ask(to: ref, dryRun: dryRun), as: Answer.self)
        return (a.job, a.plan)
    }

    public func job(_ id: Int64) async throws -> HostJob { try await get("/api/v1/jobs/\(id)") }

    public func pendingJobs(host: String) async throws -> [HostJob] {
        try await get("/api/v1/hosts/\(pathEscape(host))/jobs", ["status": "pending"])
    }

    /// The packages of a job's target state (what the job's host may read of the history).
    public func jobTarget(_ id: Int64) async throws -> ShowResult { try await get("/api/v1/jobs/\(id)/target") }

    public func claimJob(_ id: Int64) async throws -> HostJob {
        struct Empty: Encodable {}
        return try await post("/api/v1/jobs/\(id)/claim", Empty(), as: HostJob.self)
    }

    public func finishJob(_ id: Int64, succeeded: Bool, resultState: StateID?, message: String?, output: String?) async throws -> HostJob {
        struct Result: Encodable { var succeeded: Bool; var resultState: StateID?; var message: String?; var output: String? }
        return try await post("/api/v1/jobs/\(id)/result", Result(succeeded: succeeded, resultState: resultState, message: message, output: output), as: HostJob.self)
    }

    // MARK: plumbing

    func post<B: Encodable, T: Decodable>(_ path: String, _ value: B, as: T.Type) async throws -> T {
        let body: [UInt8]
        do { body = Array(try JSONEncoder().encode(value)) } catch { throw TidemarkError(.invalidArgument, "cannot encode the request: \(error)") }
        let (status, answer) = try await send(.POST, path, body: body)
        try check(status, answer)
        return try decode(T.self, answer)
    }

    func get<T: Decodable>(_ path: String, _ query: [String: String?] = [:]) async throws -> T {
        let (status, body) = try await send(.GET, path + queryString(query), body: nil)
        try check(status, body)
        return try decode(T.self, body)
    }

    /// `body` is a JSON document.
    func send(_ method: HTTPMethod, _ path: String, body json: [UInt8]?, contentType: String = "application/json") async throws -> (Int, ByteBuffer) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let json {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: json))
        }
        do {
            let response = try await http.execute(request, timeout: timeout)
            let body = try await response.body.collect(upTo: 4 << 30)
            return (Int(response.status.code), body)
        } catch let e as TidemarkError {
            throw e
        } catch {
            throw TidemarkError(.unreachable, "cannot reach the Tidemark server at \(baseURL): \(error)")
        }
    }

    struct ServerError: Decodable {
        var code: String
        var message: String
    }

    private func decodeError(_ body: ByteBuffer) throws -> ServerError {
        struct Wrapper: Decodable { var error: ServerError }
        return try JSONDecoder().decode(Wrapper.self, from: Data(body.readableBytesView)).error
    }

    /// Turns a 4xx/5xx answer into the server's own error message.
    func check(_ status: Int, _ body: ByteBuffer) throws {
        guard status >= 400 else { return }
        guard let e = try? decodeError(body) else {
            throw TidemarkError(.toolFailed, "server \(baseURL) answered HTTP \(status): \(String(buffer: body).prefix(500))")
        }
        let code: TidemarkError.Code = switch status {
        case 400, 413, 422: .invalidInput
        case 401, 403: .unauthorized
        case 404: .notFound
        case 409: .conflict
        default: TidemarkError.Code(rawValue: e.code) ?? .toolFailed
        }
        throw TidemarkError(code, e.message + (status >= 500 ? " (server error \(status))" : ""))
    }

    func decode<T: Decodable>(_ type: T.Type, _ body: ByteBuffer) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(body.readableBytesView))
        } catch {
            throw TidemarkError(.toolFailed, "server \(baseURL) sent an answer that is not a \(T.self): \(error)")
        }
    }

    func pathEscape(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? s
    }

    private func queryString(_ query: [String: String?]) -> String {
        let items = query.compactMap { k, v in v.map { (k, $0) } }.sorted { $0.0 < $1.0 }
        guard !items.isEmpty else { return "" }
        var c = URLComponents()
        c.queryItems = items.map { URLQueryItem(name: $0.0, value: $0.1) }
        // '+' in versions or zones must survive: URLComponents leaves it unescaped.
        return "?" + (c.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
    }
}
