import Foundation
import Logging
import PostgresKit
import PostgresNIO
import SQLKit
import Synchronization
import TidemarkCore

/// The shared deployment: one PostgreSQL database that several `tidemark server` processes (and
/// CLIs) record into at the same time. Each transaction runs on one connection leased from a
/// `PostgresClient` pool; writers of the same host are serialised with advisory locks (see
/// `lockHost`), so no process ever needs to know about the others.
///
/// URLs (`--db` / `TIDEMARK_DB`), libpq-style:
///
///     postgres://user:password@host:5432/database?sslmode=prefer
///     postgresql://user@db.example/tidemark?sslmode=verify-full&sslrootcert=/etc/ssl/pg-ca.pem
///     postgres:///database?host=/var/run/postgresql&user=name      (unix socket in that directory)
///
/// Query parameters: `host` (a directory: connect to its socket `.s.PGSQL.<port>`), `port`,
/// `user`, `password`, `sslmode` (`disable`, `allow`/`prefer` (default: encrypt if the server
/// offers it, no certificate check), `require` (encrypt, no check), `verify-ca`, `verify-full`),
/// `sslrootcert` (a PEM file of trusted CAs), `connect_timeout` (seconds, default 10). With no
/// host at all the socket directory `/var/run/postgresql` is used; user defaults to the current
/// OS user and the database to the user, as with `psql`. Unknown parameters are refused so that
/// a typo does not silently connect somewhere else.
public final class PostgresBackend: SQLBackend {
    public let dialect = StoreDialect.postgres
    /// The URL without its password: safe for messages and logs.
    public let displayURL: String
    private let client: PostgresClient
    private let runner: Task<Void, Never>
    private let logger: Logger
    private let closed = Mutex(false)

    /// Whether `string` names a PostgreSQL database rather than a SQLite file.
    public static func isURL(_ string: String) -> Bool {
        string.hasPrefix("postgres://") || string.hasPrefix("postgresql://")
    }

    /// Connects, checking once with a plain connection so that a wrong host, password or database
    /// is reported with the server's own reason now (the pool would only retry quietly and later
    /// say that its circuit breaker tripped).
    public static func open(url: String) async throws -> PostgresBackend {
        let target = try PostgresURL(url)
        var logger = Logger(label: "tidemark.postgres")
        logger.logLevel = .critical
        do {
            let probe = try await PostgresConnection.connect(configuration: target.connectionConfiguration(), id: 0, logger: logger)
            try? await probe.close()
        } catch {
            throw TidemarkError(.storage, "cannot connect to PostgreSQL at \(target.display): \(describe(error))")
        }
        let client = PostgresClient(configuration: try target.clientConfiguration(), backgroundLogger: logger)
        return PostgresBackend(displayURL: target.display, client: client, logger: logger)
    }

    private init(displayURL: String, client: PostgresClient, logger: Logger) {
        self.displayURL = displayURL
        self.client = client
        self.logger = logger
        // The pool only works while run() runs; close() cancels it, which closes every connection.
        self.runner = Task { await client.run() }
    }

