import AsyncHTTPClient
import CCrypto
import Foundation
import NIOCore
import TidemarkCore

/// Reads an openQA web UI's API: the jobs and workers a gate or a health check judges by.
/// Read-only: it never schedules, restarts or changes jobs, so pointing Tidemark at a
/// production openQA cannot disturb its tests.
///
/// Anonymous reads are what openQA's job and worker lists allow; with an API key and secret,
/// requests are signed as openQA's own `OpenQA::UserAgent` signs them (for instances that put
/// their API behind authentication): `X-API-Key`, `X-API-Microtime` (Unix seconds) and
/// `X-API-Hash`, the hex HMAC-SHA1 with the secret of the request's path and query followed by
/// that time. The web UI checks it against the URL as Mojolicious re-serializes the parsed
/// query (the WHATWG form encoding: only `A-Za-z0-9*-._` literal, space as `+`, the rest
/// `%XX`), so queries are sent encoded exactly that way.
///
/// Every error is a `TidemarkError` naming the URL: `.unreachable` when openQA cannot be
/// reached, `.toolFailed` for an HTTP error status (with openQA's message), `.corrupt` for an
/// answer that is not the JSON expected (naming the field), `.notFound` for a missing job.
public struct OpenQAClient: Sendable {
    /// `http(s)://host[:port][/prefix]`, without a trailing slash.
    public let baseURL: String
    public let apiKey: String?
    private let apiSecret: String?
    /// The base URL's path (a web UI behind a proxy prefix): part of what is signed.
    private let basePath: String
    private let http: HTTPClient
    private let timeout: Duration

    /// - Parameters:
    ///   - apiKey, apiSecret: both or neither; given, every request is signed.
    ///   - timeout: for one whole request (openQA's job lists can be slow on a big instance).
    ///   - http: the connection pool (`sharedHTTPClient` by default, which needs no shutdown).
    public init(baseURL: String, apiKey: String? = nil, apiSecret: String? = nil, timeout: Duration = .seconds(60), http: HTTPClient = OpenQAClient.sharedHTTPClient) throws(TidemarkError) {
        var base = baseURL.trimmed
        while base.hasSuffix("/") { base.removeLast() }
        guard base.hasPrefix("http://") || base.hasPrefix("https://"), let components = URLComponents(string: base), components.host?.isEmpty == false else {
            throw TidemarkError(.invalidArgument, "openQA URL '\(baseURL)' must be http:// or https:// and name a host")
        }
        let key = apiKey?.trimmed, secret = apiSecret?.trimmed
        guard (key ?? "").isEmpty == (secret ?? "").isEmpty else {
            throw TidemarkError(.invalidArgument, "openQA at \(base): an API key needs its secret and a secret its key")
        }
        self.baseURL = base
        self.apiKey = (key ?? "").isEmpty ? nil : key
        self.apiSecret = (secret ?? "").isEmpty ? nil : secret
        self.basePath = components.percentEncodedPath
        self.http = http
        self.timeout = timeout
    }

