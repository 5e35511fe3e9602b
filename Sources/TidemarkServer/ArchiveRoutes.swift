import Foundation
import Hummingbird
import Logging
import Synchronization
import TidemarkArchive
import TidemarkCore
import TidemarkRepo
import TidemarkStore

/// The package archive over HTTP: rpm-md repositories zypper installs from (everything, or
/// exactly one recorded state), uploads from agents and operators, listings and mirroring.
extension TidemarkServer {
    func addArchiveRoutes(_ router: Router<ServerContext>) {
        let api = self

        // Repositories: GET and HEAD, read by zypper (`http://tidemark:TOKEN@host/api/v1/repos/…/`).
        for method in [HTTPRequest.Method.get, .head] {
            route(router, method, "/api/v1/repos/all/repodata/{file}") { req, ctx in
                try await api.authorize(req, ctx, .fetch)
                let metadata = try await api.archive.repositoryOfEverything()
                return headIfAsked(req, try metadataResponse(metadata, file: try pathParameter(ctx, "file")))
            }
            route(router, method, "/api/v1/repos/all/Packages/{sha256}/{file}") { req, ctx in
                try await api.authorize(req, ctx, .fetch)
                let sha256 = try sha256Parameter(ctx)
                guard let file = try await api.archive.store.archivedFile(sha256: sha256) else {
                    throw APIError.notFound("no archived package file has SHA-256 \(sha256)")
                }
                return headIfAsked(req, try await api.packageResponse(file, requested: try pathParameter(ctx, "file"), ctx))
            }
            route(router, method, "/api/v1/repos/state/{state}/repodata/{file}") { req, ctx in
                try await api.authorize(req, ctx, .fetch)
                let repository = try await api.stateRepository(try pathParameter(ctx, "state"))
                return headIfAsked(req, try metadataResponse(repository.metadata, file: try pathParameter(ctx, "file")))
            }
            route(router, method, "/api/v1/repos/state/{state}/Packages/{sha256}/{file}") { req, ctx in
                try await api.authorize(req, ctx, .fetch)
                let repository = try await api.stateRepository(try pathParameter(ctx, "state"))
                let sha256 = try sha256Parameter(ctx)
                guard let file = repository.files[sha256] else {
                    throw APIError.notFound("state \(repository.state.short) has no package file with SHA-256 \(sha256)")
                }
                return headIfAsked(req, try await api.packageResponse(file, requested: try pathParameter(ctx, "file"), ctx))
            }
        }

        route(router, .post, "/api/v1/archive/files") { req, ctx in try await api.uploadPackage(req, ctx) }
        route(router, .get, "/api/v1/archive/files") { req, ctx in
            try await api.authorize(req, ctx, .fetch)
            return try json(try await api.archive.store.archivedFiles())
        }
        route(router, .get, "/api/v1/archive/files/{sha256}") { req, ctx in
            try await api.authorize(req, ctx, .fetch)
            let sha256 = try sha256Parameter(ctx)
            guard let file = try await api.archive.store.archivedFile(sha256: sha256) else {
                throw APIError.notFound("no archived package file has SHA-256 \(sha256)")
            }
            return try json(file)
        }
        route(router, .post, "/api/v1/archive/missing") { req, ctx in
            try await api.authorize(req, ctx, .fetch)
            struct Ask: Decodable { var sha256: [String] }
            let ask = try decodeJSON(Ask.self, try await api.readBody(req))
            guard ask.sha256.count <= Self.maxMissingQuery else {
                throw APIError.invalidBody("sha256: \(ask.sha256.count) entries; ask about at most \(Self.maxMissingQuery) at a time")
            }
            for (i, s) in ask.sha256.enumerated() where !ArchivedFile.isSHA256(s) {
                throw APIError.invalidBody("sha256[\(i)]: '\(s.prefix(80))' is not a SHA-256 (64 lower-case hex digits)")
            }
            let archived = try await api.archive.store.archivedSHA256s(among: ask.sha256)
            var seen = Set<String>()
            struct Answer: Encodable { var missing: [String] }
            return try json(Answer(missing: ask.sha256.filter { !archived.contains($0) && seen.insert($0).inserted }))
        }
        route(router, .post, "/api/v1/archive/mirror") { req, ctx in
            try await api.authorize(req, ctx, .admin)
            struct Ask: Decodable { var repository: String }
            let ask = try decodeJSON(Ask.self, try await api.readBody(req))
            do {
                return try json(try await api.mirror(ask.repository, logger: ctx.logger))
            } catch let e as TidemarkError where e.code != .storage {
                // The repository, not the server, is what failed: unreadable, not rpm-md, a bad URL.
                throw APIError(e.code == .invalidArgument ? .badRequest : .unprocessableContent, e.code.rawValue, e.message)
            }
        }
    }

