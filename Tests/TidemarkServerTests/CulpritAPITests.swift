import Foundation
import Testing
import TidemarkCore
import TidemarkServer
import TidemarkStore
import TidemarkTestSupport

/// Signals and suspects over HTTP: the auth matrix, refused input (400 naming the field, nothing
/// stored), duplicates, the list's filters, and a small suspects report, each answer checked
/// against the served OpenAPI document.
@Suite struct CulpritAPITests {
    static func signal(_ host: String, _ at: String, _ status: String, reason: String? = nil, externalID: String? = nil) -> String {
        var fields = ["\"host\": \(quoted(host))", "\"at\": \(quoted(at))", "\"status\": \(quoted(status))"]
        if let reason { fields.append("\"reason\": \(quoted(reason))") }
        if let externalID { fields.append("\"externalID\": \(quoted(externalID))") }
        return "{\(fields.joined(separator: ", "))}"
    }

    static func batch(_ signals: String...) -> String { batch(signals) }
    static func batch(_ signals: [String]) -> String { "{\"signals\": [\(signals.joined(separator: ", "))]}" }

    static func quoted(_ s: String) -> String {
        String(decoding: try! JSONEncoder().encode(s), as: UTF8.self)
    }

    @Test func signalAuthMatrix() async throws {
        try await Fixture.with("api-signals-auth") { f in
            let own = Self.batch(Self.signal("worker1", "2025-01-21T10:00:00Z", "failing"))
            // The first signal is the host's own: the second, for another host, refuses the whole request.
            let other = Self.batch(Self.signal("worker1", "2025-01-21T10:00:00Z", "failing"), Self.signal("worker2", "2025-01-21T10:00:00Z", "failing"))
            let (r, list) = try await f.test { c in
                let r = [
                    "missing": try await c.post("/api/v1/signals", token: nil, body: own),
                    "revoked": try await c.post("/api/v1/signals", token: f.revoked, body: own),
                    "reader": try await c.post("/api/v1/signals", token: f.reader, body: own),
                    "hostOther": try await c.post("/api/v1/signals", token: f.host1, body: other),
                    "listMissing": try await c.get("/api/v1/signals"),
                    "listHost": try await c.get("/api/v1/signals", token: f.host1),
                    "suspectsMissing": try await c.get("/api/v1/suspects"),
                    "suspectsHost": try await c.get("/api/v1/suspects", token: f.host1),
                    "before": try await c.get("/api/v1/signals", token: f.reader),
                    "hostOwn": try await c.post("/api/v1/signals", token: f.host1, body: own),
                    "admin": try await c.post("/api/v1/signals", token: f.admin, body: Self.batch(Self.signal("worker2", "2025-01-21T11:00:00Z", "healthy"))),
                    "listReader": try await c.get("/api/v1/signals", token: f.reader),
                    "listAdmin": try await c.get("/api/v1/signals", token: f.admin),
                    "suspectsReader": try await c.get("/api/v1/suspects?at=2025-01-22T00:00:00Z", token: f.reader),
                ]
                return (r, try await c.get("/openapi.json"))
            }
            let doc = try #require(list.json as? [String: Any])
            func check(_ k: String, _ status: Int, _ code: String, _ words: String...) {
                let reply = r[k]!
                #expect(reply.status == status, "\(k): \(reply.status) \(reply.body)")
                #expect(reply.errorCode == code, "\(k): \(reply.body)")
                for w in words { #expect(reply.errorMessage.contains(w), "\(k): '\(reply.errorMessage)' lacks '\(w)'") }
            }
            check("missing", 401, "unauthorized", "missing Authorization header")
            check("revoked", 401, "unauthorized", "token \(f.revokedID) was revoked")
            check("reader", 403, "forbidden", "POST /api/v1/signals", "role reader")
            check("hostOther", 403, "forbidden", "signals[1].host", "belongs to host worker1, not worker2")
            check("listMissing", 401, "unauthorized", "missing Authorization header")
            check("listHost", 403, "forbidden", "reader or admin", "role host")
            check("suspectsMissing", 401, "unauthorized")
            check("suspectsHost", 403, "forbidden", "reader or admin", "role host")
            #expect(r["before"]!.body == "[\n\n]\n", "refused requests stored something: \(r["before"]!.body)")
            for k in ["hostOwn", "admin"] {
                #expect(r[k]!.status == 200, "\(k): \(r[k]!.body)")
                #expect(try r[k]!.decode(SignalImportResult.self) == SignalImportResult(recorded: 1, duplicates: 0, failing: k == "hostOwn" ? 1 : 0, healthy: k == "admin" ? 1 : 0))
            }
            #expect(r["listReader"]!.status == 200 && r["listAdmin"]!.status == 200)
            #expect(r["listReader"]!.body == r["listAdmin"]!.body)
            let stored = try r["listReader"]!.decode([Signal].self)
            #expect(stored == [
                Signal(host: "worker1", at: Timestamp.parseISO8601("2025-01-21T10:00:00Z")!, status: .failing, source: "api"),
                Signal(host: "worker2", at: Timestamp.parseISO8601("2025-01-21T11:00:00Z")!, status: .healthy, source: "api"),
            ])
            #expect(r["suspectsReader"]!.status == 200, "\(r["suspectsReader"]!.body)")
            for (k, path, method) in [
                ("missing", "/api/v1/signals", "post"), ("reader", "/api/v1/signals", "post"), ("hostOther", "/api/v1/signals", "post"),
                ("hostOwn", "/api/v1/signals", "post"), ("listHost", "/api/v1/signals", "get"), ("listReader", "/api/v1/signals", "get"),
                ("suspectsHost", "/api/v1/suspects", "get"), ("suspectsReader", "/api/v1/suspects", "get"),
            ] {
                #expect(OpenAPISchema.problems(r[k]!, path: path, method: method, doc: doc) == [], "\(k)")
            }
        }
    }

    @Test func badSignalsAreRefusedNamingTheFieldAndNothingIsStored() async throws {
        try await Fixture.with("api-signals-bad") { f in
            let good = Self.signal("worker1", "2025-01-21T10:00:00Z", "failing", reason: "setup failure", externalID: "openqa:1")
            let healthy = Self.signal("worker2", "2025-01-21T10:00:00Z", "healthy")
            // Each refused body, and what its message must start with.
            let cases: [(String, String, String)] = [
                ("malformed", "{\"signals\": [\(good)", "body is not valid JSON"),
                ("notAnObject", "[]", "body: expected an object"),
                ("noSignals", "{}", "signals: required field is missing"),
                ("atType", Self.batch(healthy, "{\"host\": \"w\", \"at\": true, \"status\": \"failing\"}"), "signals[1].at:"),
                ("atText", Self.batch(healthy, Self.signal("w", "yesterday", "failing")), "signals[1].at:"),
                ("atRange", Self.batch(healthy, "{\"host\": \"w\", \"at\": -99999999999999, \"status\": \"failing\"}"), "signals[1].at:"),
                ("statusType", Self.batch(healthy, "{\"host\": \"w\", \"at\": \"2025-01-21\", \"status\": 1}"), "signals[1].status:"),
                ("statusUnknown", Self.batch(healthy, Self.signal("w", "2025-01-21", "broken")), "signals[1].status:"),
                ("noStatus", Self.batch(healthy, "{\"host\": \"w\", \"at\": \"2025-01-21\"}"), "signals[1].status: required field is missing"),
                ("hostEmpty", Self.batch(healthy, Self.signal("", "2025-01-21", "failing")), "signals[1].host:"),
                ("hostAt", Self.batch(healthy, Self.signal("worker1@2025-01-21", "2025-01-21", "failing")), "signals[1].host:"),
                ("hostType", Self.batch(healthy, "{\"host\": 7, \"at\": \"2025-01-21\", \"status\": \"failing\"}"), "signals[1].host:"),
                ("sourceEmpty", Self.batch(healthy, "{\"host\": \"w\", \"at\": \"2025-01-21\", \"status\": \"failing\", \"source\": \"\"}"), "signals[1].source:"),
                ("externalIDEmpty", Self.batch(healthy, Self.signal("w", "2025-01-21", "failing", externalID: "")), "signals[1].externalID:"),
                ("tooMany", Self.batch(Array(repeating: healthy, count: 10_001)), "signals: 10001 signals"),
            ]
            let (before, replies, after, docReply) = try await f.test { c in
                #expect(try await c.post("/api/v1/signals", token: f.admin, body: Self.batch(good)).status == 200)
                let before = try await c.get("/api/v1/signals", token: f.reader)
                var replies: [String: Reply] = [:]
                for (k, body, _) in cases { replies[k] = try await c.post("/api/v1/signals", token: f.admin, body: body) }
                return (before, replies, try await c.get("/api/v1/signals", token: f.reader), try await c.get("/openapi.json"))
            }
            let doc = try #require(docReply.json as? [String: Any])
            for (k, _, prefix) in cases {
                let r = replies[k]!
                #expect(r.status == 400, "\(k): \(r.status) \(r.body)")
                #expect(r.errorCode == "invalid_input", "\(k): \(r.body)")
                #expect(r.errorMessage.hasPrefix(prefix), "\(k): '\(r.errorMessage)' does not start with '\(prefix)'")
                #expect(OpenAPISchema.problems(r, path: "/api/v1/signals", method: "post", doc: doc) == [], "\(k)")
            }
            #expect(before.status == 200)
            #expect(try before.decode([Signal].self).count == 1)
            #expect(after.body == before.body)
        }
    }

    @Test func batchLimitIsTenThousand() async throws {
        try await Fixture.with("api-signals-limit") { f in
            let signals = (0..<10_000).map { i in Self.signal("worker\(i % 7)", "2025-01-21T10:00:00Z", i % 2 == 0 ? "failing" : "healthy", externalID: "job:\(i)") }
            let r = try await f.test { c in
                [
                    try await c.post("/api/v1/signals", token: f.admin, body: Self.batch(signals + [Self.signal("worker1", "2025-01-21T10:00:00Z", "failing")])),
                    try await c.get("/api/v1/signals", token: f.reader),
                    try await c.post("/api/v1/signals", token: f.admin, body: Self.batch(signals)),
                ]
            }
            #expect(r[0].status == 400 && r[0].errorMessage.hasPrefix("signals: 10001 signals in one request"), "\(r[0].body)")
            #expect(r[1].body == "[\n\n]\n")
            #expect(r[2].status == 200, "\(r[2].body)")
            #expect(try r[2].decode(SignalImportResult.self) == SignalImportResult(recorded: 10_000, duplicates: 0, failing: 5_000, healthy: 5_000))
        }
    }

    @Test func duplicateExternalIDsAreCountedNotStored() async throws {
        try await Fixture.with("api-signals-dup") { f in
            let job = Self.signal("worker1", "2025-01-21T10:00:00Z", "failing", reason: "setup failure", externalID: "openqa:http://openqa/tests/1")
            let r = try await f.test { c in
                [
                    try await c.post("/api/v1/signals", token: f.admin, body: Self.batch(job, job, Self.signal("worker2", "2025-01-21T10:00:00Z", "healthy"))),
                    try await c.post("/api/v1/signals", token: f.host1, body: Self.batch(job)),
                    // a signal without externalID is never a duplicate
                    try await c.post("/api/v1/signals", token: f.admin, body: Self.batch(Self.signal("worker2", "2025-01-21T10:00:00Z", "healthy"))),
                    try await c.get("/api/v1/signals", token: f.reader),
                ]
            }
            #expect(try r[0].decode(SignalImportResult.self) == SignalImportResult(recorded: 2, duplicates: 1, failing: 1, healthy: 1))
            #expect(try r[1].decode(SignalImportResult.self) == SignalImportResult(recorded: 0, duplicates: 1, failing: 0, healthy: 0))
            #expect(try r[2].decode(SignalImportResult.self) == SignalImportResult(recorded: 1, duplicates: 0, failing: 0, healthy: 1))
            let list = try #require(r[3].json as? [[String: Any]])
            #expect(list.map { $0["host"] as? String } == ["worker1", "worker2", "worker2"])
            #expect(list[0]["externalID"] as? String == "openqa:http://openqa/tests/1")
            #expect(list[0]["reason"] as? String == "setup failure")
        }
    }

    @Test func listFiltersBySinceUntilAndHostInTimeOrder() async throws {
        try await Fixture.with("api-signals-list") { f in
            // Sent out of order, with an offset, an empty reason and a source of their own.
            let body = Self.batch(
                Self.signal("worker2", "2025-01-21T12:00:00Z", "healthy"),
                Self.signal("worker1", "2025-01-21T11:00:00+01:00", "failing", reason: "isotovideo can not be started"),
                "{\"host\": \"worker1\", \"at\": \"2025-01-21T11:00:00Z\", \"status\": \"healthy\", \"reason\": \"\", \"source\": \"manual\"}",
                Self.signal("worker2", "2025-01-20T08:00:00Z", "failing", externalID: "x:1"))
            let r = try await f.test { c in
                #expect(try await c.post("/api/v1/signals", token: f.admin, body: body).status == 200)
                return [
                    "all": try await c.get("/api/v1/signals", token: f.reader),
                    "since": try await c.get("/api/v1/signals?since=2025-01-21T10:00:00Z", token: f.reader),
                    "until": try await c.get("/api/v1/signals?until=2025-01-21T11:00:00Z", token: f.reader),
                    "both": try await c.get("/api/v1/signals?since=2025-01-21&until=2025-01-21T11:30:00Z", token: f.reader),
                    "host": try await c.get("/api/v1/signals?host=worker2", token: f.admin),
                    "hostSince": try await c.get("/api/v1/signals?host=worker2&since=2025-01-21", token: f.reader),
                    "nobody": try await c.get("/api/v1/signals?host=nobody", token: f.reader),
                    "badHost": try await c.get("/api/v1/signals?host=a%40b", token: f.reader),
                    "badSince": try await c.get("/api/v1/signals?since=yesterday", token: f.reader),
                    "badUntil": try await c.get("/api/v1/signals?until=-99999999999999w", token: f.reader),
                ]
            }
            func hostsAndTimes(_ k: String) throws -> [String] {
                #expect(r[k]!.status == 200, "\(k): \(r[k]!.body)")
                return try r[k]!.decode([Signal].self).map { "\($0.host)@\($0.at.iso8601)" }
            }
            #expect(try hostsAndTimes("all") == ["worker2@2025-01-20T08:00:00Z", "worker1@2025-01-21T10:00:00Z", "worker1@2025-01-21T11:00:00Z", "worker2@2025-01-21T12:00:00Z"])
            // since and until are inclusive
            #expect(try hostsAndTimes("since") == ["worker1@2025-01-21T10:00:00Z", "worker1@2025-01-21T11:00:00Z", "worker2@2025-01-21T12:00:00Z"])
            #expect(try hostsAndTimes("until") == ["worker2@2025-01-20T08:00:00Z", "worker1@2025-01-21T10:00:00Z", "worker1@2025-01-21T11:00:00Z"])
            #expect(try hostsAndTimes("both") == ["worker1@2025-01-21T10:00:00Z", "worker1@2025-01-21T11:00:00Z"])
            #expect(try hostsAndTimes("host") == ["worker2@2025-01-20T08:00:00Z", "worker2@2025-01-21T12:00:00Z"])
            #expect(try hostsAndTimes("hostSince") == ["worker2@2025-01-21T12:00:00Z"])
            #expect(r["nobody"]!.status == 200 && r["nobody"]!.body == "[\n\n]\n")
            // Absent optionals are left out, not null; the source defaults to api; an empty reason is none.
            let all = try #require(r["all"]!.json as? [[String: Any]])
            #expect(all.map { Set($0.keys) } == [
                ["host", "at", "status", "source", "externalID"], ["host", "at", "status", "source", "reason"], ["host", "at", "status", "source"], ["host", "at", "status", "source"],
            ])
            #expect(all.map { $0["source"] as? String } == ["api", "api", "manual", "api"])
            #expect(all[1]["reason"] as? String == "isotovideo can not be started")
            for (k, prefix) in [("badHost", "host:"), ("badSince", "since:"), ("badUntil", "until:")] {
                #expect(r[k]!.status == 400 && r[k]!.errorCode == "invalid_argument", "\(k): \(r[k]!.body)")
                #expect(r[k]!.errorMessage.hasPrefix(prefix), "\(k): \(r[k]!.errorMessage)")
            }
        }
    }

    @Test func suspectsRejectBadParameters() async throws {
        try await Fixture.with("api-suspects-bad") { f in
            let r = try await f.test { c in
                [
                    "reason": try await c.get("/api/v1/suspects?reason=%28unclosed", token: f.reader),
                    "windowZero": try await c.get("/api/v1/suspects?window=0", token: f.reader),
                    "windowWord": try await c.get("/api/v1/suspects?window=two%20days", token: f.reader),
                    "windowHuge": try await c.get("/api/v1/suspects?window=3651d", token: f.reader),
                    "windowOverflow": try await c.get("/api/v1/suspects?window=99999999999999999999w", token: f.reader),
                    "at": try await c.get("/api/v1/suspects?at=yesterday", token: f.reader),
                    "windowLongest": try await c.get("/api/v1/suspects?window=3650d&at=0001-01-01T00:00:00Z", token: f.reader),
                ]
            }
            for (k, prefix) in [("reason", "reason:"), ("windowZero", "window:"), ("windowWord", "window:"), ("windowHuge", "window:"), ("windowOverflow", "window:"), ("at", "at:")] {
                #expect(r[k]!.status == 400 && r[k]!.errorCode == "invalid_argument", "\(k): \(r[k]!.body)")
                #expect(r[k]!.errorMessage.hasPrefix(prefix), "\(k): \(r[k]!.errorMessage)")
            }
            #expect(r["reason"]!.errorMessage.contains("'(unclosed' is not a regular expression"))
            #expect(r["windowHuge"]!.errorMessage.contains("longer than 3650 days"))
            #expect(r["windowLongest"]!.status == 200, "\(r["windowLongest"]!.body)")
        }
    }

    /// worker1 takes perl-Mojo-IOLoop-ReadWriteProcess 0.35 at 09:00 and fails at 10:00;
    /// worker2 keeps 0.34 and is healthy. The update is the one suspect, and it explains everything.
    @Test func suspectsNameTheChangeBeforeTheFailure() async throws {
        try await Fixture.with("api-suspects") { f in
            let observations = [
                Fleet.observation("worker1", "2025-01-21T06:00:00Z", Fleet.base),
                Fleet.observation("worker1", "2025-01-21T09:00:00Z", Fleet.upgraded),
                Fleet.observation("worker2", "2025-01-21T06:00:00Z", Fleet.base),
                Fleet.observation("worker2", "2025-01-21T09:00:00Z", Fleet.base),
            ]
            let signals = Self.batch(
                Self.signal("worker1", "2025-01-21T10:00:00Z", "failing", reason: "setup failure: isotovideo can not be started", externalID: "openqa:1"),
                Self.signal("worker1", "2025-01-21T10:30:00Z", "failing", reason: "setup failure: isotovideo can not be started", externalID: "openqa:2"),
                Self.signal("worker2", "2025-01-21T10:15:00Z", "healthy", externalID: "openqa:3"))
            let r = try await f.test { c in
                for o in observations {
                    let p = try await c.post("/api/v1/observations", token: f.admin, body: Fleet.payload(o, full: true))
                    #expect(p.status == 201, "\(p.body)")
                }
                #expect(try await c.post("/api/v1/signals", token: f.admin, body: signals).status == 200)
                return [
                    "report": try await c.get("/api/v1/suspects?reason=isotovideo&window=24h&at=2025-01-21T12:00:00Z&test=zypper%20-n%20verify", token: f.reader),
                    "otherReason": try await c.get("/api/v1/suspects?reason=%5Etimeout&at=2025-01-21T12:00:00Z", token: f.reader),
                    "before": try await c.get("/api/v1/suspects?at=2025-01-21T09:59:59Z", token: f.admin),
                    "doc": try await c.get("/openapi.json"),
                ]
            }
            let doc = try #require(r["doc"]!.json as? [String: Any])
            for k in ["report", "otherReason", "before"] {
                #expect(r[k]!.status == 200, "\(k): \(r[k]!.body)")
                #expect(OpenAPISchema.problems(r[k]!, path: "/api/v1/suspects", method: "get", doc: doc) == [], "\(k)")
            }
            let report = try r["report"]!.decode(SuspectReport.self)
            func at(_ s: String) -> Timestamp { Timestamp.parseISO8601(s)! }
            #expect(report.window == 86_400)
            #expect(report.failing.map(\.host) == ["worker1"])
            #expect(report.failing.first?.at == at("2025-01-21T10:00:00Z"))
            #expect(report.failing.first?.reason == "setup failure: isotovideo can not be started")
            #expect(report.healthyHosts == ["worker2"])
            #expect(report.failingSignals == 2 && report.healthySignals == 1)
            #expect(report.tie == [] && report.bisect == nil)
            #expect(report.suspects.count == 1)
            let s = try #require(report.suspects.first)
            #expect(s.rank == 1)
            #expect(s.source == "perl-Mojo-IOLoop-ReadWriteProcess")
            #expect(s.score == 1)
            #expect(s.changes == ["perl-Mojo-IOLoop-ReadWriteProcess 0.34-1.1 → 0.35-1.1"])
            #expect(s.fits.count == 1)
            #expect(s.fits.first?.host == "worker1")
            #expect(s.fits.first?.changedAt == at("2025-01-21T09:00:00Z"))
            #expect(s.fits.first?.firstFailure == at("2025-01-21T10:00:00Z"))
            #expect(s.fits.first?.lag == 3600)
            #expect(s.fits.first?.change == "perl-Mojo-IOLoop-ReadWriteProcess 0.34-1.1 → 0.35-1.1")
            #expect(s.missing == [] && s.contradictions == [] && s.tiedWith == [])
            #expect(s.healthyWithout == 1)
            #expect(s.medianLag == 3600)
            #expect(report.verdict.hasPrefix("perl-Mojo-IOLoop-ReadWriteProcess explains every signal"), "\(report.verdict)")
            // nil optionals are left out (no "bisect": null)
            let raw = try #require(r["report"]!.json as? [String: Any])
            #expect(Set(raw.keys) == ["window", "failing", "healthyHosts", "failingSignals", "healthySignals", "suspects", "tie", "verdict"])

            // Failures whose reason does not match, or that come after `at`, explain nothing.
            for k in ["otherReason", "before"] {
                let other = try r[k]!.decode(SuspectReport.self)
                #expect(other.failing == [] && other.suspects == [] && other.failingSignals == 0, "\(k)")
                #expect(other.verdict.hasPrefix("no failing signals"), "\(k): \(other.verdict)")
            }
        }
    }

    /// The checker above finds what it is meant to find (else its empty lists prove nothing).
    @Test func schemaCheckerFindsMismatches() async throws {
        try await Fixture.with("api-schema-check") { f in
            let doc = try #require(try await f.test { c in try await c.get("/openapi.json") }.json as? [String: Any])
            func problems(_ status: Int, _ body: String) -> [String] {
                OpenAPISchema.problems(Reply(status: status, body: body), path: "/api/v1/signals", method: "post", doc: doc)
            }
            #expect(problems(200, #"{"recorded": 1, "duplicates": 0, "failing": 1, "healthy": 0}"#) == [])
            #expect(problems(200, #"{"recorded": 1, "duplicates": 0, "failing": 1}"#) == ["$.healthy: required, missing"])
            #expect(problems(200, #"{"recorded": 1, "duplicates": 0, "failing": 1, "healthy": 0, "extra": 2}"#) == ["$.extra: not documented"])
            #expect(problems(200, #"{"recorded": "1", "duplicates": 0.5, "failing": null, "healthy": 0}"#)
                == ["$.duplicates: expected an integer", "$.failing: null, but not nullable", "$.recorded: expected an integer"])
            #expect(problems(500, "{}") == ["post /api/v1/signals: status 500 is not documented"])
            let list = { (body: String) in OpenAPISchema.problems(Reply(status: 200, body: body), path: "/api/v1/signals", method: "get", doc: doc) }
            #expect(list(#"[{"host": "w", "at": "2025-01-21T10:00:00Z", "status": "failing", "source": "api"}]"#) == [])
            #expect(list(#"[{"host": "w", "at": "2025-01-21T10:00:00Z", "status": "broken", "source": "api"}]"#).count == 1)
            #expect(list(#"{"host": "w"}"#) == ["$: expected an array"])
        }
    }
}

