import Foundation
import Hummingbird
import NIOCore
import NIOHTTP1
import NIOPosix
import Logging
import Synchronization
import TidemarkArchive
import TidemarkCore
import TidemarkCulprits
import TidemarkHosts
import TidemarkRepo
import TidemarkRollouts
import TidemarkStore

/// How `tidemark server` listens and what it accepts.
public struct ServerConfiguration: Sendable {
    /// Loopback by default: a fleet-facing server goes behind a TLS-terminating reverse proxy.
    public var host: String = "127.0.0.1"
    public var port: Int = 8795
    /// Largest request body; full states of big hosts (thousands of packages with changelogs)
    /// reach a few MiB, 64 MiB leaves room without letting one client exhaust memory.
    public var maxBody: Int = 64 << 20
    /// Time a client has to deliver its whole request body (slow or stalled uploads end here).
    public var requestTimeout: Duration = .seconds(300)
    /// Time an idle keep-alive connection is kept open.
    public var idleTimeout: Duration = .seconds(75)
    /// Fixed staleness threshold in seconds for `tidemark_hosts_stale`; nil: 2x each host's median gap.
    public var staleAfter: Int64? = nil
    /// How often the server mirrors every repository the fleet's hosts have configured into the
    /// archive; nil: never (only `POST /api/v1/archive/mirror` and `tidemark archive mirror`).
    public var mirrorInterval: Duration? = nil
    /// Largest package upload (`POST /api/v1/archive/files`), apart from `maxBody`: a package
    /// (kernel firmware, debuginfo) can be far larger than any JSON document.
    public var maxUpload: Int = 2 << 30
    /// How long a found token is trusted without asking the store again (see `TokenCache`): a
    /// token revoked through another server process sharing the database stops within this
    /// time. Zero: every request asks the store.
    public var tokenCacheTTL: Duration = .seconds(5)
    /// How often the server moves its rollouts on (`RolloutDriver`); nil: it drives none (another
    /// server on the same database does).
    public var rolloutInterval: Duration? = .seconds(5)
    /// Seconds a server's lease on a rollout lasts without renewal: another server takes a
    /// rollout over this long after its driver died.
    public var rolloutLease: Int64 = 30
    /// Seconds between evaluations of one required check of a rollout.
    public var checkInterval: Int64 = 15
    /// openQA instances whose finished jobs the server imports as signals, and how often.
    public var signalImports: [OpenQASignalSource] = []
    public var signalImportInterval: Duration = .seconds(300)
    /// How far back the first import round reads (seconds).
    public var signalImportLookback: Int64 = 48 * 3600
    public var now: @Sendable () -> Timestamp = { Timestamp(seconds: Int64(Date().timeIntervalSince1970)) }

    public init() {}
}

/// What `/metrics` reads from the store besides the store protocol (see `SQLFleetStats`).
public protocol FleetStatsSource: Sendable {
    func stateCount() async throws -> Int
    func recentObservationTimes(limit: Int) async throws -> [String: [Int64]]
}

extension SQLFleetStats: FleetStatsSource {}

/// Per-request facts the logging middleware needs after the handler ran (the context is passed
/// by value, so handlers write them into this shared box).
public final class RequestInfo: Sendable {
    struct Facts { var route: String?; var token: TokenRecord? }
    private let facts = Mutex(Facts())
    var route: String? {
        get { facts.withLock { $0.route } }
        set { facts.withLock { $0.route = newValue } }
    }
    var token: TokenRecord? {
        get { facts.withLock { $0.token } }
        set { facts.withLock { $0.token = newValue } }
    }
}

public struct ServerContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let info = RequestInfo()
    public init(source: ApplicationRequestContextSource) { coreContext = .init(source: source) }
}