    /// Most SHA-256s one `POST /api/v1/archive/missing` may ask about (6.5 MB of JSON).
    static let maxMissingQuery = 100_000

    // MARK: uploads

    func uploadPackage(_ req: Request, _ ctx: ServerContext) async throws -> Response {
        let token = try await authorize(req, ctx, .report)
        // The bytes once, not the buffer and a copy of it.
        let bytes = Array(try await readBody(req, limit: configuration.maxUpload, option: "--max-upload").readableBytesView)
        let origin = token.role == .host ? "upload:\(token.host ?? "?")" : "upload:admin"
        let outcome: PackageArchive.AddOutcome
        do {
            outcome = try await archive.add(bytes: bytes, name: "body", origin: origin, now: configuration.now())
        } catch let e as TidemarkError where [.corrupt, .invalidInput, .unreadable].contains(e.code) {
            // What the reader found wrong with the file (truncated, digest mismatch, not an rpm,
            // a source rpm); nothing was archived.
            throw APIError(.unprocessableContent, e.code.rawValue, e.message)
        }
        struct Answer: Encodable { var outcome: String; var file: ArchivedFile }
        if outcome.isNew {
            ctx.logger.info("package archived", metadata: ["sha256": "\(outcome.file.sha256)", "file": "\(outcome.file.fileName)", "origin": "\(origin)"])
        }
        return try json(Answer(outcome: outcome.isNew ? "added" : "already-archived", file: outcome.file), status: outcome.isNew ? .created : .ok)
    }

    // MARK: mirroring

    /// Mirrors one repository into the archive, counted in the metrics and logged.
    func mirror(_ url: String, logger: Logger) async throws -> MirrorReport {
        do {
            let report = try await archive.mirror(repository: url, now: configuration.now())
            metrics.countMirror(failed: false)
            logger.info("mirrored", metadata: [
                "repository": "\(url)", "offered": "\(report.offered)", "added": "\(report.added.count)",
                "already_archived": "\(report.alreadyArchived)", "failed": "\(report.failed.count)",
            ])
            for f in report.failed { logger.warning("mirror: package failed", metadata: ["repository": "\(url)", "href": "\(f.href)", "error": "\(f.error)"]) }
            return report
        } catch {
            if Task.isCancelled {
                // Shutting down: what was archived stays; the next start mirrors the rest.
                logger.info("mirror interrupted by shutdown", metadata: ["repository": "\(url)"])
                throw error
            }
            metrics.countMirror(failed: true)
            logger.warning("mirror failed", metadata: ["repository": "\(url)", "error": "\((error as? TidemarkError)?.message ?? "\(error)")"])
            throw error
        }
    }

    /// One round of scheduled mirroring: every repository the fleet's hosts have configured,
    /// one after another; a failing repository is logged and the others go on.
    func mirrorFleetRepositories(logger: Logger) async {
        let urls: [String]
        do { urls = try await PackageArchive.fleetRepositoryURLs(in: store) } catch {
            logger.error("mirror: cannot list the fleet's repositories", metadata: ["error": "\(error)"])
            return
        }
        for url in urls {
            guard !Task.isCancelled else { return }
            _ = try? await mirror(url, logger: logger)
        }
    }

    // MARK: repositories

