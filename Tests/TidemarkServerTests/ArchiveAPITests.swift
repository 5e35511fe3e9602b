import Foundation
import Hummingbird
import Testing
import TidemarkCore
import TidemarkHosts
import TidemarkServer
import TidemarkStore
import TidemarkTestSupport

/// The archive, its repositories and jobs through the API in process, with real RPMs built by
/// rpmbuild and a real createrepo_c repository: uploads verified before they are kept, repositories
/// served to every token that installs, rollback jobs planned against the archive.
@Suite struct ArchiveAPITests {
    /// Real RPMs: alpha 1.0 and 2.0, beta 1.0 (needs alpha), in a fresh directory.
    struct Packages {
        let dir: TemporaryDirectory
        let alpha1: String, alpha2: String, beta1: String

        init(_ label: String) throws {
            dir = try TemporaryDirectory(label)
            let b = try RPMBuilder(directory: try dir.makeDirectory("build"))
            alpha1 = try b.build(RPMSpec(name: "alpha", version: "1.0", files: [PackageFile("/usr/share/alpha/version", contents: "1.0\n")], buildTime: 1_736_000_000))[0]
            alpha2 = try b.build(RPMSpec(name: "alpha", version: "2.0", files: [PackageFile("/usr/share/alpha/version", contents: "2.0\n")], buildTime: 1_736_100_000))[0]
            beta1 = try b.build(RPMSpec(name: "beta", version: "1.0", requires: ["alpha"], files: [PackageFile("/usr/share/beta/readme", contents: "beta\n")], buildTime: 1_736_000_000))[0]
        }

        func bytes(_ path: String) throws -> [UInt8] { try FileSystem.read(path) }
        /// The package as the host collector records it once installed (`rpm -qp`).
        func package(_ path: String) throws -> Package { try RPMRoot.packages(inFiles: [path])[0] }
    }

    static func basic(_ token: String, user: String = "tidemark") -> String {
        "Basic " + Data("\(user):\(token)".utf8).base64EncodedString()
    }