    /// Reads run in one REPEATABLE READ snapshot: a query made of several statements (spans, then
    /// the hosts observed by then) must not see another process's commit land between them.
    public func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await onConnection { db in try await inTransaction(db, begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body) }
    }

    public func readStatement<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await onConnection(body)
    }

    public func writeStatement<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await onConnection(body)
    }

    /// BEGIN … COMMIT on ONE leased connection (READ COMMITTED: every statement sees what other
    /// writers committed before it, which the per-host locks rely on). Not `withTransaction`:
    /// that wraps the body's errors, and the store's conflicts must reach the caller as they are.
    public func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await onConnection { db in try await inTransaction(db, begin: "BEGIN", body) }
    }

    /// `pg_advisory_xact_lock` on a 64-bit hash of the name: held until COMMIT or ROLLBACK, so a
    /// crashed writer never leaves it behind. Two names that share a hash merely wait for each other.
    public func lockHost(_ name: String, db: any SQLDatabase) async throws {
        try await db.raw("SELECT pg_advisory_xact_lock(hashtextextended(\(bind: name), 0))").run()
    }

    /// All in one statement, in the order given (a group commit locks its hosts sorted).
    public func lockHosts(_ names: [String], db: any SQLDatabase) async throws {
        guard names.count > 1 else {
            for name in names { try await lockHost(name, db: db) }
            return
        }
        try await db.raw("""
            SELECT pg_advisory_xact_lock(hashtextextended(x.h, 0))
            FROM (SELECT h FROM unnest(\(bind: names)::text[]) WITH ORDINALITY AS u(h, n) ORDER BY n) x
            """).run()
    }

    /// One transaction-scoped advisory lock (in the two-key space, apart from the hosts' keys),
    /// shared by the writers of one observation each, exclusive for the others.
    public func lockSharedRows(db: any SQLDatabase, shared: Bool) async throws {
        try await db.raw("SELECT pg_advisory_xact_lock\(unsafeRaw: shared ? "_shared" : "")(\(unsafeRaw: Self.lockSpace), 1)").run()
    }

    /// A session advisory lock on a connection kept aside for the duration of `body`; the server
    /// drops it if this process dies.
    public func withMigrationLock<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        try await onConnection { db in
            try await db.raw("SELECT pg_advisory_lock(\(unsafeRaw: Self.lockSpace), 2)").run()
            do {
                let r = try await body()
                try await db.raw("SELECT pg_advisory_unlock(\(unsafeRaw: Self.lockSpace), 2)").run()
                return r
            } catch {
                _ = try? await db.raw("SELECT pg_advisory_unlock(\(unsafeRaw: Self.lockSpace), 2)").run()
                throw error
            }
        }
    }

    /// First key of Tidemark's two-key advisory locks (0x54696465, "Tide" in ASCII), as SQL text.
    static let lockSpace = "1416193125"

    public func size() async throws -> Int64 {
        try await onConnection { db in
            let row = try await db.raw("SELECT pg_database_size(current_database()) AS size").first()
            return try row?.decode(column: "size", as: Int64.self) ?? 0
        }
    }

    /// Idempotent: closing twice is harmless.
    public func close() async throws {
        let first = closed.withLock { c in
            defer { c = true }
            return !c
        }
        guard first else { return }
        runner.cancel()
        await runner.value
    }

    /// Leases a connection for `body`; PostgresNIO's errors become `TidemarkError`s that say what
    /// the server said (its own descriptions are deliberately blank), while the store's own errors
    /// pass through untouched.
    private func onConnection<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        if closed.withLock({ $0 }) { throw TidemarkError(.storage, "the PostgreSQL store at \(displayURL) is closed") }
        let logger = self.logger
        do {
            return try await client.withConnection { connection in
                try await body(connection.sql(queryLogLevel: nil, logger: logger))
            }
        } catch let e as TidemarkError {
            throw e
        } catch let e as StoreCorruption {
            throw e
        } catch let e as PSQLError where e.code == .server {
            throw TidemarkError(.storage, "PostgreSQL at \(displayURL): \(Self.describe(e))")
        } catch let e as CancellationError {
            throw e
        } catch {
            throw TidemarkError(.storage, "cannot use PostgreSQL at \(displayURL): \(Self.describe(error))")
        }
    }

    /// The useful part of a PostgresNIO error: the server's message and SQLSTATE, or the socket error.
    static func describe(_ error: any Error) -> String {
        guard let e = error as? PSQLError else { return String(describing: error) }
        if let info = e.serverInfo, let message = info[.message] {
            var s = message
            if let detail = info[.detail] { s += " (\(detail))" }
            if let state = info[.sqlState] { s += " [SQLSTATE \(state)]" }
            return s
        }
        if let underlying = e.underlying { return "\(e.code): \(String(describing: underlying))" }
        return String(describing: e.code)
    }
}