/// `tidemark server`: the HTTP API hosts report to and people and scripts query.
///
/// Reads answer exactly what the CLI prints with `--json` (same `HistoryQueries`, same
/// `TidemarkJSON` encoder), so a script can switch between a local database and a server.
/// Every write is one store transaction: any error leaves nothing stored.
public struct TidemarkServer: Sendable {
    public let store: any HistoryStore
    public let tokens: any TokenStore
    public let stats: (any FleetStatsSource)?
    /// Package files (on disk) and their records; served as rpm-md repositories.
    public let archive: PackageArchive
    /// Rollbacks (and later other work) for agents to claim.
    public let jobs: any JobStore
    /// Rollouts, their logs and waivers; and the loop that drives them.
    public let rollouts: any RolloutStore
    /// Failure signals (and bisection sessions, which run on the CLI's side).
    public let culprits: any CulpritStore
    public let rolloutDriver: RolloutDriver?
    let rolloutLogger: Logger
    public let configuration: ServerConfiguration
    public let metrics: ServerMetrics
    /// Per-state repository metadata between zypper's requests (repomd.xml, then each file).
    let stateRepositories = StateRepositoryCache(capacity: 32)
    let tokenCache: TokenCache
    /// Package objects decoded before, by their bytes (most of every full snapshot).
    let packageCache = WirePackageCache()

    public init(
        store: any HistoryStore, tokens: any TokenStore, stats: (any FleetStatsSource)?, archive: PackageArchive, jobs: any JobStore,
        rollouts: any RolloutStore, culprits: any CulpritStore, evaluator: any CheckEvaluating, configuration: ServerConfiguration, logger: Logger = Logger(label: "tidemark.rollouts")
    ) {
        self.culprits = culprits
        self.store = store
        self.tokens = tokens
        self.stats = stats
        self.archive = archive
        self.jobs = jobs
        self.configuration = configuration
        self.metrics = ServerMetrics()
        self.tokenCache = TokenCache(ttl: configuration.tokenCacheTTL)
        self.rollouts = rollouts
        self.rolloutLogger = logger
        self.rolloutDriver = configuration.rolloutInterval.map { _ in
            RolloutDriver(store: rollouts, evaluator: evaluator, leaseSeconds: configuration.rolloutLease, checkInterval: configuration.checkInterval, logger: logger, now: configuration.now)
        }
    }

    /// Planning, people's actions and views; the planner mirrors the fleet's repositories as
    /// scheduled mirroring does (counted and logged) when the archive lacks a package.
    var rolloutService: RolloutService {
        let server = self
        return RolloutService(
            store: rollouts,
            planner: RolloutPlanner(history: store, rollouts: rollouts, archive: archive, mirrorFleet: { await server.mirrorFleetRepositories(logger: server.rolloutLogger) }))
    }

    /// The server on an SQL history store: tokens, fleet statistics, the archive's records and
    /// jobs in the same database; the archive's files under `archiveDirectory`.
    public init(store: SQLHistoryStore, archiveDirectory: String, configuration: ServerConfiguration, logger: Logger = Logger(label: "tidemark.rollouts")) {
        self.init(
            store: store, tokens: SQLTokenStore(backend: store.backend), stats: SQLFleetStats(backend: store.backend),
            archive: PackageArchive(directory: archiveDirectory, store: SQLArchiveStore(backend: store.backend)),
            jobs: SQLJobStore(backend: store.backend), rollouts: SQLRolloutStore(backend: store.backend),
            culprits: SQLCulpritStore(backend: store.backend), evaluator: PolicyCheckEvaluator.shared,
            configuration: configuration, logger: logger)
    }

    var queries: HistoryQueries {
        HistoryQueries(
            store: store,
            loadFile: { path in throw TidemarkError(.invalidArgument, "file:\(path): file refs name files on the client; the server reads no files (upload the list with POST /api/v1/import/rpm-qa, then use its host ref)") },
            now: configuration.now)
    }