/// A small checker of an answer against the served OpenAPI document: every required property
/// present, none undocumented, JSON types, enums and nullability as declared.
enum OpenAPISchema {
    static func problems(_ reply: Reply, path: String, method: String, doc: [String: Any]) -> [String] {
        let operation = ((doc["paths"] as? [String: Any])?[path] as? [String: Any])?[method] as? [String: Any]
        guard var response = (operation?["responses"] as? [String: Any])?[String(reply.status)] as? [String: Any] else {
            return ["\(method) \(path): status \(reply.status) is not documented"]
        }
        if let ref = response["$ref"] as? String { response = resolve(ref, doc) }
        guard let schema = (((response["content"] as? [String: Any])?["application/json"] as? [String: Any])?["schema"]) as? [String: Any] else {
            return ["\(method) \(path) \(reply.status): no application/json schema"]
        }
        guard let value = reply.json else { return ["\(method) \(path) \(reply.status): not JSON: \(reply.body)"] }
        return check(value, schema, doc, at: "$")
    }

    static func resolve(_ ref: String, _ doc: [String: Any]) -> [String: Any] {
        var node: Any = doc
        for part in ref.dropFirst(2).split(separator: "/") { node = (node as? [String: Any])?[String(part)] as Any }
        return node as? [String: Any] ?? [:]
    }