/// A parsed PostgreSQL URL (see `PostgresBackend` for the accepted forms).
struct PostgresURL: Sendable, Equatable {
    enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        case socket(path: String)
    }

    enum TLSMode: String, Sendable, Equatable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    var endpoint: Endpoint
    var user: String
    var password: String?
    var database: String
    var tls: TLSMode
    var rootCertificate: String?
    var connectTimeout: Int
    /// The URL as given, minus its password.
    var display: String

    static let knownParameters: Set<String> = ["host", "port", "user", "password", "sslmode", "sslrootcert", "connect_timeout"]

    init(_ string: String) throws {
        guard PostgresBackend.isURL(string), let c = URLComponents(string: string) else {
            throw TidemarkError(.invalidArgument, "not a PostgreSQL URL: \(Self.redact(string)) (expected postgres://user:password@host:port/database or postgres:///database?host=/socket/dir)")
        }
        var query: [String: String] = [:]
        for item in c.queryItems ?? [] {
            guard Self.knownParameters.contains(item.name) else {
                throw TidemarkError(.invalidArgument, "unknown parameter '\(item.name)' in the PostgreSQL URL \(Self.redact(string)); known: \(Self.knownParameters.sorted().joined(separator: ", "))")
            }
            query[item.name] = item.value ?? ""
        }
        // The display form first: every later error may quote it.
        var shown = c
        shown.password = nil
        shown.queryItems = c.queryItems.map { $0.filter { $0.name != "password" } }
        if shown.queryItems?.isEmpty == true { shown.queryItems = nil }
        display = shown.string ?? Self.redact(string)

        let port: Int
        if let p = c.port {
            port = p
        } else if let p = query["port"] {
            guard let n = Int(p), (1...65535).contains(n) else { throw TidemarkError(.invalidArgument, "bad port '\(p)' in \(display)") }
            port = n
        } else {
            port = 5432
        }
        let host = (c.percentEncodedHost?.removingPercentEncoding).flatMap { $0.isEmpty ? nil : $0 } ?? query["host"]
        if let host, host.hasPrefix("/") {
            endpoint = .socket(path: (host.hasSuffix("/") ? String(host.dropLast()) : host) + "/.s.PGSQL.\(port)")
        } else if let host, !host.isEmpty {
            endpoint = .tcp(host: host, port: port)
        } else {
            endpoint = .socket(path: "/var/run/postgresql/.s.PGSQL.\(port)")
        }
        user = c.user.flatMap { $0.isEmpty ? nil : $0 } ?? query["user"] ?? Self.osUser()
        password = c.password ?? query["password"]
        let path = c.path.hasPrefix("/") ? String(c.path.dropFirst()) : c.path
        database = path.isEmpty ? user : path
        guard !database.contains("/") else { throw TidemarkError(.invalidArgument, "bad database name '\(database)' in \(display)") }
        guard let mode = TLSMode(rawValue: query["sslmode"] ?? "prefer") else {
            throw TidemarkError(.invalidArgument, "bad sslmode '\(query["sslmode"]!)' in \(display) (disable, allow, prefer, require, verify-ca, verify-full)")
        }
        tls = mode
        rootCertificate = query["sslrootcert"]
        if let t = query["connect_timeout"] {
            guard let n = Int(t), n > 0 else { throw TidemarkError(.invalidArgument, "bad connect_timeout '\(t)' in \(display) (seconds)") }
            connectTimeout = n
        } else {
            connectTimeout = 10
        }
    }

    /// TLS as libpq means it: `prefer`/`require` encrypt without checking the certificate,
    /// `verify-ca` checks the chain, `verify-full` also the host name.
    func tlsConfiguration() -> TLSConfiguration {
        var config = TLSConfiguration.makeClientConfiguration()
        switch tls {
        case .verifyFull: config.certificateVerification = .fullVerification
        case .verifyCA: config.certificateVerification = .noHostnameVerification
        default: config.certificateVerification = .none
        }
        if let rootCertificate { config.trustRoots = .file(rootCertificate) }
        return config
    }

    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        var config: PostgresConnection.Configuration
        switch endpoint {
        case .socket(let path):
            config = .init(unixSocketPath: path, username: user, password: password, database: database)
        case .tcp(let host, let port):
            let mode: PostgresConnection.Configuration.TLS
            do {
                switch tls {
                case .disable: mode = .disable
                case .allow, .prefer: mode = .prefer(try NIOSSLContext(configuration: tlsConfiguration()))
                case .require, .verifyCA, .verifyFull: mode = .require(try NIOSSLContext(configuration: tlsConfiguration()))
                }
            } catch {
                throw TidemarkError(.invalidArgument, "cannot set up TLS for \(display): \(error)")
            }
            config = .init(host: host, port: port, username: user, password: password, database: database, tls: mode)
        }
        config.options.connectTimeout = .seconds(Int64(connectTimeout))
        return config
    }

    func clientConfiguration() throws -> PostgresClient.Configuration {
        var config: PostgresClient.Configuration
        switch endpoint {
        case .socket(let path):
            config = .init(unixSocketPath: path, username: user, password: password, database: database)
        case .tcp(let host, let port):
            let mode: PostgresClient.Configuration.TLS
            switch tls {
            case .disable: mode = .disable
            case .allow, .prefer: mode = .prefer(tlsConfiguration())
            case .require, .verifyCA, .verifyFull: mode = .require(tlsConfiguration())
            }
            config = .init(host: host, port: port, username: user, password: password, database: database, tls: mode)
        }
        config.options.connectTimeout = .seconds(connectTimeout)
        return config
    }

    /// The user libpq would pick: the effective OS user.
    static func osUser() -> String {
        if let pw = getpwuid(geteuid()), let name = pw.pointee.pw_name { return String(cString: name) }
        return ProcessInfo.processInfo.environment["USER"] ?? "postgres"
    }

    /// Best effort for strings URLComponents cannot parse: drop anything between ':' and '@'.
    static func redact(_ s: String) -> String {
        guard let at = s.lastIndex(of: "@"), let scheme = s.range(of: "://") else { return s }
        let userinfo = s[scheme.upperBound..<at]
        guard let colon = userinfo.firstIndex(of: ":") else { return s }
        return String(s[..<colon]) + String(s[at...])
    }
}