    /// The application, ready for `runService()` (which stops gracefully on SIGTERM and SIGINT:
    /// in-flight requests finish, the scheduled mirroring stops, then it returns).
    public func application(logger: Logger) -> some ApplicationProtocol {
        Application(
            router: router(),
            server: .http1(configuration: .init(
                additionalChannelHandlers: [RequestTimeoutHandler(timeout: TimeAmount(configuration.requestTimeout))],
                idleTimeout: TimeAmount(configuration.idleTimeout))),
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port), serverName: "tidemark"),
            services: (configuration.mirrorInterval.map { [MirrorSchedule(server: self, interval: $0, logger: logger)] } ?? [])
                + (rolloutDriver.flatMap { driver in configuration.rolloutInterval.map { [RolloutSchedule(driver: driver, interval: $0)] } } ?? [])
                + configuration.signalImports.map {
                    SignalImportSchedule(server: self, source: $0, interval: configuration.signalImportInterval, lookback: configuration.signalImportLookback, logger: logger)
                },
            logger: logger)
    }

    public func router() -> Router<ServerContext> {
        let router = Router(context: ServerContext.self)
        router.add(middleware: RequestMiddleware(metrics: metrics))
        let api = self

        route(router, .get, "/healthz") { _, _ in try json(["status": "ok"]) }
        route(router, .get, "/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
        route(router, .get, "/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: try await api.metricsText())))
        }

        route(router, .post, "/api/v1/observations") { req, ctx in try await api.postObservation(req, ctx) }
        route(router, .post, "/api/v1/import/rpm-qa") { req, ctx in try await api.importRPMQA(req, ctx) }
        route(router, .post, "/api/v1/import/salt") { req, ctx in try await api.importSalt(req, ctx) }

        route(router, .get, "/api/v1/hosts") { req, ctx in
            try await api.authorize(req, ctx, .read)
            return try json(try await api.store.hosts())
        }
        route(router, .get, "/api/v1/hosts/{host}/history") { req, ctx in
            try await api.authorize(req, ctx, .read)
            let host = try pathParameter(ctx, "host")
            let now = api.configuration.now()
            let since = try timeParameter(req, "since")?.resolve(now: now), until = try timeParameter(req, "until")?.resolve(now: now)
            return try json(try await api.queries.history(host: host, since: since, until: until))
        }
        route(router, .get, "/api/v1/show") { req, ctx in
            try await api.authorize(req, ctx, .read)
            return try json(try await api.queries.show(try refParameter(req, "ref")))
        }
        route(router, .get, "/api/v1/diff") { req, ctx in
            try await api.authorize(req, ctx, .read)
            let from = try refParameter(req, "from"), to = try refParameter(req, "to")
            let changelog: Bool
            switch req.uri.queryParameters["changelog"].map(String.init) {
            case nil, "false": changelog = false
            case "true": changelog = true
            case let other?: throw APIError.badRequest("changelog: must be true or false, got '\(other)'")
            }
            return try json(try await api.queries.diff(from, to, changelog: changelog))
        }
        route(router, .get, "/api/v1/where/{name}") { req, ctx in
            try await api.authorize(req, ctx, .read)
            return try json(try await api.queries.whereIs(try pathParameter(ctx, "name"), at: try timeParameter(req, "at")))
        }
        route(router, .get, "/api/v1/drift") { req, ctx in
            try await api.authorize(req, ctx, .read)
            let against = try req.uri.queryParameters["against"].map { try checkRef(String($0), parameter: "against") }
            return try json(try await api.queries.drift(against: against, at: try timeParameter(req, "at")))
        }

        route(router, .post, "/api/v1/tokens") { req, ctx in
            try await api.authorize(req, ctx, .admin)
            struct Create: Decodable { var role: TokenRole; var host: String?; var note: String? }
            let create = try decodeJSON(Create.self, try await api.readBody(req))
            let issued = try await api.tokens.createToken(role: create.role, host: create.host, note: create.note, now: api.configuration.now())
            ctx.logger.info("token created", metadata: ["created_token_id": "\(issued.id)", "role": "\(issued.role.rawValue)"])
            return try json(issued, status: .created)
        }
        route(router, .get, "/api/v1/tokens") { req, ctx in
            try await api.authorize(req, ctx, .admin)
            return try json(try await api.tokens.tokens())
        }
        route(router, .delete, "/api/v1/tokens/{id}") { req, ctx in
            try await api.authorize(req, ctx, .admin)
            let text = try pathParameter(ctx, "id")
            guard let id = Int64(text) else { throw APIError.badRequest("id: '\(text)' is not a token id (an integer)") }
            let revoked = try await api.tokens.revokeToken(id: id, now: api.configuration.now())
            api.tokenCache.forget(id: id)
            return try json(revoked)
        }

        addArchiveRoutes(router)
        addJobRoutes(router)
        addRolloutRoutes(router)
        addCulpritRoutes(router)
        return router
    }

    // MARK: authorization

    enum Access {
        case read, admin, report
        /// Repositories and archive listings: what agents install from, so host tokens too.
        case fetch
        /// A host's own jobs: its host token, or a reader or admin.
        case hostJobs
        /// Claiming and finishing a job: the job's host token or an admin.
        case runJob
        var roles: Set<TokenRole> {
            switch self {
            case .read: [.reader, .admin]
            case .admin: [.admin]
            case .report, .runJob: [.admin, .host]
            case .fetch, .hostJobs: [.reader, .admin, .host]
            }
        }
        var needed: String {
            switch self {
            case .read: "a reader or admin token"
            case .admin: "an admin token"
            case .report: "a host token (for its own host) or an admin token"
            case .fetch: "a reader, admin or host token"
            case .hostJobs: "a reader or admin token, or the host's own token"
            case .runJob: "the job's host token or an admin token"
            }
        }
    }

    /// Checks the token (`Authorization: Bearer <token>`, or `Basic` with the token as the
    /// password and any user name, which is how zypper sends `http://user:TOKEN@host/` baseurls)
    /// against the token store; the secret itself is never logged or kept, only its hash is
    /// looked up.
    @discardableResult
    func authorize(_ req: Request, _ ctx: ServerContext, _ access: Access) async throws -> TokenRecord {
        guard let header = req.headers[.authorization] else {
            throw APIError.unauthorized("missing Authorization header: send 'Authorization: Bearer <token>' or HTTP basic authentication with the token as password (an admin creates tokens with `tidemark token create`)")
        }
        guard let secret = Self.tokenSecret(authorization: header) else {
            throw APIError.unauthorized("malformed Authorization header: expected 'Bearer <token>' or 'Basic base64(user:token)'")
        }
        guard let token = try await tokenCache.token(secret: secret, from: tokens) else {
            throw APIError.unauthorized("unknown token: no token with this secret exists on this server")
        }
        ctx.info.token = token
        if let revoked = token.revokedAt {
            throw APIError.unauthorized("token \(token.id) was revoked at \(revoked.iso8601)")
        }
        guard access.roles.contains(token.role) else {
            throw APIError.forbidden("\(req.method.rawValue) \(req.uri.path) needs \(access.needed); token \(token.id) has role \(token.role.rawValue)")
        }
        return token
    }

    /// Like `authorize`, and a host token must belong to `host` (readers and admins may act on
    /// any host, as `access` allows).
    @discardableResult
    func authorize(_ req: Request, _ ctx: ServerContext, _ access: Access, host: String) async throws -> TokenRecord {
        let token = try await authorize(req, ctx, access)
        if token.role == .host, token.host != host {
            throw APIError.forbidden("token \(token.id) belongs to host \(token.host ?? "?"), not \(host)")
        }
        return token
    }

    /// The token in an Authorization header: `Bearer TOKEN`, or `Basic base64(USER:TOKEN)`
    /// (any user name). Nil when the header is neither.
    static func tokenSecret(authorization header: String) -> String? {
        let parts = header.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2, !parts[1].isEmpty else { return nil }
        switch parts[0].lowercased() {
        case "bearer":
            return String(parts[1])
        case "basic":
            guard let data = Data(base64Encoded: String(parts[1])), let text = String(data: data, encoding: .utf8),
                  let colon = text.firstIndex(of: ":")
            else { return nil }
            let password = String(text[text.index(after: colon)...])
            return password.isEmpty ? nil : password
        default:
            return nil
        }
    }

    // MARK: bodies

    /// The whole body, up to `maxBody` bytes (413 beyond). A body that does not arrive within
    /// `requestTimeout` is answered 408 by `RequestTimeoutHandler`.
    func readBody(_ req: Request) async throws -> ByteBuffer {
        try await readBody(req, limit: configuration.maxBody, option: "--max-body")
    }

    /// The whole body, up to `limit` bytes (413 naming `option` beyond).
    func readBody(_ req: Request, limit: Int, option: String) async throws -> ByteBuffer {
        if let length = req.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw APIError(.contentTooLarge, "payload_too_large", "request body of \(length) bytes exceeds the server's limit of \(limit) bytes (\(option))")
        }
        do {
            return try await req.body.collect(upTo: limit)
        } catch let e as any HTTPResponseError where e.status == .contentTooLarge {
            throw APIError(.contentTooLarge, "payload_too_large", "request body exceeds the server's limit of \(limit) bytes (\(option))")
        } catch is HTTPParserError {
            // The connection closed before the body's end: the client went away, or
            // RequestTimeoutHandler answered 408 and closed it. Logged and counted as the 408.
            throw APIError(.requestTimeout, "request_timeout", "the request body did not arrive in full (the connection closed before its end, or --request-timeout passed)")
        }
    }

    func readText(_ req: Request) async throws -> String {
        let buffer = try await readBody(req)
        guard let text = buffer.getString(at: buffer.readerIndex, length: buffer.readableBytes), text.utf8.elementsEqual(buffer.readableBytesView) else {
            throw APIError.invalidBody("body is not UTF-8 text")
        }
        return text
    }

    // MARK: observations

    struct ObservationAnswer: Encodable {
        var outcome: RecordOutcome
        var state: StateID
        var host: String
        var at: Timestamp

        /// `TidemarkJSON.document(self)`, byte for byte (tested), written directly: it answers
        /// every heartbeat, where building an encoder was a noticeable share of the work.
        var document: [UInt8] {
            var w = JSONWriter(capacity: 192)
            w.raw("{\n  \"at\" : ")
            w.string(at.iso8601)
            w.raw(",\n  \"host\" : ")
            w.string(host)
            w.raw(",\n  \"outcome\" : ")
            w.string(outcome.rawValue)
            w.raw(",\n  \"state\" : ")
            w.string(state.hex)
            w.raw("\n}\n")
            return w.bytes
        }
    }

    static func checkStateID(_ id: StateID, field: String) throws {
        guard id.hex.count == 64, id.hex.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            throw APIError.invalidBody("\(field): '\(id.hex.prefix(80))' is not a state id (64 lower-case hex digits)")
        }
    }

    func postObservation(_ req: Request, _ ctx: ServerContext) async throws -> Response {
        let token = try await authorize(req, ctx, .report)
        let body = try await readBody(req)
        let payload = try await decodePool.runIfActive { [packageCache] in try ObservationPayload(json: Array(body.readableBytesView), cache: packageCache) }
        if token.role == .host, payload.host != token.host {
            throw APIError.forbidden("token \(token.id) may only report host \(token.host ?? "?"), not \(payload.host)")
        }
        try Observation.validateHostName(payload.host)
        try checkTime(payload.at, field: "at")
        let observation: Observation
        if payload.isDelta {
            for (i, p) in (payload.added ?? []).enumerated() {
                if let t = p.package.buildTime { try checkTime(Timestamp(seconds: t), field: "added[\(i)].buildTime") }
                if let t = p.installTime { try checkTime(Timestamp(seconds: t), field: "added[\(i)].installTime") }
            }
            try Self.checkStateID(payload.state, field: "state")
            try Self.checkStateID(payload.base!, field: "base")
            // The store rebuilds the state from the base and checks it against `state`.
            do { observation = try payload.deltaObservation() } catch { throw APIError.invalidBody(error.message) }
        } else if let packages = payload.packages {
            for (i, p) in packages.enumerated() {
                if let t = p.package.buildTime { try checkTime(Timestamp(seconds: t), field: "packages[\(i)].buildTime") }
                if let t = p.installTime { try checkTime(Timestamp(seconds: t), field: "packages[\(i)].installTime") }
            }
            // observation() computes the content address once and refuses a mismatch.
            let full: Observation?
            do { full = try await decodePool.runIfActive { try payload.observation(sha256: bulkSHA256) } } catch let error as TidemarkError {
                throw APIError(.unprocessableContent, error.code.rawValue, error.message)
            }
            guard let full else { throw APIError.invalidBody("packages: missing") }
            observation = full
        } else {
            try Self.checkStateID(payload.state, field: "state")
            // Recorded by reference: the store knows the state's members (and carries the host's
            // repositories forward), nothing is loaded here.
            observation = Observation(
                host: payload.host, at: payload.at, state: PackageState(reference: payload.state), source: payload.source,
                repositories: payload.repositories, changelogs: payload.changelogs ?? [:])
        }
        let outcome: RecordOutcome
        do {
            outcome = try await store.record([observation])[0]
        } catch let e as TidemarkError where e.code == .unknownState {
            let which = payload.base.map { "base state \($0.short)" } ?? "state \(payload.state.short)"
            throw APIError(.conflict, "unknown_state", "\(which) is not known to this server: send the full observation (with packages)")
        } catch let e as TidemarkError where e.code == .invalidInput && payload.isDelta {
            // the delta does not give the state it names (as for full packages: 422)
            throw APIError(.unprocessableContent, e.code.rawValue, e.message)
        }
        metrics.countIngested([outcome], form: payload.isDelta ? "delta" : payload.packages != nil ? "full" : "heartbeat")
        let answer = ObservationAnswer(outcome: outcome, state: observation.state.id, host: observation.host, at: observation.at)
        return Response(status: .created, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: answer.document)))
    }

    // MARK: imports

    func importRPMQA(_ req: Request, _ ctx: ServerContext) async throws -> Response {
        try await authorize(req, ctx, .admin)
        guard let host = req.uri.queryParameters["host"].map(String.init) else { throw APIError.badRequest("host: missing query parameter (the host the list belongs to)") }
        try Observation.validateHostName(host)
        guard let at = try timeParameter(req, "at")?.resolve(now: configuration.now()) else {
            throw APIError.badRequest("at: missing query parameter (when the list was taken: ISO 8601 or -2h)")
        }
        let packages = try RPMQAList.parse(try await readText(req), file: "body")
        let o = Observation(host: host, at: at, state: PackageState(packages.map(\.package)), source: .importRPMQA, repositories: nil)
        let outcomes = try await store.record([o])
        metrics.countIngested(outcomes)
        return try json([ImportResult(o, outcome: outcomes[0])], status: .created)
    }

    func importSalt(_ req: Request, _ ctx: ServerContext) async throws -> Response {
        try await authorize(req, ctx, .admin)
        let at = try timeParameter(req, "at")?.resolve(now: configuration.now()) ?? configuration.now()
        let format: PackageFormat
        switch req.uri.queryParameters["format"].map(String.init) {
        case nil: format = .rpm
        case let f?:
            guard let v = PackageFormat(rawValue: f) else { throw APIError.badRequest("format: must be rpm or deb, got '\(f)'") }
            format = v
        }
        let parsed = try SaltPackages.parse(try await readText(req), file: "body", format: format)
        let observations = try parsed.minions.map { m throws(TidemarkError) -> Observation in
            try Observation.validateHostName(m.minion)
            return Observation(host: m.minion, at: at, state: PackageState(m.packages.map(\.package)), source: .importSalt, repositories: nil)
        }
        let outcomes = try await store.record(observations)
        metrics.countIngested(outcomes)
        struct Answer: Encodable { var results: [ImportResult]; var issues: [String] }
        let results = zip(observations, outcomes).map {
            ImportResult($0, outcome: $1)
        }
        return try json(Answer(results: results, issues: parsed.issues.map(\.description)), status: .created)
    }

    // MARK: metrics

    func metricsText() async throws -> String {
        let hosts = try await store.hosts().count
        var fleet = ServerMetrics.Fleet(states: 0, hosts: hosts, staleHosts: 0, archivedFiles: try await archive.store.archiveSequence().count)
        if let stats {
            fleet.states = try await stats.stateCount()
            fleet.staleHosts = Staleness.count(
                try await stats.recentObservationTimes(limit: Staleness.window + 1), now: configuration.now(), staleAfter: configuration.staleAfter)
        }
        return metrics.render(fleet)
    }
}