    static func check(_ value: Any, _ schema: [String: Any], _ doc: [String: Any], at path: String) -> [String] {
        var schema = schema
        if let ref = schema["$ref"] as? String { schema = resolve(ref, doc) }
        if let all = schema["allOf"] as? [[String: Any]] { return all.flatMap { check(value, $0, doc, at: path) } }
        if value is NSNull { return schema["nullable"] as? Bool == true ? [] : ["\(path): null, but not nullable"] }
        if let values = schema["enum"] as? [String], !values.contains(value as? String ?? "") { return ["\(path): \(value) is not one of \(values)"] }
        switch schema["type"] as? String {
        case "object":
            guard let object = value as? [String: Any] else { return ["\(path): expected an object"] }
            let properties = schema["properties"] as? [String: Any] ?? [:]
            var out = (schema["required"] as? [String] ?? []).filter { object[$0] == nil }.map { "\(path).\($0): required, missing" }
            for (key, v) in object.sorted(by: { $0.key < $1.key }) {
                guard let p = properties[key] as? [String: Any] else {
                    out.append("\(path).\(key): not documented")
                    continue
                }
                out += check(v, p, doc, at: "\(path).\(key)")
            }
            return out
        case "array":
            guard let array = value as? [Any] else { return ["\(path): expected an array"] }
            let items = schema["items"] as? [String: Any] ?? [:]
            return array.enumerated().flatMap { check($1, items, doc, at: "\(path)[\($0)]") }
        case "string":
            return value is String ? [] : ["\(path): expected a string"]
        case "integer":
            guard let n = value as? NSNumber, !(value is String), Double(truncating: n) == Double(Int64(truncating: n)) else { return ["\(path): expected an integer"] }
            return []
        case "number":
            return value is NSNumber && !(value is String) ? [] : ["\(path): expected a number"]
        default:
            return []
        }
    }
}