    /// The process-wide default pool: `HTTPClient.shared`'s browser-like settings, but giving up
    /// connecting after 10 s instead of 90, so an openQA that is down is reported unreachable
    /// in seconds rather than when a request's whole timeout has passed. Never shut down.
    public static let sharedHTTPClient: HTTPClient = {
        var config = HTTPClient.Configuration.singletonConfiguration
        config.timeout.connect = .seconds(10)
        config.redirectConfiguration = .follow(max: 5, allowCycles: false)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: config)
    }()

    // MARK: reads

    /// `GET /api/v1/jobs` with `query`'s filters, newest (highest id) first. (openQA picks the
    /// newest `limit` jobs but lists them sorted by id as text: 10 before 9.)
    public func jobs(_ query: OpenQAJobQuery) async throws -> [OpenQAJob] {
        struct Answer: Decodable { var jobs: [OpenQAJob] }
        return try await getJSON(Answer.self, "/api/v1/jobs", query.parameters).jobs.sorted { $0.id > $1.id }
    }

    /// `GET /api/v1/jobs/ID`; `.notFound` when openQA has no such job.
    public func job(id: Int64) async throws -> OpenQAJob {
        struct Answer: Decodable { var job: OpenQAJob }
        let path = "/api/v1/jobs/\(id)"
        let (status, body) = try await send(path, [])
        if status == 404 { throw TidemarkError(.notFound, "openQA at \(baseURL) has no job \(id) (GET \(path): HTTP 404)") }
        try check(status, body, path)
        return try decode(Answer.self, body, path).job
    }

    /// `GET /api/v1/workers`: every registered worker instance.
    public func workers() async throws -> [OpenQAWorker] {
        struct Answer: Decodable { var workers: [OpenQAWorker] }
        return try await getJSON(Answer.self, "/api/v1/workers", []).workers
    }

    /// The group's latest build: the BUILD of its newest job, which is how openQA itself picks
    /// the build its group overview shows (`latest_build`: highest job id). nil when the group
    /// has no jobs. (Newer openQA also serves `/api/v1/job_groups/ID/build_results`; the job
    /// list works on every version.)
    public func latestBuild(groupID: Int64) async throws -> String? {
        try await jobs(OpenQAJobQuery(groupID: groupID, limit: 1)).first?.build
    }

    /// Finished jobs (state `done`) whose t_finished is at or after `since` (all when nil),
    /// newest id first. The API cannot filter on time, so this pages back through the job list
    /// by id (`before`) and filters here; it reads at most `limit` jobs, and stops early once a
    /// whole page finished before `since` (ids grow with creation, so older jobs finished
    /// earlier still; a job that ran for longer than a page of newer ones took can be missed).
    public func finishedJobs(since: Timestamp?, limit: Int = 5000, pageSize: Int = 500) async throws -> [OpenQAJob] {
        var out: [OpenQAJob] = []
        var before: Int64?
        var read = 0
        while read < limit {
            let want = min(max(1, pageSize), limit - read)
            let page = try await jobs(OpenQAJobQuery(states: ["done"], limit: want, before: before))
            read += page.count
            let fresh = page.filter { job in since.map { s in job.tFinished.map { $0 >= s } ?? false } ?? true }
            out += fresh
            guard let oldest = page.map(\.id).min(), page.count == want else { break }
            if since != nil, fresh.isEmpty { break }
            before = oldest
        }
        return out.sorted { $0.id > $1.id }
    }

    /// Resolves the gate's build (its own, or the group's latest), reads the group's latest jobs
    /// for it, and judges them (`OpenQAGate.evaluate`).
    public func check(_ gate: OpenQAGate, name: String, at: Timestamp) async throws -> CheckResult {
        let build: String?
        if let b = gate.build { build = b } else { build = try await latestBuild(groupID: gate.group) }
        guard let build else { return gate.evaluate([], build: nil, check: name, at: at) }
        let jobs = try await jobs(OpenQAJobQuery(groupID: gate.group, build: build, latest: true))
        return gate.evaluate(jobs, build: build, check: name, at: at)
    }

    /// Any other read: `GET path?query` (path from the base URL, e.g. `/api/v1/job_groups`),
    /// signed like the others; the body of a 2xx answer.
    public func get(_ path: String, query: [(String, String)] = []) async throws -> [UInt8] {
        let (status, body) = try await send(path, query)
        try check(status, body, path)
        return Array(body.readableBytesView)
    }

    // MARK: HTTP

    private func getJSON<T: Decodable>(_ type: T.Type, _ path: String, _ query: [(String, String)]) async throws -> T {
        let (status, body) = try await send(path, query)
        try check(status, body, path)
        return try decode(T.self, body, path)
    }

    private func send(_ path: String, _ query: [(String, String)]) async throws -> (Int, ByteBuffer) {
        let encoded = Self.encodeQuery(query)
        let target = path + (encoded.isEmpty ? "" : "?" + encoded)
        var request = HTTPClientRequest(url: baseURL + target)
        request.method = .GET
        request.headers.add(name: "Accept", value: "application/json")
        if let apiKey, let apiSecret {
            let now = Int64(Date().timeIntervalSince1970)
            request.headers.add(name: "X-API-Key", value: apiKey)
            request.headers.add(name: "X-API-Microtime", value: String(now))
            request.headers.add(name: "X-API-Hash", value: Self.signature(basePath + target, time: now, secret: apiSecret))
        }
        do {
            let response = try await http.execute(request, timeout: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000))
            let body = try await response.body.collect(upTo: 256 << 20)
            return (Int(response.status.code), body)
        } catch {
            throw TidemarkError(.unreachable, "cannot reach openQA at \(baseURL) (GET \(target)): \(error)")
        }
    }

    /// A non-2xx status is an error quoting openQA's own message (`{"error": …}`) or the body's start.
    private func check(_ status: Int, _ body: ByteBuffer, _ path: String) throws {
        guard !(200..<300).contains(status) else { return }
        let text = String(buffer: body)
        var message = String(text.prefix(500))
        if let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
           let error = object["error"] as? String { message = error }
        var hint = ""
        if status == 403 || status == 401 {
            hint = apiKey == nil ? " (this needs an API key and secret)" : " (check the API key and secret, and that the clocks agree within 5 minutes)"
        }
        throw TidemarkError(.toolFailed, "openQA at \(baseURL) answered GET \(path) with HTTP \(status): \(message)\(hint)")
    }

    private func decode<T: Decodable>(_ type: T.Type, _ body: ByteBuffer, _ path: String) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(body.readableBytesView))
        } catch let error as DecodingError {
            throw TidemarkError(.corrupt, "openQA at \(baseURL) answered GET \(path) with unexpected JSON: \(Self.describe(error))")
        }
    }

    /// "field jobs[2].t_finished: not an ISO 8601 time: yesterday".
    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            var s = ""
            for k in keys {
                if let i = k.intValue { s += "[\(i)]" } else { s += (s.isEmpty ? "" : ".") + k.stringValue }
            }
            return s.isEmpty ? "the document" : "field \(s)"
        }
        switch error {
        case .keyNotFound(let key, let c): return "\(path(c.codingPath + [key])) is missing"
        case .valueNotFound(_, let c): return "\(path(c.codingPath)) is null"
        case .typeMismatch(let type, let c): return "\(path(c.codingPath)) is not \(type == String.self ? "text" : "a \(type)")"
        case .dataCorrupted(let c): return "\(path(c.codingPath)): \(c.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    // MARK: signing (openQA's OpenQA::UserAgent and OpenQA::Shared::Controller::Auth)

    /// Mojo::Parameters' serialization (WHATWG application/x-www-form-urlencoded): what the web
    /// UI hashes once it has parsed the query, and what it leaves alone if it has not.
    static func encodeQuery(_ query: [(String, String)]) -> String {
        query.map { formEncode($0.0) + "=" + formEncode($0.1) }.joined(separator: "&")
    }

    static func formEncode(_ text: String) -> String {
        var out = ""
        for b in text.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "*"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            case UInt8(ascii: " "):
                out += "+"
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                out += "%"
                out.unicodeScalars.append(hex[Int(b >> 4)])
                out.unicodeScalars.append(hex[Int(b & 15)])
            }
        }
        return out
    }

    /// X-API-Hash: hex HMAC-SHA1 of path-and-query followed by the time, keyed with the secret.
    static func signature(_ pathAndQuery: String, time: Int64, secret: String) -> String {
        hmacSHA1Hex(key: Array(secret.utf8), message: Array((pathAndQuery + String(time)).utf8))
    }

    static func hmacSHA1Hex(key: [UInt8], message: [UInt8]) -> String {
        var digest = [UInt8](repeating: 0, count: 20)
        // (a non-null pointer even for an empty key or message)
        let k = key.isEmpty ? [0] : key, m = message.isEmpty ? [0] : message
        let ok = k.withUnsafeBytes { kb in
            m.withUnsafeBytes { mb in
                tidemark_hmac_sha1(kb.baseAddress, key.count, mb.baseAddress, message.count, &digest)
            }
        }
        precondition(ok == 1, "OpenSSL's HMAC-SHA1 failed")
        return digest.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}