// MARK: helpers

/// Registers a handler and records its route pattern for logs and metrics.
func route(
    _ router: Router<ServerContext>, _ method: HTTPRequest.Method, _ path: String,
    _ handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
) {
    router.on(RouterPath(path), method: method) { req, ctx -> Response in
        ctx.info.route = path
        return try await handler(req, ctx)
    }
}

/// Threads for the CPU-heavy part of an observation (decoding thousands of packages, hashing the
/// state), apart from Swift's cooperative pool: a long decode there holds up every other task,
/// above all the store's group-commit writer, which resumes after each database round trip.
private let decodePool: NIOThreadPool = {
    let pool = NIOThreadPool(numberOfThreads: max(1, System.coreCount))
    pool.start()
    return pool
}()

func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
    Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: try TidemarkJSON.document(value))))
}

func decodeJSON<T: Decodable>(_ type: T.Type, _ buffer: ByteBuffer) throws -> T {
    do {
        return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
    } catch let e as DecodingError {
        throw APIError.invalidBody(APIError.describe(e))
    }
}

func pathParameter(_ ctx: ServerContext, _ name: String) throws -> String {
    guard let raw = ctx.parameters.get(name), let value = percentDecoded(raw), !value.isEmpty else {
        throw APIError.badRequest("\(name): missing or badly percent-encoded path segment")
    }
    return value
}