    @Test func uploadsAreVerifiedAndRefusedOnesKeepNothing() async throws {
        let p = try Packages("api-upload")
        defer { p.dir.remove() }
        try await Fixture.with("api-upload", configure: { $0.maxUpload = 256 << 10 }) { f in
            let good = try p.bytes(p.alpha1)
            // One byte changed in the payload, in the main header: rpm's own digests catch both.
            // (Not in the middle: that is the signature's reserved space, which no digest covers.)
            func flip(_ bytes: [UInt8], _ offset: Int) -> [UInt8] { bytes.enumerated().map { $0.offset == offset ? $0.element ^ 0x5a : $0.element } }
            let corrupt = flip(good, good.count - 50)
            let corruptHeader = flip(good, good.count - 500)
            let otherCorrupt = flip(try p.bytes(p.alpha2), good.count - 60)
            let truncated = Array(good.prefix(good.count - 100))
            let headerOnly = Array(good.prefix(300))
            let r = try await f.test { c in
                [
                    "added": try await c.send(.post, "/api/v1/archive/files", token: f.admin, bytes: good),
                    "again": try await c.send(.post, "/api/v1/archive/files", token: f.host1, bytes: good),
                    "byHost": try await c.send(.post, "/api/v1/archive/files", token: f.host1, bytes: try p.bytes(p.beta1)),
                    "corrupt": try await c.send(.post, "/api/v1/archive/files", token: f.admin, bytes: otherCorrupt),
                    "corruptSame": try await c.send(.post, "/api/v1/archive/files", token: f.admin, bytes: corrupt),
                    "corruptHeader": try await c.send(.post, "/api/v1/archive/files", token: f.admin, bytes: corruptHeader),
                    "truncated": try await c.send(.post, "/api/v1/archive/files", token: f.admin, bytes: try p.bytes(p.alpha2).dropLast(100).map { $0 }),
                    "truncatedSame": try await c.send(.post, "/api/v1/archive/files", token: f.admin, bytes: truncated),
                    "headerOnly": try await c.send(.post, "/api/v1/archive/files", token: f.admin, bytes: headerOnly),
                    "notRPM": try await c.send(.post, "/api/v1/archive/files", token: f.admin, bytes: Array("bash-5.2-1.1.x86_64\n".utf8)),
                    "empty": try await c.send(.post, "/api/v1/archive/files", token: f.admin, bytes: []),
                    "tooLarge": try await c.send(.post, "/api/v1/archive/files", token: f.admin, bytes: [UInt8](repeating: 0xed, count: 300 << 10)),
                    "reader": try await c.send(.post, "/api/v1/archive/files", token: f.reader, bytes: try p.bytes(p.alpha2)),
                    "list": try await c.get("/api/v1/archive/files", token: f.host1),
                ]
            }
            #expect(r["added"]!.status == 201, "\(r["added"]!.body)")
            let added = try r["added"]!.decode(UploadAnswer.self)
            #expect(added.outcome == "added")
            #expect(added.file.sha256 == SHA256.hex(good))
            #expect(added.file.fileName == "alpha-1.0-1.noarch.rpm" && added.file.origin == "upload:admin" && added.file.size == Int64(good.count))
            #expect(added.file.package == (try p.package(p.alpha1)))
            #expect(r["again"]!.status == 200)
            #expect((try r["again"]!.decode(UploadAnswer.self)).outcome == "already-archived")
            #expect(try r["byHost"]!.status == 201 && r["byHost"]!.decode(UploadAnswer.self).file.origin == "upload:worker1")
            for k in ["corrupt", "corruptSame", "corruptHeader", "truncated", "truncatedSame", "headerOnly", "notRPM", "empty"] {
                #expect(r[k]!.status == 422, "\(k): \(r[k]!.status) \(r[k]!.body)")
                #expect(r[k]!.errorCode == "corrupt" || r[k]!.errorCode == "invalid_input", "\(k): \(r[k]!.body)")
                #expect(r[k]!.errorMessage.hasPrefix("body"), "\(k): \(r[k]!.errorMessage)")
            }
            #expect(r["truncated"]!.errorMessage.contains("truncated"), "\(r["truncated"]!.errorMessage)")
            #expect(r["corruptSame"]!.errorMessage.contains("mismatch"), "\(r["corruptSame"]!.errorMessage)")
            #expect(r["notRPM"]!.errorMessage.contains("not an rpm"), "\(r["notRPM"]!.errorMessage)")
            #expect(r["tooLarge"]!.status == 413 && r["tooLarge"]!.errorMessage.contains("--max-upload"), "\(r["tooLarge"]!.body)")
            #expect(r["reader"]!.status == 403)
            // Nothing of the refused uploads was kept: two files, both good.
            let list = try r["list"]!.decode([ArchivedFile].self)
            #expect(list.map(\.fileName).sorted() == ["alpha-1.0-1.noarch.rpm", "beta-1.0-1.noarch.rpm"])
            let onDisk = try FileManager.default.subpathsOfDirectory(atPath: f.server.archive.directory + "/packages").filter { $0.hasSuffix(".rpm") }
            #expect(onDisk.count == 2, "\(onDisk)")
        }
    }

