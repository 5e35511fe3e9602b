import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import TidemarkCore
import TidemarkServer
import TidemarkStore
import TidemarkTestSupport

/// One server on a fresh SQLite store with a token of every kind, driven in process.
final class Fixture: @unchecked Sendable {
    let tmp: TemporaryDirectory
    let db: String
    let store: SQLHistoryStore
    let server: TidemarkServer
    let admin: String
    let reader: String
    /// May report `worker1` only.
    let host1: String
    let revoked: String
    let revokedID: Int64

    static func make(_ label: String, configure: (inout ServerConfiguration) -> Void = { _ in }) async throws -> Fixture {
        let tmp = try TemporaryDirectory(label)
        let db = tmp.path("tidemark.sqlite")
        let store = try await SQLHistoryStore.openSQLite(path: db)
        var config = ServerConfiguration()
        configure(&config)
        let server = TidemarkServer(store: store, archiveDirectory: tmp.path("archive"), configuration: config)
        let tokens = SQLTokenStore(backend: store.backend)
        let now = Timestamp(seconds: 1_737_450_000)
        let admin = try await tokens.createToken(role: .admin, host: nil, note: "test admin", now: now).token
        let reader = try await tokens.createToken(role: .reader, host: nil, note: nil, now: now).token
        let host1 = try await tokens.createToken(role: .host, host: "worker1", note: nil, now: now).token
        let revoked = try await tokens.createToken(role: .admin, host: nil, note: nil, now: now)
        _ = try await tokens.revokeToken(id: revoked.id, now: now)
        return Fixture(tmp: tmp, db: db, store: store, server: server, admin: admin, reader: reader, host1: host1, revoked: revoked.token, revokedID: revoked.id)
    }

    private init(tmp: TemporaryDirectory, db: String, store: SQLHistoryStore, server: TidemarkServer, admin: String, reader: String, host1: String, revoked: String, revokedID: Int64) {
        self.tmp = tmp
        self.db = db
        self.store = store
        self.server = server
        self.admin = admin
        self.reader = reader
        self.host1 = host1
        self.revoked = revoked
        self.revokedID = revokedID
    }

    /// Runs `body` against the router in process (no sockets).
    func test<T: Sendable>(_ body: @Sendable (Client) async throws -> T) async throws -> T {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let app = server.application(logger: logger)
        return try await app.test(.router) { client in try await body(Client(client: client)) }
    }

    /// What the store holds: hosts, observations and distinct states (to prove nothing was stored).
    func storedCounts() async throws -> [Int] {
        let hosts = try await store.hosts()
        let states = try await SQLFleetStats(backend: store.backend).stateCount()
        return [hosts.count, hosts.map(\.observations).reduce(0, +), states]
    }

    func close() async throws {
        try await store.close()
        tmp.remove()
    }
}

struct Reply: Sendable {
    var status: Int
    var body: String
    var headers: HTTPFields = [:]
    var bytes: [UInt8] = []
    var json: Any? { try? JSONSerialization.jsonObject(with: Data(body.utf8), options: [.fragmentsAllowed]) }
    var errorCode: String? { ((json as? [String: Any])?["error"] as? [String: Any])?["code"] as? String }
    var errorMessage: String { (((json as? [String: Any])?["error"] as? [String: Any])?["message"] as? String) ?? "" }
    func decode<T: Decodable>(_ t: T.Type) throws -> T { try JSONDecoder().decode(T.self, from: Data(body.utf8)) }
}

struct Client: Sendable {
    let client: any TestClientProtocol

    func send(_ method: HTTPRequest.Method, _ uri: String, token: String? = nil, authorization: String? = nil, body: String? = nil) async throws -> Reply {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        if let authorization { headers[.authorization] = authorization }
        if body != nil { headers[.contentType] = "application/json" }
        let r = try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
        return Reply(status: Int(r.status.code), body: String(buffer: r.body), headers: r.headers)
    }

    /// A binary body (a package upload).
    func send(_ method: HTTPRequest.Method, _ uri: String, token: String?, bytes: [UInt8], contentType: String = "application/x-rpm") async throws -> Reply {
        var headers: HTTPFields = [.contentType: contentType]
        if let token { headers[.authorization] = "Bearer \(token)" }
        let r = try await client.execute(uri: uri, method: method, headers: headers, body: ByteBuffer(bytes: bytes))
        return Reply(status: Int(r.status.code), body: String(buffer: r.body), headers: r.headers, bytes: Array(r.body.readableBytesView))
    }

    /// Any Authorization header, keeping the answer's headers and bytes (repositories).
    func fetch(_ uri: String, method: HTTPRequest.Method = .get, authorization: String?) async throws -> Reply {
        var headers: HTTPFields = [:]
        if let authorization { headers[.authorization] = authorization }
        let r = try await client.execute(uri: uri, method: method, headers: headers, body: nil)
        return Reply(status: Int(r.status.code), body: String(buffer: r.body), headers: r.headers, bytes: Array(r.body.readableBytesView))
    }

    func get(_ uri: String, token: String? = nil) async throws -> Reply { try await send(.get, uri, token: token) }
    func post(_ uri: String, token: String?, body: String) async throws -> Reply { try await send(.post, uri, token: token, body: body) }
}

/// A small rpm fleet: packages, states and payloads built in code.
enum Fleet {
    static func package(_ name: String, _ version: String, release: String = "1.1", digest: String? = nil) -> Package {
        Package(format: .rpm, name: name, evr: EVR(version: version, release: release), arch: "x86_64",
                digest: digest ?? SHA256.hex("\(name)-\(version)-\(release)"), vendor: "openSUSE", source: "\(name)-\(version)-\(release).src.rpm", buildTime: 1_700_000_000)
    }

    static let base = [package("bash", "5.2"), package("perl-Mojo-IOLoop-ReadWriteProcess", "0.34"), package("zypper", "1.14.77")]
    static let upgraded = [package("bash", "5.2"), package("perl-Mojo-IOLoop-ReadWriteProcess", "0.35"), package("zypper", "1.14.77")]

    static func observation(_ host: String, _ at: String, _ packages: [Package], source: ObservationSource = .agent) -> Observation {
        Observation(host: host, at: Timestamp.parseISO8601(at)!, state: PackageState(packages), source: source,
                    repositories: [Repository(kind: .zypp, alias: "repo-oss", name: "Main Repository", url: "https://download.opensuse.org/tumbleweed/repo/oss/")],
                    installTimes: Dictionary(uniqueKeysWithValues: packages.map { ($0.identityKey, Int64(1_700_000_100)) }))
    }

    static func payload(_ o: Observation, full: Bool) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: try! e.encode(ObservationPayload(o, full: full)), as: UTF8.self)
    }
}

extension Fixture {
    /// A fixture that is closed however `body` ends (SQLite asserts on unclosed connections).
    static func with(_ label: String, configure: (inout ServerConfiguration) -> Void = { _ in }, _ body: (Fixture) async throws -> Void) async throws {
        let f = try await make(label, configure: configure)
        do {
            try await body(f)
        } catch {
            try? await f.close()
            throw error
        }
        try await f.close()
    }
}