/// Earliest and latest accepted times (years 1 to 9999): keeps arithmetic on times far from overflow.
private let timeRange = Timestamp.supported

private func checkTime(_ t: Timestamp, field: String) throws {
    guard timeRange.contains(t.seconds) else { throw APIError.invalidBody("\(field): \(t.seconds) is outside the years 1 to 9999") }
}

/// Parses a time as the CLI does, refusing relative times too large to compute with.
private func parseTime(_ text: String, name: String) throws -> TimeSpec {
    let spec: TimeSpec
    do { spec = try TimeSpec.parse(text) } catch { throw APIError.badRequest("\(name): \(error.message)") }
    return spec
}

func timeParameter(_ req: Request, _ name: String) throws -> TimeSpec? {
    guard let v = req.uri.queryParameters[Substring(name)] else { return nil }
    return try parseTime(String(v), name: name)
}

private func refParameter(_ req: Request, _ name: String) throws -> String {
    guard let v = req.uri.queryParameters[Substring(name)], !v.isEmpty else { throw APIError.badRequest("\(name): missing query parameter (a ref: HOST, HOST@TIME or state:ID-PREFIX)") }
    return try checkRef(String(v), parameter: name)
}

/// Refuses `file:` refs up front (the server has no client files) and checks a ref's time.
func checkRef(_ ref: String, parameter: String) throws -> String {
    if ref.hasPrefix("file:") {
        throw APIError.badRequest("\(parameter): '\(ref)': file refs name files on the client; the server reads no files (upload the list with POST /api/v1/import/rpm-qa, then use its host ref)")
    }
    if !ref.hasPrefix("state:"), let at = ref.firstIndex(of: "@") {
        _ = try parseTime(String(ref[ref.index(after: at)...]), name: parameter)
    }
    do { _ = try Ref.parse(ref) } catch { throw APIError.badRequest("\(parameter): \(error.message)") }
    return ref
}