    @Test func repositoriesServeEveryInstallingTokenAndStreamFiles() async throws {
        let p = try Packages("api-repos")
        defer { p.dir.remove() }
        try await Fixture.with("api-repos") { f in
            let alpha1 = try p.bytes(p.alpha1), beta1 = try p.bytes(p.beta1)
            let sha = SHA256.hex(alpha1)
            let o = Fleet.observation("worker1", "2025-01-21T10:00:00Z", [try p.package(p.alpha1), try p.package(p.beta1)])
            let incomplete = Fleet.observation("worker2", "2025-01-21T10:00:00Z", [try p.package(p.alpha2), try p.package(p.beta1)])
            let r = try await f.test { c in
                for b in [alpha1, beta1] { #expect(try await c.send(.post, "/api/v1/archive/files", token: f.admin, bytes: b).status == 201) }
                for x in [o, incomplete] { #expect(try await c.post("/api/v1/observations", token: f.admin, body: Fleet.payload(x, full: true)).status == 201) }
                let state = "/api/v1/repos/state/\(o.state.id.hex)/"
                let allRepomd = try await c.fetch("/api/v1/repos/all/repodata/repomd.xml", authorization: Self.basic(f.reader))
                let stateRepomd = try await c.fetch(state + "repodata/repomd.xml", authorization: Self.basic(f.host1, user: "anyone"))
                let primaryHref = Self.primaryHref(stateRepomd.body)
                return [
                    "allRepomd": allRepomd,
                    "allRepomdBearer": try await c.fetch("/api/v1/repos/all/repodata/repomd.xml", authorization: "Bearer \(f.admin)"),
                    "allRepomdHead": try await c.fetch("/api/v1/repos/all/repodata/repomd.xml", method: .head, authorization: Self.basic(f.reader)),
                    "stateRepomd": stateRepomd,
                    "statePrefix": try await c.fetch("/api/v1/repos/state/\(o.state.id.hex.prefix(10))/repodata/repomd.xml", authorization: Self.basic(f.reader)),
                    "statePrimary": try await c.fetch(state + (primaryHref ?? "repodata/none"), authorization: Self.basic(f.reader)),
                    "package": try await c.fetch(state + "Packages/\(sha)/alpha-1.0-1.noarch.rpm", authorization: Self.basic(f.host1)),
                    "packageHead": try await c.fetch("/api/v1/repos/all/Packages/\(sha)/alpha-1.0-1.noarch.rpm", method: .head, authorization: Self.basic(f.host1)),
                    "packageAll": try await c.fetch("/api/v1/repos/all/Packages/\(sha)/alpha-1.0-1.noarch.rpm", authorization: Self.basic(f.reader)),
                    "wrongName": try await c.fetch("/api/v1/repos/all/Packages/\(sha)/alpha-2.0-1.noarch.rpm", authorization: Self.basic(f.reader)),
                    "unknownSHA": try await c.fetch("/api/v1/repos/all/Packages/\(String(repeating: "0", count: 64))/alpha-1.0-1.noarch.rpm", authorization: Self.basic(f.reader)),
                    "badSHA": try await c.fetch("/api/v1/repos/all/Packages/..%2F..%2Fetc/passwd", authorization: Self.basic(f.reader)),
                    "notInState": try await c.fetch("/api/v1/repos/state/\(incomplete.state.id.hex)/Packages/\(sha)/alpha-1.0-1.noarch.rpm", authorization: Self.basic(f.reader)),
                    "incomplete": try await c.fetch("/api/v1/repos/state/\(incomplete.state.id.hex)/repodata/repomd.xml", authorization: Self.basic(f.reader)),
                    "unknownState": try await c.fetch("/api/v1/repos/state/ffffffff/repodata/repomd.xml", authorization: Self.basic(f.reader)),
                    "badState": try await c.fetch("/api/v1/repos/state/xyz/repodata/repomd.xml", authorization: Self.basic(f.reader)),
                    "noFile": try await c.fetch(state + "repodata/other.xml", authorization: Self.basic(f.reader)),
                    "noAuth": try await c.fetch("/api/v1/repos/all/repodata/repomd.xml", authorization: nil),
                    "wrongToken": try await c.fetch("/api/v1/repos/all/repodata/repomd.xml", authorization: Self.basic("tmk_wrong")),
                    "revoked": try await c.fetch("/api/v1/repos/all/repodata/repomd.xml", authorization: Self.basic(f.revoked)),
                    "noPassword": try await c.fetch("/api/v1/repos/all/repodata/repomd.xml", authorization: "Basic " + Data("tidemark:".utf8).base64EncodedString()),
                    "notBase64": try await c.fetch("/api/v1/repos/all/repodata/repomd.xml", authorization: "Basic !!!"),
                    "basicOnQueries": try await c.fetch("/api/v1/hosts", authorization: Self.basic(f.reader)),
                    "hostCannotQuery": try await c.fetch("/api/v1/hosts", authorization: Self.basic(f.host1)),
                    "one": try await c.get("/api/v1/archive/files/\(sha)", token: f.reader),
                    "oneUnknown": try await c.get("/api/v1/archive/files/\(String(repeating: "a", count: 64))", token: f.reader),
                    "oneBad": try await c.get("/api/v1/archive/files/ABC", token: f.reader),
                    "missing": try await c.post("/api/v1/archive/missing", token: f.host1, body: "{\"sha256\": [\"\(String(repeating: "b", count: 64))\", \"\(sha)\", \"\(String(repeating: "b", count: 64))\"]}"),
                    "missingBad": try await c.post("/api/v1/archive/missing", token: f.host1, body: "{\"sha256\": [\"\(sha)\", \"nothex\"]}"),
                    "missingTooMany": try await c.post("/api/v1/archive/missing", token: f.host1, body: "{\"sha256\": [" + Array(repeating: "\"\(sha)\"", count: 100_001).joined(separator: ",") + "]}"),
                ]
            }
            #expect(r["allRepomd"]!.status == 200 && r["allRepomd"]!.headers[.contentType] == "text/xml")
            #expect(r["allRepomd"]!.body.contains("<repomd") && r["allRepomdBearer"]!.body == r["allRepomd"]!.body)
            #expect(r["allRepomdHead"]!.status == 200 && r["allRepomdHead"]!.bytes.isEmpty)
            #expect(r["allRepomdHead"]!.headers[.contentLength] == String(r["allRepomd"]!.bytes.count))
            #expect(r["stateRepomd"]!.status == 200, "\(r["stateRepomd"]!.body)")
            #expect(r["statePrefix"]!.body == r["stateRepomd"]!.body)
            #expect(r["statePrimary"]!.status == 200 && r["statePrimary"]!.headers[.contentType] == "application/gzip")
            let primary = try Self.gunzip(r["statePrimary"]!.bytes, in: p.dir)
            #expect(primary.components(separatedBy: "<package type=\"rpm\">").count - 1 == 2, "\(primary.prefix(400))")
            #expect(primary.contains("Packages/\(sha)/alpha-1.0-1.noarch.rpm"))
            #expect(r["package"]!.status == 200 && r["package"]!.headers[.contentType] == "application/x-rpm")
            #expect(r["package"]!.bytes == alpha1 && r["packageAll"]!.bytes == alpha1)
            #expect(r["packageHead"]!.status == 200 && r["packageHead"]!.bytes.isEmpty && r["packageHead"]!.headers[.contentLength] == String(alpha1.count))
            for k in ["wrongName", "unknownSHA", "notInState", "unknownState", "noFile", "oneUnknown"] {
                #expect(r[k]!.status == 404 && r[k]!.errorCode == "not_found", "\(k): \(r[k]!.status) \(r[k]!.body)")
            }
            #expect(r["badSHA"]!.status == 400 || r["badSHA"]!.status == 404, "\(r["badSHA"]!.body)")
            #expect(!r["badSHA"]!.body.contains("root:"))
            #expect(r["incomplete"]!.status == 404 && r["incomplete"]!.errorMessage.contains("alpha-2.0-1.noarch") && r["incomplete"]!.errorMessage.contains("not in the archive"), "\(r["incomplete"]!.body)")
            #expect(!r["incomplete"]!.errorMessage.contains("beta"))
            #expect(r["badState"]!.status == 400 && r["oneBad"]!.status == 400)
            for k in ["noAuth", "wrongToken", "revoked", "noPassword", "notBase64"] {
                #expect(r[k]!.status == 401 && r[k]!.errorCode == "unauthorized", "\(k): \(r[k]!.body)")
                #expect(r[k]!.headers[values: .wwwAuthenticate].contains { $0.hasPrefix("Basic ") }, "\(k): \(r[k]!.headers)")
            }
            #expect(r["wrongToken"]!.errorMessage.contains("unknown token") && r["notBase64"]!.errorMessage.contains("malformed"))
            #expect(r["basicOnQueries"]!.status == 200 && r["hostCannotQuery"]!.status == 403)
            #expect(try r["one"]!.status == 200 && r["one"]!.decode(ArchivedFile.self).sha256 == sha)
            #expect(r["missing"]!.status == 200)
            #expect((r["missing"]!.json as? [String: [String]])?["missing"] == [String(repeating: "b", count: 64)])
            #expect(r["missingBad"]!.status == 400 && r["missingBad"]!.errorMessage.hasPrefix("sha256[1]"))
            #expect(r["missingTooMany"]!.status == 400 && r["missingTooMany"]!.errorMessage.contains("100000"))
        }
    }

    @Test func rollbackJobsArePlannedClaimedOnceAndFinished() async throws {
        let p = try Packages("api-jobs")
        defer { p.dir.remove() }
        try await Fixture.with("api-jobs") { f in
            let worker2 = try await SQLTokenStore(backend: f.store.backend).createToken(role: .host, host: "worker2", note: nil, now: Timestamp(seconds: 1_737_450_000)).token
            let alpha1 = try p.package(p.alpha1), alpha2 = try p.package(p.alpha2), beta = try p.package(p.beta1)
            let before = Fleet.observation("worker1", "2025-01-20T10:00:00Z", [alpha1, beta])
            let now = Fleet.observation("worker1", "2025-01-21T10:00:00Z", [alpha2, beta])
            let other = Fleet.observation("worker3", "2025-01-21T10:00:00Z", [alpha1, beta, Fleet.package("bash", "5.2")])
            let r = try await f.test { c in
                for path in [p.alpha1, p.alpha2, p.beta1] { #expect(try await c.send(.post, "/api/v1/archive/files", token: f.admin, bytes: try p.bytes(path)).status == 201) }
                for o in [before, now, other] { #expect(try await c.post("/api/v1/observations", token: f.admin, body: Fleet.payload(o, full: true)).status == 201) }
                let create = try await c.post("/api/v1/hosts/worker1/jobs", token: f.admin, body: "{\"kind\": \"rollback\", \"to\": \"worker1@2025-01-20T12:00:00Z\", \"dryRun\": false}")
                let id = ((create.json as? [String: Any])?["job"] as? [String: Any])?["id"] as? Int ?? -1
                var out: [String: Reply] = ["create": create]
                out["second"] = try await c.post("/api/v1/hosts/worker1/jobs", token: f.admin, body: "{\"kind\": \"rollback\", \"to\": \"worker1@2025-01-20T12:00:00Z\"}")
                out["pendingHost"] = try await c.get("/api/v1/hosts/worker1/jobs?status=pending", token: f.host1)
                out["pendingReader"] = try await c.get("/api/v1/hosts/worker1/jobs?status=pending,running", token: f.reader)
                out["pendingOther"] = try await c.get("/api/v1/hosts/worker1/jobs?status=pending", token: worker2)
                out["badStatus"] = try await c.get("/api/v1/hosts/worker1/jobs?status=done", token: f.reader)
                out["getHost"] = try await c.get("/api/v1/jobs/\(id)", token: f.host1)
                out["getOther"] = try await c.get("/api/v1/jobs/\(id)", token: worker2)
                out["target"] = try await c.get("/api/v1/jobs/\(id)/target", token: f.host1)
                out["targetOther"] = try await c.get("/api/v1/jobs/\(id)/target", token: worker2)
                out["claimOther"] = try await c.post("/api/v1/jobs/\(id)/claim", token: worker2, body: "{}")
                out["claimReader"] = try await c.post("/api/v1/jobs/\(id)/claim", token: f.reader, body: "{}")
                out["claim"] = try await c.post("/api/v1/jobs/\(id)/claim", token: f.host1, body: "{}")
                out["claimAgain"] = try await c.post("/api/v1/jobs/\(id)/claim", token: f.host1, body: "{}")
                out["badResult"] = try await c.post("/api/v1/jobs/\(id)/result", token: f.host1, body: "{\"succeeded\": true, \"resultState\": \"nope\"}")
                out["result"] = try await c.post("/api/v1/jobs/\(id)/result", token: f.host1, body: "{\"succeeded\": true, \"resultState\": \"\(before.state.id.hex)\", \"message\": \"worker1 is in state \(before.state.id.short)\", \"output\": \"(1/1) Installing: alpha-1.0-1.noarch [done]\"}")
                out["resultAgain"] = try await c.post("/api/v1/jobs/\(id)/result", token: f.admin, body: "{\"succeeded\": false}")
                out["pendingAfter"] = try await c.get("/api/v1/hosts/worker1/jobs?status=pending", token: f.host1)
                out["all"] = try await c.get("/api/v1/hosts/worker1/jobs", token: f.admin)
                out["missing"] = try await c.post("/api/v1/hosts/worker1/jobs", token: f.admin, body: "{\"kind\": \"rollback\", \"to\": \"worker3\"}")
                out["unknownHost"] = try await c.post("/api/v1/hosts/nobody/jobs", token: f.admin, body: "{\"kind\": \"rollback\", \"to\": \"worker1\"}")
                out["unknownRef"] = try await c.post("/api/v1/hosts/worker1/jobs", token: f.admin, body: "{\"kind\": \"rollback\", \"to\": \"state:ffffffff\"}")
                out["badKind"] = try await c.post("/api/v1/hosts/worker1/jobs", token: f.admin, body: "{\"kind\": \"reboot\", \"to\": \"worker1\"}")
                out["fileRef"] = try await c.post("/api/v1/hosts/worker1/jobs", token: f.admin, body: "{\"kind\": \"rollback\", \"to\": \"file:/etc/passwd\"}")
                out["byReader"] = try await c.post("/api/v1/hosts/worker1/jobs", token: f.reader, body: "{\"kind\": \"rollback\", \"to\": \"worker1\"}")
                out["dryRun"] = try await c.post("/api/v1/hosts/worker1/jobs", token: f.admin, body: "{\"kind\": \"rollback\", \"to\": \"state:\(before.state.id.hex.prefix(12))\", \"dryRun\": true}")
                out["unknownJob"] = try await c.get("/api/v1/jobs/99999", token: f.reader)
                out["badJob"] = try await c.get("/api/v1/jobs/abc", token: f.reader)
                return out
            }
            #expect(r["create"]!.status == 201, "\(r["create"]!.body)")
            let created = try r["create"]!.decode(Created.self)
            #expect(created.job.host == "worker1" && created.job.kind == .rollback && created.job.status == .pending && !created.job.dryRun)
            #expect(created.job.target == before.state.id)
            #expect(created.plan.steps.map(\.action) == [.downgrade])
            #expect(created.plan.steps.first?.from == alpha2 && created.plan.steps.first?.to == alpha1)
            #expect(try r["pendingHost"]!.decode([HostJob].self).map(\.id) == [created.job.id])
            #expect(try r["pendingReader"]!.decode([HostJob].self).map(\.id) == [created.job.id])
            #expect(r["pendingOther"]!.status == 403 && r["getOther"]!.status == 403 && r["claimOther"]!.status == 403 && r["claimReader"]!.status == 403)
            #expect(r["badStatus"]!.status == 400 && r["badStatus"]!.errorMessage.hasPrefix("status"))
            #expect(try r["getHost"]!.status == 200 && r["getHost"]!.decode(HostJob.self) == created.job)
            #expect(r["target"]!.status == 200 && r["targetOther"]!.status == 403)
            let target = try r["target"]!.decode(ShowResult.self)
            #expect(target.state.state == before.state.id && Set(target.packages.map { $0.package(format: .rpm) }) == Set([alpha1, beta]))
            let getKeys = Set(((r["getHost"]!.json as? [String: Any]) ?? [:]).keys)
            #expect(getKeys == ["id", "host", "kind", "target", "dryRun", "status", "createdAt", "startedAt", "finishedAt", "resultState", "message", "output", "rollout", "step", "command", "timeout"])
            #expect(try r["claim"]!.status == 200 && r["claim"]!.decode(HostJob.self).status == .running)
            #expect(r["claimAgain"]!.status == 409 && r["claimAgain"]!.errorCode == "conflict" && r["claimAgain"]!.errorMessage.contains("running"), "\(r["claimAgain"]!.body)")
            #expect(r["badResult"]!.status == 400)
            #expect(r["result"]!.status == 200, "\(r["result"]!.body)")
            let finished = try r["result"]!.decode(HostJob.self)
            #expect(finished.status == .succeeded && finished.resultState == before.state.id && finished.output?.contains("Installing") == true && finished.finishedAt != nil)
            #expect(r["resultAgain"]!.status == 409)
            #expect(r["second"]!.status == 409 && r["second"]!.errorMessage.contains("already has job"), "one job at a time per host: \(r["second"]!.body)")
            #expect(try r["pendingAfter"]!.decode([HostJob].self).isEmpty)
            #expect(try r["all"]!.decode([HostJob].self).map(\.status) == [.succeeded])
            #expect(r["missing"]!.status == 404 && r["missing"]!.errorMessage.contains("bash-5.2-1.1.x86_64") && r["missing"]!.errorMessage.contains("not in the archive"), "\(r["missing"]!.body)")
            #expect(!r["missing"]!.errorMessage.contains("alpha"))
            #expect(r["unknownHost"]!.status == 400 && r["unknownHost"]!.errorMessage.contains("nobody"))
            #expect(r["unknownRef"]!.status == 404)
            #expect(r["badKind"]!.status == 400 && r["badKind"]!.errorMessage.hasPrefix("kind"))
            #expect(r["fileRef"]!.status == 400 && r["byReader"]!.status == 403)
            #expect(try r["dryRun"]!.status == 201 && r["dryRun"]!.decode(Created.self).job.dryRun)
            #expect(r["unknownJob"]!.status == 404 && r["badJob"]!.status == 400)
            // Refused jobs were not created.
            let jobs = try await SQLJobStore(backend: f.store.backend).jobs(host: "worker1", statuses: nil)
            #expect(jobs.count == 2)
        }
    }

    @Test func mirrorArchivesACreaterepoRepository() async throws {
        let p = try Packages("api-mirror")
        defer { p.dir.remove() }
        let repo = try RPMRepository(path: try p.dir.makeDirectory("repo"), rpms: [p.alpha1, p.alpha2, p.beta1])
        try FileSystem.write("this is not repomd.xml", to: p.dir.path("bad/repodata/repomd.xml"))
        try await Fixture.with("api-mirror") { f in
            let body = "{\"repository\": \"\(repo.url)\"}"
            let r = try await f.test { c in
                [
                    "first": try await c.post("/api/v1/archive/mirror", token: f.admin, body: body),
                    "second": try await c.post("/api/v1/archive/mirror", token: f.admin, body: body),
                    "reader": try await c.post("/api/v1/archive/mirror", token: f.reader, body: body),
                    "host": try await c.post("/api/v1/archive/mirror", token: f.host1, body: body),
                    "relative": try await c.post("/api/v1/archive/mirror", token: f.admin, body: "{\"repository\": \"repo/oss\"}"),
                    "variables": try await c.post("/api/v1/archive/mirror", token: f.admin, body: "{\"repository\": \"http://download.opensuse.org/$releasever/repo/oss\"}"),
                    "nothing": try await c.post("/api/v1/archive/mirror", token: f.admin, body: "{\"repository\": \"\(p.dir.path("nothing"))\"}"),
                    "notRepo": try await c.post("/api/v1/archive/mirror", token: f.admin, body: "{\"repository\": \"dir://\(p.dir.path("bad"))\"}"),
                    "list": try await c.get("/api/v1/archive/files", token: f.reader),
                    "metrics": try await c.get("/metrics"),
                ]
            }
            #expect(r["first"]!.status == 200, "\(r["first"]!.body)")
            let first = try r["first"]!.decode(Report.self)
            #expect(first.offered == 3 && first.added.count == 3 && first.alreadyArchived == 0 && first.failed.isEmpty)
            #expect(first.added.allSatisfy { $0.origin == "mirror:" + repo.url })
            let second = try r["second"]!.decode(Report.self)
            #expect(second.added.isEmpty && second.alreadyArchived == 3)
            #expect(r["reader"]!.status == 403 && r["host"]!.status == 403)
            #expect(r["relative"]!.status == 400 && r["variables"]!.status == 400 && r["variables"]!.errorMessage.contains("$releasever"))
            #expect(r["nothing"]!.status == 422 && r["notRepo"]!.status == 422, "\(r["nothing"]!.body) \(r["notRepo"]!.body)")
            let files = try r["list"]!.decode([ArchivedFile].self)
            #expect(Set(files.map(\.sha256)) == Set(try [p.alpha1, p.alpha2, p.beta1].map { SHA256.hex(try p.bytes($0)) }))
            let m = try PrometheusText.parse(r["metrics"]!.body)
            #expect(m["tidemark_archive_files"] == 3)
            #expect(m["tidemark_mirror_runs_total"] == 6 && m["tidemark_mirror_failures_total"] == 4)
        }
    }

    // MARK: helpers

    struct UploadAnswer: Decodable { var outcome: String; var file: ArchivedFile }
    struct Created: Decodable { var job: HostJob; var plan: TransactionPlan }
    struct Report: Decodable {
        struct Failure: Decodable { var href: String; var error: String }
        var repository: String
        var offered: Int
        var added: [ArchivedFile]
        var alreadyArchived: Int
        var skippedSource: Int
        var failed: [Failure]
    }

    /// `repodata/…-primary.xml.gz` as repomd.xml names it.
    static func primaryHref(_ repomd: String) -> String? {
        guard let data = repomd.range(of: "<data type=\"primary\">") else { return nil }
        let rest = repomd[data.upperBound...]
        guard let start = rest.range(of: "href=\""), let end = rest[start.upperBound...].firstIndex(of: "\"") else { return nil }
        return String(rest[start.upperBound..<end])
    }

    static func gunzip(_ bytes: [UInt8], in dir: TemporaryDirectory) throws -> String {
        let path = dir.path("primary-\(UUID().uuidString.prefix(8)).xml.gz")
        try FileSystem.write(bytes, to: path)
        return try Subprocess.check("gzip", ["-dc", path]).stdoutText
    }
}