    /// The repository of exactly one recorded state (`id` a full state id or a unique prefix of
    /// at least 4 hex digits), kept in memory while the archive is unchanged. 404 listing every
    /// package the archive lacks.
    func stateRepository(_ id: String) async throws -> StateRepositoryCache.Entry {
        guard (4...64).contains(id.utf8.count), id.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            throw APIError.badRequest("state: '\(id.prefix(80))' is not a state id or a prefix of one (4 to 64 lower-case hex digits)")
        }
        let state: StateID
        if id.utf8.count == 64, stateRepositories.contains(StateID(hex: id)) {
            state = StateID(hex: id)
        } else {
            let matches = try await store.states(withPrefix: id)
            guard let first = matches.first else { throw APIError.notFound("no state id starts with '\(id)'") }
            guard matches.count == 1 else {
                throw APIError(.badRequest, TidemarkError.Code.ambiguous.rawValue, "state prefix '\(id)' is ambiguous: it matches \(matches.map(\.short).joined(separator: ", ")); give more digits")
            }
            state = first
        }
        let sequence = try await archive.store.archiveSequence()
        if let cached = stateRepositories.entry(state, count: sequence.count, last: sequence.last) { return cached }
        guard let packages = try await store.packages(of: state) else { throw APIError.notFound("state \(state.short) is not known") }
        let (metadata, files) = try await archive.repository(for: packages)
        let entry = StateRepositoryCache.Entry(
            state: state, count: sequence.count, last: sequence.last, metadata: metadata,
            files: Dictionary(files.map { ($0.sha256, $0) }, uniquingKeysWith: { a, _ in a }))
        stateRepositories.store(entry)
        return entry
    }

    /// An archived file, streamed from disk (never read into memory whole).
    func packageResponse(_ file: ArchivedFile, requested name: String, _ ctx: ServerContext) async throws -> Response {
        guard name == file.fileName else {
            throw APIError.notFound("the package file with SHA-256 \(file.sha256) is served as \(file.fileName), not \(name.prefix(200))")
        }
        let path = archive.path(of: file.sha256)
        guard FileManager.default.fileExists(atPath: path) else {
            throw APIError(.internalServerError, TidemarkError.Code.storage.rawValue, "\(file.fileName) (SHA-256 \(file.sha256)) is recorded in the archive but its file is missing on disk")
        }
        let body = try await packageFileIO.loadFile(path: path, context: ctx)
        return Response(status: .ok, headers: [.contentType: "application/x-rpm"], body: body)
    }
}

/// Reads package files in chunks off the event loops.
private let packageFileIO = FileIO()

/// `repodata/FILE` of a generated repository.
private func metadataResponse(_ metadata: RepoMetadata, file: String) throws -> Response {
    guard let bytes = metadata.files["repodata/" + file] else {
        throw APIError.notFound("repodata/\(file.prefix(200)): no such file in this repository (repodata/repomd.xml lists its files)")
    }
    let type = file == "repomd.xml" ? "text/xml" : file.hasSuffix(".gz") ? "application/gzip" : file.hasSuffix(".zst") ? "application/zstd" : "application/octet-stream"
    return Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
}

/// HEAD: the same status and headers (Content-Length included), no body.
private func headIfAsked(_ req: Request, _ response: Response) -> Response {
    req.method == .head ? response.createHeadResponse() : response
}

/// The `{sha256}` path segment, checked before it becomes part of a path.
private func sha256Parameter(_ ctx: ServerContext) throws -> String {
    let s = try pathParameter(ctx, "sha256")
    guard ArchivedFile.isSHA256(s) else { throw APIError.badRequest("sha256: '\(s.prefix(80))' is not a SHA-256 (64 lower-case hex digits)") }
    return s
}

/// Repositories of recently asked states: zypper asks for repomd.xml, then for each file it
/// lists, then for the packages; generating the metadata once per state (while the archive is
/// unchanged) keeps that cheap. Least recently used states leave first.
final class StateRepositoryCache: Sendable {
    struct Entry: Sendable {
        var state: StateID
        /// The archive's sequence (`archiveSequence()`) the entry was made at.
        var count: Int
        var last: Int64
        var metadata: RepoMetadata
        var files: [String: ArchivedFile]
    }

    let capacity: Int
    /// Most recently used last.
    private let entries = Mutex<[Entry]>([])

    init(capacity: Int) { self.capacity = capacity }

    func contains(_ state: StateID) -> Bool { entries.withLock { $0.contains { $0.state == state } } }

    func entry(_ state: StateID, count: Int, last: Int64) -> Entry? {
        entries.withLock { list in
            guard let i = list.firstIndex(where: { $0.state == state }) else { return nil }
            let e = list.remove(at: i)
            guard e.count == count, e.last == last else { return nil }
            list.append(e)
            return e
        }
    }

    func store(_ entry: Entry) {
        entries.withLock { list in
            list.removeAll { $0.state == entry.state }
            list.append(entry)
            if list.count > capacity { list.removeFirst(list.count - capacity) }
        }
    }
}