private func percentDecoded(_ s: String) -> String? {
    guard s.contains("%") else { return s }
    var out: [UInt8] = []
    var it = Array(s.utf8)[...]
    while let c = it.popFirst() {
        if c == UInt8(ascii: "%") {
            guard it.count >= 2, let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16) else { return nil }
            out.append(v)
            it = it.dropFirst(2)
        } else {
            out.append(c)
        }
    }
    return String(validating: out, as: UTF8.self)
}

/// Logs every request (method, path, status, duration, token id and host; never the token),
/// renders every error as the API's JSON error, and feeds the latency histogram.
struct RequestMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    let metrics: ServerMetrics

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response: Response
        var failure: APIError? = nil
        do {
            response = try await next(request, context)
        } catch {
            let e = APIError.from(error)
            failure = e
            // HEAD (zypper probes files with it): the error's status and headers, no body.
            response = request.method == .head ? e.response().createHeadResponse() : e.response()
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let route = context.info.route ?? "unmatched"
        metrics.observe(route: route, status: Int(response.status.code), seconds: seconds)
        var meta: Logger.Metadata = [
            "method": "\(request.method.rawValue)", "path": "\(request.uri.path)", "route": "\(route)",
            "status": "\(response.status.code)", "duration_ms": "\(Int((seconds * 1000).rounded()))",
        ]
        if let t = context.info.token {
            meta["token_id"] = "\(t.id)"
            if let h = t.host { meta["token_host"] = "\(h)" }
        }
        if let failure {
            meta["error_code"] = "\(failure.code)"
            meta["error"] = "\(failure.message)"
        }
        context.logger.log(level: (failure?.status.code ?? 0) >= 500 ? .error : .info, "request", metadata: meta)
        return response
    }
}
