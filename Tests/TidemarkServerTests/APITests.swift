import Foundation
import Testing
import TidemarkCore
import TidemarkHosts
import TidemarkServer
import TidemarkStore
import TidemarkTestSupport

/// The HTTP API in process (HummingbirdTesting's router framework): every endpoint, the auth
/// matrix, limits and error shapes, and "nothing stored" after every refused write.
@Suite struct APITests {
    @Test func healthAndOpenAPIDocumentIsValid() async throws {
        try await Fixture.with("api-openapi") { f in
            let (health, doc) = try await f.test { c in (try await c.get("/healthz"), try await c.get("/openapi.json")) }
            #expect(health.status == 200)
            #expect(health.body == "{\n  \"status\" : \"ok\"\n}\n")
            #expect(doc.status == 200)
            let paths = ((doc.json as? [String: Any])?["paths"] as? [String: Any]).map { Set($0.keys) } ?? []
            #expect(paths == [
                "/healthz", "/metrics", "/openapi.json", "/api/v1/observations", "/api/v1/import/rpm-qa", "/api/v1/import/salt",
                "/api/v1/hosts", "/api/v1/hosts/{host}/history", "/api/v1/show", "/api/v1/diff", "/api/v1/where/{name}",
                "/api/v1/drift", "/api/v1/tokens", "/api/v1/tokens/{id}",
                "/api/v1/repos/all/repodata/{file}", "/api/v1/repos/all/Packages/{sha256}/{file}",
                "/api/v1/repos/state/{state}/repodata/{file}", "/api/v1/repos/state/{state}/Packages/{sha256}/{file}",
                "/api/v1/archive/files", "/api/v1/archive/files/{sha256}", "/api/v1/archive/missing", "/api/v1/archive/mirror",
                "/api/v1/hosts/{host}/jobs", "/api/v1/jobs/{id}", "/api/v1/jobs/{id}/target", "/api/v1/jobs/{id}/claim", "/api/v1/jobs/{id}/result",
                "/api/v1/rollouts", "/api/v1/rollouts/{id}", "/api/v1/rollouts/{id}/log", "/api/v1/rollouts/{id}/explain",
                "/api/v1/rollouts/{id}/approve", "/api/v1/rollouts/{id}/pause", "/api/v1/rollouts/{id}/resume", "/api/v1/rollouts/{id}/abort",
                "/api/v1/rollouts/{id}/waivers", "/api/v1/waivers/{id}", "/api/v1/labels", "/api/v1/hosts/{host}/labels/{key}",
                "/api/v1/signals", "/api/v1/suspects",
            ])
            // Every operation but the three open ones takes a bearer token or basic authentication.
            let schemes = (((doc.json as? [String: Any])?["components"] as? [String: Any])?["securitySchemes"] as? [String: Any]).map { Set($0.keys) }
            #expect(schemes == ["bearer", "basic"])
            let tmp = try TemporaryDirectory("openapi-doc")
            defer { tmp.remove() }
            try FileSystem.write(doc.body, to: tmp.path("openapi.json"))
            let r = try Subprocess.run("python3", ["-m", "openapi_spec_validator", tmp.path("openapi.json")])
            #expect(r.status == 0, "openapi-spec-validator: \(r.stdoutText) \(r.stderrText)")
        }
    }

    @Test func authMatrix() async throws {
        try await Fixture.with("api-auth") { f in
            let before = try await f.storedCounts()
            let full = Fleet.payload(Fleet.observation("worker2", "2025-01-21T10:00:00Z", Fleet.base), full: true)
            let replies = try await f.test { c in
                [
                    "missing": try await c.get("/api/v1/hosts"),
                    "malformed": try await c.send(.get, "/api/v1/hosts", authorization: "Token abc"),
                    "emptyBearer": try await c.send(.get, "/api/v1/hosts", authorization: "Bearer"),
                    "unknown": try await c.get("/api/v1/hosts", token: "tmk_nope"),
                    "revoked": try await c.get("/api/v1/hosts", token: f.revoked),
                    "readerWrites": try await c.post("/api/v1/observations", token: f.reader, body: full),
                    "readerImports": try await c.post("/api/v1/import/rpm-qa?host=w&at=2025-01-21", token: f.reader, body: "bash-5.2-1.1.x86_64\n"),
                    "readerTokens": try await c.get("/api/v1/tokens", token: f.reader),
                    "hostOther": try await c.post("/api/v1/observations", token: f.host1, body: full),
                    "hostReads": try await c.get("/api/v1/hosts", token: f.host1),
                    "hostImports": try await c.post("/api/v1/import/salt", token: f.host1, body: "{}"),
                    "readerReads": try await c.get("/api/v1/hosts", token: f.reader),
                    "adminReads": try await c.get("/api/v1/hosts", token: f.admin),
                ]
            }
            let after = try await f.storedCounts()
            func check(_ k: String, _ status: Int, _ code: String, _ words: String...) {
                let r = replies[k]!
                #expect(r.status == status, "\(k): \(r.status) \(r.body)")
                #expect(r.errorCode == code, "\(k): \(r.body)")
                for w in words { #expect(r.errorMessage.contains(w), "\(k): '\(r.errorMessage)' lacks '\(w)'") }
            }
            check("missing", 401, "unauthorized", "missing Authorization header")
            check("malformed", 401, "unauthorized", "malformed Authorization header")
            check("emptyBearer", 401, "unauthorized", "malformed")
            check("unknown", 401, "unauthorized", "unknown token")
            check("revoked", 401, "unauthorized", "token \(f.revokedID) was revoked")
            check("readerWrites", 403, "forbidden", "host token", "admin token", "role reader")
            check("readerImports", 403, "forbidden", "admin token", "role reader")
            check("readerTokens", 403, "forbidden", "admin token")
            check("hostOther", 403, "forbidden", "only report host worker1, not worker2")
            check("hostReads", 403, "forbidden", "reader or admin", "role host")
            check("hostImports", 403, "forbidden", "admin token")
            #expect(replies["readerReads"]!.status == 200)
            #expect(replies["adminReads"]!.status == 200)
            #expect(before == after)
            // The secret never reaches a log or answer except at creation.
            for r in replies.values { #expect(!r.body.contains(f.revoked) && !r.body.contains(f.reader)) }
        }
    }

    @Test func heartbeatUnknownThenFullThenHeartbeatThenDuplicate() async throws {
        try await Fixture.with("api-heartbeat") { f in
            let o1 = Fleet.observation("worker1", "2025-01-21T10:00:00Z", Fleet.base)
            let o2 = { var o = o1; o.at = Timestamp.parseISO8601("2025-01-21T10:05:00Z")!; return o }()
            let r = try await f.test { c in
                [
                    try await c.post("/api/v1/observations", token: f.host1, body: Fleet.payload(o1, full: false)),
                    try await c.post("/api/v1/observations", token: f.host1, body: Fleet.payload(o1, full: true)),
                    try await c.post("/api/v1/observations", token: f.host1, body: Fleet.payload(o2, full: false)),
                    try await c.post("/api/v1/observations", token: f.host1, body: Fleet.payload(o2, full: false)),
                    try await c.post("/api/v1/observations", token: f.admin, body: Fleet.payload(o1, full: true)),
                ]
            }
            #expect(r[0].status == 409)
            #expect(r[0].errorCode == "unknown_state")
            #expect(r[0].errorMessage.contains(o1.state.id.short))
            #expect(r[1].status == 201)
            let a1 = try #require(r[1].json as? [String: Any])
            #expect(a1["outcome"] as? String == "recorded-new-state")
            #expect(a1["state"] as? String == o1.state.id.hex)
            #expect(a1["host"] as? String == "worker1")
            #expect(a1["at"] as? String == "2025-01-21T10:00:00Z")
            // Written by hand for speed, rendered exactly as every other answer (TidemarkJSON).
            struct Answer: Encodable { var outcome: String, state: String, host: String, at: String }
            let rendered = try TidemarkJSON.document(Answer(outcome: "recorded-new-state", state: o1.state.id.hex, host: "worker1", at: "2025-01-21T10:00:00Z"))
            #expect(r[1].body == String(decoding: rendered, as: UTF8.self))
            #expect(r[1].headers[.contentType] == "application/json")
            #expect(r[2].status == 201)
            #expect((r[2].json as? [String: Any])?["outcome"] as? String == "recorded")
            #expect((r[3].json as? [String: Any])?["outcome"] as? String == "duplicate")
            #expect((r[4].json as? [String: Any])?["outcome"] as? String == "duplicate")
            let history = try await f.store.observations(host: "worker1", since: nil, until: nil)
            #expect(history.map(\.state) == [o1.state.id, o1.state.id])
            // The heartbeat kept the repositories of the same state.
            #expect(try await f.store.repositories(host: "worker1", at: o2.at)?.map(\.alias) == ["repo-oss"])
        }
    }

    /// A changed state sent as what changed since a state the server knows: recorded exactly as
    /// the whole state would be; an unknown base asks for the whole state, a delta that does not
    /// give the state it names is refused.
    @Test func deltasAreRecordedLikeTheWholeState() async throws {
        try await Fixture.with("api-delta") { f in
            let o1 = Fleet.observation("worker1", "2025-01-21T10:00:00Z", Fleet.base)
            let o2 = Fleet.observation("worker1", "2025-01-21T10:05:00Z", Fleet.upgraded)
            @Sendable func delta(base: StateID, state: StateID, packages: Bool = false) -> String {
                var p = ObservationPayload(o2, full: packages)
                p.state = state
                p.base = base
                p.added = [ObservationPayload.WirePackage(InstalledPackage(Fleet.upgraded[1], installTime: 1_700_000_200))]
                p.removed = [Fleet.base[1].identityKey]
                return String(decoding: p.json(), as: UTF8.self)
            }
            let unknownBase = PackageState([Fleet.package("other", "1")]).id
            let wrong = PackageState(Fleet.upgraded + [Fleet.package("vim", "9.1")]).id
            let r = try await f.test { c in
                [
                    try await c.post("/api/v1/observations", token: f.host1, body: Fleet.payload(o1, full: true)),
                    try await c.post("/api/v1/observations", token: f.host1, body: delta(base: unknownBase, state: o2.state.id)),
                    try await c.post("/api/v1/observations", token: f.host1, body: delta(base: o1.state.id, state: wrong)),
                    try await c.post("/api/v1/observations", token: f.host1, body: delta(base: o1.state.id, state: o2.state.id, packages: true)),
                    try await c.post("/api/v1/observations", token: f.host1, body: delta(base: o1.state.id, state: o2.state.id)),
                    try await c.get("/metrics"),
                ]
            }
            #expect(r[0].status == 201)
            #expect(r[1].status == 409 && r[1].errorCode == "unknown_state" && r[1].errorMessage.contains("base state \(unknownBase.short)"), "\(r[1].body)")
            #expect(r[2].status == 422 && r[2].errorMessage.contains("gives state \(o2.state.id.short), not \(wrong.short)"), "\(r[2].body)")
            #expect(r[3].status == 400 && r[3].errorMessage.hasPrefix("packages:"), "\(r[3].body)")
            #expect(r[4].status == 201 && (r[4].json as? [String: Any])?["outcome"] as? String == "recorded-new-state", "\(r[4].body)")
            #expect(try await f.store.packages(of: o2.state.id) == PackageState(Fleet.upgraded).packages)
            #expect(try await f.store.observations(host: "worker1", since: nil, until: nil).map(\.state) == [o1.state.id, o2.state.id])
            #expect(try await f.store.installTimes(host: "worker1", at: o2.at)[Fleet.upgraded[1].identityKey] == 1_700_000_200)
            #expect(r[5].body.contains("tidemark_observation_posts_total{form=\"delta\"} 1"), "\(r[5].body)")
            #expect(r[5].body.contains("tidemark_observation_posts_total{form=\"full\"} 1"))
        }
    }

    @Test func refusedWritesStoreNothing() async throws {
        try await Fixture.with("api-refused", configure: { $0.maxBody = 4096 }) { f in
            let good = Fleet.observation("worker1", "2025-01-21T10:00:00Z", Fleet.base)
            var forged = ObservationPayload(good, full: true)
            forged.state = PackageState(Fleet.upgraded).id
            let forgedBody = String(decoding: try JSONEncoder().encode(forged), as: UTF8.self)
            let goodBody = Fleet.payload(good, full: true)
            let wrongType = goodBody.replacingOccurrences(of: "\"version\":\"5.2\"", with: "\"version\":5.2")
            let missing = goodBody.replacingOccurrences(of: "\"host\":\"worker1\",", with: "")
            let big = Fleet.payload(Fleet.observation("worker1", "2025-01-21T10:00:00Z", (0..<100).map { Fleet.package("p\($0)", "1.0") }), full: true)
            let badHost = goodBody.replacingOccurrences(of: "\"host\":\"worker1\"", with: "\"host\":\"bad host\"")
            let before = try await f.storedCounts()
            let r = try await f.test { c in
                [
                    "forged": try await c.post("/api/v1/observations", token: f.admin, body: forgedBody),
                    "syntax": try await c.post("/api/v1/observations", token: f.admin, body: "{\"host\": "),
                    "wrongType": try await c.post("/api/v1/observations", token: f.admin, body: wrongType),
                    "missing": try await c.post("/api/v1/observations", token: f.admin, body: missing),
                    "tooLarge": try await c.post("/api/v1/observations", token: f.admin, body: big),
                    "badHost": try await c.post("/api/v1/observations", token: f.admin, body: badHost),
                    "badTime": try await c.post("/api/v1/observations", token: f.admin, body: goodBody.replacingOccurrences(of: "\"at\":\"2025-01-21T10:00:00Z\"", with: "\"at\":-9223372036854775808")),
                    "badHeartbeat": try await c.post("/api/v1/observations", token: f.admin, body: "{\"host\":\"w\",\"at\":\"2025-01-21\",\"source\":\"agent\",\"state\":\"zz\"}"),
                    "badRPMQA": try await c.post("/api/v1/import/rpm-qa?host=w9&at=2025-01-21", token: f.admin, body: "bash-5.2-1.1.x86_64\nnot a nevra\n"),
                    "rpmqaNoAt": try await c.post("/api/v1/import/rpm-qa?host=w9", token: f.admin, body: "bash-5.2-1.1.x86_64\n"),
                    "badSalt": try await c.post("/api/v1/import/salt?at=2025-01-21", token: f.admin, body: "{\"worker6\": {\"bash\": "),
                    "badFormat": try await c.post("/api/v1/import/salt?format=apk", token: f.admin, body: "{}"),
                    "badRole": try await c.post("/api/v1/tokens", token: f.admin, body: "{\"role\": \"root\"}"),
                    "hostlessHostToken": try await c.post("/api/v1/tokens", token: f.admin, body: "{\"role\": \"host\"}"),
                ]
            }
            let after = try await f.storedCounts()
            let tokens = try await SQLTokenStore(backend: f.store.backend).tokens()
            func check(_ k: String, _ status: Int, _ code: String, _ words: String...) {
                let r = r[k]!
                #expect(r.status == status, "\(k): \(r.status) \(r.body)")
                #expect(r.errorCode == code, "\(k): \(r.body)")
                for w in words { #expect(r.errorMessage.contains(w), "\(k): '\(r.errorMessage)' lacks '\(w)'") }
            }
            check("forged", 422, "invalid_input", "state:", "not the content address")
            check("syntax", 400, "invalid_input", "not valid JSON")
            check("wrongType", 400, "invalid_input", "packages[0].evr.version", "string")
            check("missing", 400, "invalid_input", "host", "missing")
            check("tooLarge", 413, "payload_too_large", "4096")
            check("badHost", 400, "invalid_argument", "host name")
            check("badTime", 400, "invalid_input", "at")
            check("badHeartbeat", 400, "invalid_input", "state")
            check("badRPMQA", 400, "invalid_input", "body:2")
            check("rpmqaNoAt", 400, "invalid_argument", "at: missing")
            check("badSalt", 400, "invalid_input")
            check("badFormat", 400, "invalid_argument", "format")
            check("badRole", 400, "invalid_input", "role")
            check("hostlessHostToken", 400, "invalid_argument", "host")
            #expect(before == after)
            #expect(tokens.count == 4)
        }
    }

    @Test func readsAreByteForByteTheCLIsJSON() async throws {
        try await Fixture.with("api-reads") { f in
            let cli = try TidemarkExecutable(db: f.db)
            let observations = [
                Fleet.observation("worker1", "2025-01-20T10:00:00Z", Fleet.base),
                Fleet.observation("worker1", "2025-01-21T10:00:00Z", Fleet.upgraded),
                Fleet.observation("worker2", "2025-01-20T12:00:00Z", Fleet.base),
            ]
            let r = try await f.test { c in
                for o in observations {
                    let p = try await c.post("/api/v1/observations", token: f.admin, body: Fleet.payload(o, full: true))
                    #expect(p.status == 201, "\(p.body)")
                }
                let state = observations[0].state.id.hex.prefix(8)
                return [
                    "hosts": try await c.get("/api/v1/hosts", token: f.reader),
                    "history": try await c.get("/api/v1/hosts/worker1/history?since=2025-01-01&until=2025-02-01", token: f.reader),
                    "show": try await c.get("/api/v1/show?ref=worker1%402025-01-20T11:00:00Z", token: f.reader),
                    "showState": try await c.get("/api/v1/show?ref=state:\(state)", token: f.reader),
                    "diff": try await c.get("/api/v1/diff?from=worker1@2025-01-20T11:00:00Z&to=worker1&changelog=true", token: f.reader),
                    "where": try await c.get("/api/v1/where/perl-Mojo-IOLoop-ReadWriteProcess?at=2025-01-21T11:00:00Z", token: f.reader),
                    "drift": try await c.get("/api/v1/drift?at=2025-01-21T11:00:00Z", token: f.reader),
                    "driftAgainst": try await c.get("/api/v1/drift?against=worker2&at=2025-01-21T11:00:00Z", token: f.admin),
                    "fileRef": try await c.get("/api/v1/show?ref=file:/etc/passwd", token: f.reader),
                    "unknownHost": try await c.get("/api/v1/hosts/nobody/history", token: f.reader),
                    "badTime": try await c.get("/api/v1/where/bash?at=yesterday", token: f.reader),
                    "hugeTime": try await c.get("/api/v1/show?ref=worker1@-99999999999999w", token: f.reader),
                    "noRef": try await c.get("/api/v1/show", token: f.reader),
                    "badChangelog": try await c.get("/api/v1/diff?from=worker1&to=worker2&changelog=yes", token: f.reader),
                    "noRoute": try await c.get("/api/v1/nothing", token: f.reader),
                ]
            }
            let expected: [String: [String]] = [
                "hosts": ["hosts"],
                "history": ["history", "worker1", "--since", "2025-01-01", "--until", "2025-02-01"],
                "show": ["show", "worker1@2025-01-20T11:00:00Z"],
                "showState": ["show", "state:\(observations[0].state.id.hex.prefix(8))"],
                "diff": ["diff", "worker1@2025-01-20T11:00:00Z", "worker1", "--changelog"],
                "where": ["where", "perl-Mojo-IOLoop-ReadWriteProcess", "--at", "2025-01-21T11:00:00Z"],
                "drift": ["drift", "--at", "2025-01-21T11:00:00Z"],
                "driftAgainst": ["drift", "--against", "worker2", "--at", "2025-01-21T11:00:00Z"],
            ]
            for (k, args) in expected {
                #expect(r[k]!.status == 200, "\(k): \(r[k]!.body)")
                let printed = try cli.check(args + ["--json"])
                #expect(r[k]!.body == printed, "\(k) differs from tidemark \(args.joined(separator: " ")) --json")
            }
            #expect(r["diff"]!.body.contains("\"upgraded\""))
            #expect(r["fileRef"]!.status == 400 && r["fileRef"]!.errorMessage.contains("file refs"))
            #expect(r["unknownHost"]!.status == 404 && r["unknownHost"]!.errorCode == "not_found")
            #expect(r["badTime"]!.status == 400 && r["badTime"]!.errorMessage.hasPrefix("at:"))
            #expect(r["hugeTime"]!.status == 400)
            #expect(r["noRef"]!.status == 400 && r["noRef"]!.errorMessage.hasPrefix("ref:"))
            #expect(r["badChangelog"]!.status == 400)
            #expect(r["noRoute"]!.status == 404 && r["noRoute"]!.errorCode == "not_found")
        }
    }

    @Test func importsRecordLikeTheCLI() async throws {
        try await Fixture.with("api-imports") { f in
            let salt = """
                {"worker5": {"bash": "5.2-1.1", "zypper": "1.14.77-1.1"}}
                {"worker6": "Minion did not return. [No response]"}
                """
            let r = try await f.test { c in
                [
                    try await c.post("/api/v1/import/rpm-qa?host=openqaworker14&at=2025-01-21T10:00:00Z", token: f.admin, body: "bash-5.2-1.1.x86_64\nzypper-1.14.77-1.1.x86_64\n"),
                    try await c.post("/api/v1/import/rpm-qa?host=openqaworker14&at=2025-01-21T10:00:00Z", token: f.admin, body: "bash-5.2-1.1.x86_64\nzypper-1.14.77-1.1.x86_64\n"),
                    try await c.post("/api/v1/import/salt?at=2025-01-21T11:00:00Z&format=rpm", token: f.admin, body: salt),
                ]
            }
            #expect(r[0].status == 201, "\(r[0].body)")
            let first = try #require((r[0].json as? [[String: Any]])?.first)
            #expect(first["host"] as? String == "openqaworker14")
            #expect(first["packages"] as? Int == 2)
            #expect(first["outcome"] as? String == "recorded-new-state")
            #expect((r[1].json as? [[String: Any]])?.first?["outcome"] as? String == "duplicate")
            #expect(r[2].status == 201, "\(r[2].body)")
            let answer = try #require(r[2].json as? [String: Any])
            #expect((answer["results"] as? [[String: Any]])?.map { $0["host"] as? String } == ["worker5"])
            #expect((answer["issues"] as? [String])?.first?.hasPrefix("worker6: ") == true)
            let hosts = try await f.store.hosts().map(\.host)
            #expect(hosts.sorted() == ["openqaworker14", "worker5"])
            #expect(try await f.store.observation(host: "openqaworker14", atOrBefore: nil)?.source == .importRPMQA)
        }
    }

    /// Tokens are cached for `tokenCacheTTL`: a revocation that bypasses this server (another
    /// server process, `tidemark token revoke --db`) must still take effect once that time is up.
    @Test func tokenRevokedInTheStoreStopsWithinTheCacheTime() async throws {
        try await Fixture.with("api-token-cache", configure: { $0.tokenCacheTTL = .seconds(1) }) { f in
            let tokens = SQLTokenStore(backend: f.store.backend)
            let issued = try await tokens.createToken(role: .reader, host: nil, note: nil, now: Timestamp(seconds: 1_737_450_000))
            let (before, after) = try await f.test { c in
                let before = try await c.get("/api/v1/hosts", token: issued.token)
                _ = try await tokens.revokeToken(id: issued.id, now: Timestamp(seconds: 1_737_450_100))
                try await Task.sleep(for: .milliseconds(1200))
                return (before, try await c.get("/api/v1/hosts", token: issued.token))
            }
            #expect(before.status == 200)
            #expect(after.status == 401 && after.errorMessage.contains("token \(issued.id) was revoked"))
        }
        // Without a cache the store is asked on every request: the revocation counts at once.
        try await Fixture.with("api-token-nocache", configure: { $0.tokenCacheTTL = .zero }) { f in
            let tokens = SQLTokenStore(backend: f.store.backend)
            let issued = try await tokens.createToken(role: .reader, host: nil, note: nil, now: Timestamp(seconds: 1_737_450_000))
            let (before, after) = try await f.test { c in
                let before = try await c.get("/api/v1/hosts", token: issued.token)
                _ = try await tokens.revokeToken(id: issued.id, now: Timestamp(seconds: 1_737_450_100))
                return (before, try await c.get("/api/v1/hosts", token: issued.token))
            }
            #expect(before.status == 200 && after.status == 401)
        }
    }

    @Test func tokensCreateListRevoke() async throws {
        try await Fixture.with("api-tokens") { f in
            let r = try await f.test { c in
                let created = try await c.post("/api/v1/tokens", token: f.admin, body: "{\"role\": \"host\", \"host\": \"worker9\", \"note\": \"agent\"}")
                let secret = (created.json as? [String: Any])?["token"] as? String ?? ""
                let id = (created.json as? [String: Any])?["id"] as? Int ?? -1
                let o = Fleet.observation("worker9", "2025-01-21T10:00:00Z", Fleet.base)
                let reported = try await c.post("/api/v1/observations", token: secret, body: Fleet.payload(o, full: true))
                let list = try await c.get("/api/v1/tokens", token: f.admin)
                let revoke = try await c.send(.delete, "/api/v1/tokens/\(id)", token: f.admin)
                let again = try await c.send(.delete, "/api/v1/tokens/\(id)", token: f.admin)
                let after = try await c.post("/api/v1/observations", token: secret, body: Fleet.payload(o, full: true))
                let unknown = try await c.send(.delete, "/api/v1/tokens/999", token: f.admin)
                let notNumber = try await c.send(.delete, "/api/v1/tokens/abc", token: f.admin)
                return ["created": created, "reported": reported, "list": list, "revoke": revoke, "again": again, "after": after, "unknown": unknown, "notNumber": notNumber, "secret": Reply(status: 0, body: secret)]
            }
            #expect(r["created"]!.status == 201)
            let created = try #require(r["created"]!.json as? [String: Any])
            #expect(Set(created.keys) == ["id", "token", "role", "host"])
            #expect(created["role"] as? String == "host" && created["host"] as? String == "worker9")
            #expect(r["secret"]!.body.hasPrefix("tmk_") && r["secret"]!.body.count == 68)
            #expect(r["reported"]!.status == 201)
            #expect(r["list"]!.status == 200)
            #expect(!r["list"]!.body.contains(r["secret"]!.body))
            #expect(!r["list"]!.body.contains("hash"))
            let list = try #require(r["list"]!.json as? [[String: Any]])
            #expect(list.count == 5)
            #expect(Set(list[0].keys) == ["id", "role", "host", "note", "createdAt", "revokedAt"])
            #expect(r["revoke"]!.status == 200)
            #expect((r["revoke"]!.json as? [String: Any])?["revokedAt"] is String)
            #expect(r["again"]!.status == 200)
            #expect(r["after"]!.status == 401 && r["after"]!.errorMessage.contains("revoked"))
            #expect(r["unknown"]!.status == 404)
            #expect(r["notNumber"]!.status == 400)
            // Only the hash is stored.
            let hash = Tokens.hash(r["secret"]!.body)
            #expect(try await SQLTokenStore(backend: f.store.backend).token(hash: hash) != nil)
        }
    }

    @Test func metricsParseAndCountIngestion() async throws {
        try await Fixture.with("api-metrics", configure: { $0.now = { Timestamp.parseISO8601("2025-01-21T12:00:00Z")! } }) { f in
            let (before, after) = try await f.test { c in
                let before = try await c.get("/metrics")
                // worker1 reported every 5 minutes until 10:10; at 12:00 it is stale. worker2 once.
                for minute in ["00", "05", "10"] {
                    let o = Fleet.observation("worker1", "2025-01-21T10:\(minute):00Z", Fleet.base)
                    _ = try await c.post("/api/v1/observations", token: f.host1, body: Fleet.payload(o, full: minute == "00"))
                }
                _ = try await c.post("/api/v1/observations", token: f.host1, body: Fleet.payload(Fleet.observation("worker1", "2025-01-21T10:10:00Z", Fleet.base), full: false))
                _ = try await c.post("/api/v1/observations", token: f.admin, body: Fleet.payload(Fleet.observation("worker2", "2025-01-21T11:59:00Z", Fleet.upgraded), full: true))
                _ = try await c.get("/api/v1/hosts")
                return (before, try await c.get("/metrics"))
            }
            #expect(before.status == 200)
            let m0 = try PrometheusText.parse(before.body), m1 = try PrometheusText.parse(after.body)
            #expect(m0["tidemark_observations_ingested_total{outcome=\"recorded\"}"] == 0)
            #expect(m1["tidemark_observations_ingested_total{outcome=\"recorded-new-state\"}"] == 2)
            #expect(m1["tidemark_observations_ingested_total{outcome=\"recorded\"}"] == 2)
            #expect(m1["tidemark_observations_ingested_total{outcome=\"duplicate\"}"] == 1)
            #expect(m0["tidemark_hosts"] == 0 && m1["tidemark_hosts"] == 2)
            #expect(m0["tidemark_states"] == 0 && m1["tidemark_states"] == 2)
            #expect(m1["tidemark_hosts_stale"] == 1)
            #expect(m1["tidemark_http_request_duration_seconds_count{route=\"/api/v1/observations\",status=\"201\"}"] == 5)
            #expect(m1["tidemark_http_request_duration_seconds_bucket{route=\"/api/v1/hosts\",status=\"401\",le=\"+Inf\"}"] == 1)
            #expect(after.body.contains("# TYPE tidemark_http_request_duration_seconds histogram"))
        }
    }

    @Test func stalenessRule() {
        let now = Timestamp(seconds: 10_000)
        // Every 100 s, last at 9_700: 300 s > 2 x 100 s.
        let recent = ["a": [9_700, 9_600, 9_500, 9_400], "b": [9_900, 9_800, 9_700], "c": [1_000]] as [String: [Int64]]
        #expect(Staleness.count(recent, now: now, staleAfter: nil) == 1)
        #expect(Staleness.count(recent, now: now, staleAfter: 200) == 2)
        #expect(Staleness.count(recent, now: now, staleAfter: 50_000) == 0)
    }
}

/// A strict reader of Prometheus text exposition 0.0.4: every line a comment or `name{labels} value`.
enum PrometheusText {
    struct Malformed: Error, CustomStringConvertible { var description: String }

    static func parse(_ text: String) throws -> [String: Double] {
        var out: [String: Double] = [:]
        let sample = try Regex(#"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? (-?[0-9.eE+-]+|\+Inf|-Inf|NaN)$"#)
        var typed: Set<String> = []
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# HELP ") { continue }
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                guard parts.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else { throw Malformed(description: "bad TYPE line: \(line)") }
                typed.insert(String(parts[2]))
                continue
            }
            guard line.wholeMatch(of: sample) != nil else { throw Malformed(description: "not a sample: \(line)") }
            let space = line.lastIndex(of: " ")!
            let key = String(line[..<space])
            let family = String(key.prefix { $0 != "{" }).replacingOccurrences(of: "_bucket", with: "").replacingOccurrences(of: "_sum", with: "").replacingOccurrences(of: "_count", with: "")
            guard typed.contains(family) else { throw Malformed(description: "sample before its TYPE: \(line)") }
            out[key] = Double(line[line.index(after: space)...])
        }
        return out
    }
}
