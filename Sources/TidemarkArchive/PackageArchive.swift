import Foundation
import TidemarkCore
import TidemarkHosts
import TidemarkRPM
import TidemarkRepo
import TidemarkStore

/// Every package binary any recorded state needs, kept so that going back always works (in the
/// incident that started Tidemark, the previous build had been dropped from the repository and
/// no host kept a copy). Files live on disk under their SHA-256 (`DIR/packages/ab/<sha256>.rpm`),
/// what they are lives in the store's database. A file is verified (digests, header) before it
/// is accepted, written durably, and only then recorded: a crash leaves at most an unrecorded
/// file, which `gc` removes, never a record without its file.
public struct PackageArchive: Sendable {
    public let directory: String
    public let store: any ArchiveStore
    private let cache = RepositoryCache()

    public init(directory: String, store: any ArchiveStore) {
        var d = directory
        while d.count > 1, d.hasSuffix("/") { d.removeLast() }
        self.directory = d
        self.store = store
    }

    /// Where the file with this SHA-256 lives (whether or not it is archived).
    public func path(of sha256: String) -> String {
        "\(directory)/packages/\(sha256.prefix(2))/\(sha256).rpm"
    }

    var temporaryDirectory: String { directory + "/tmp" }

    // MARK: adding

    public enum AddOutcome: Sendable, Hashable {
        case added(ArchivedFile)
        case alreadyArchived(ArchivedFile)
        public var file: ArchivedFile {
            switch self {
            case .added(let f), .alreadyArchived(let f): return f
            }
        }
        public var isNew: Bool { if case .added = self { return true } else { return false } }
    }

    /// Archives the package file at `path`. It is copied first and the copy is verified, so a
    /// file changing underneath cannot slip in unverified. Errors name the file and what is wrong
    /// (truncated, digest mismatch, not an rpm, a source rpm); nothing is archived then.
    public func add(path: String, origin: String, now: Timestamp) async throws -> AddOutcome {
        try await add(bytes: try DurableFile.read(path), name: path, origin: origin, now: now)
    }

    /// Archives a package file's bytes (an upload); `name` names it in errors.
    public func add(bytes: [UInt8], name: String, origin: String, now: Timestamp) async throws -> AddOutcome {
        let file = try RPMFile(bytes: bytes, name: name)
        guard !file.isSourcePackage else {
            throw TidemarkError(.invalidInput, "\(name): is a source rpm; the archive keeps the binaries hosts install")
        }
        if let existing = try await store.archivedFile(sha256: file.fileSHA256) {
            // Re-create the file if it went missing on disk (restored database, lost disk).
            if !FileManager.default.fileExists(atPath: path(of: file.fileSHA256)) { try writeFile(bytes: bytes, sha256: file.fileSHA256) }
            return .alreadyArchived(existing)
        }
        let archived = ArchivedFile(
            sha256: file.fileSHA256, package: file.package, fileName: Self.fileName(of: file), size: Int64(bytes.count), origin: origin, addedAt: now)
        let fragments = try RepoPackage(file: file, href: archived.href, mtime: now.seconds)
        try writeFile(bytes: bytes, sha256: file.fileSHA256)
        let entry = ArchiveEntry(file: archived, primary: fragments.primary, filelists: fragments.filelists, other: fragments.other)
        if try await store.addArchived(entry) { return .added(archived) }
        // Another writer recorded the same bytes meanwhile.
        return .alreadyArchived(try await store.archivedFile(sha256: file.fileSHA256) ?? archived)
    }

    /// `name-version-release.arch.rpm`: the name rpm and createrepo_c would give the file.
    static func fileName(of file: RPMFile) -> String {
        "\(file.name)-\(file.version)-\(file.release).\(file.arch).rpm"
    }

    private func writeFile(bytes: [UInt8], sha256: String) throws(TidemarkError) {
        let target = path(of: sha256)
        try DurableFile.makeDirectory((target as NSString).deletingLastPathComponent)
        try DurableFile.write(bytes, to: target, mode: 0o644)
    }

    // MARK: repositories

    /// A repository holding exactly `packages` (a recorded state). Refuses, listing them, when
    /// any package has no archived file: a rollback must know before it touches a host.
    public func repository(for packages: [Package], revision: String? = nil) async throws -> (metadata: RepoMetadata, files: [ArchivedFile]) {
        let files = try await files(for: packages)
        let entries = try await store.archiveEntries(sha256s: files.map(\.sha256))
        guard entries.count == files.count else {
            throw TidemarkError(.storage, "the archive's records changed while a repository was generated; try again")
        }
        let stamp = files.map(\.addedAt.seconds).max() ?? 0
        let metadata = RepoMetadata.assemble(entries.map(Self.repoPackage), revision: revision ?? String(stamp), timestamp: stamp)
        return (metadata, files)
    }

    /// The archived file of each package, or `notFound` listing every package that has none.
    /// A package known only by its version (from a package manager's log) takes the newest
    /// archived file of that name, version and arch.
    public func files(for packages: [Package]) async throws -> [ArchivedFile] {
        var found = try await store.archivedFiles(packageKeys: packages.map(\.identityKey))
        if packages.contains(where: { found[$0.identityKey] == nil && $0.digest == nil }) {
            let all = try await store.archivedFiles()
            for p in packages where found[p.identityKey] == nil && p.digest == nil {
                found[p.identityKey] = all.last { TransactionPlan.satisfies($0.package, p) }
            }
        }
        let missing = packages.filter { found[$0.identityKey] == nil }
        guard missing.isEmpty else { throw Self.missingError(missing) }
        var seen = Set<String>()
        return packages.compactMap { found[$0.identityKey] }.filter { seen.insert($0.sha256).inserted }
    }

    public static func missingError(_ missing: [Package]) -> TidemarkError {
        let list = missing.sorted(by: Package.stateOrder).map { p in
            "  \(p.nevra)" + (p.digest.map { " (SIGMD5 \($0))" } ?? " (no digest recorded)")
        }
        return TidemarkError(
            .notFound,
            "\(missing.count) package\(missing.count == 1 ? " is" : "s are") not in the archive:\n\(list.joined(separator: "\n"))\n(archive them with 'tidemark archive add FILE' or 'tidemark archive mirror --repo URL')")
    }

    /// The repository of everything archived. Kept in memory and brought up to date with only
    /// the files added since (a full reload only after files were deleted).
    public func repositoryOfEverything() async throws -> RepoMetadata {
        let (count, last) = try await store.archiveSequence()
        if let fresh = cache.metadata(count: count, last: last) { return fresh }
        var (packages, known) = cache.snapshot()
        if known > last { packages = [:]; known = 0 }
        for (sequence, entry) in try await store.archiveEntries(after: known) {
            packages[entry.file.sha256] = Self.repoPackage(entry)
            known = max(known, sequence)
        }
        if packages.count != count {
            // Deletions since the cache was filled: start over.
            packages = [:]
            known = 0
            for (sequence, entry) in try await store.archiveEntries(after: 0) {
                packages[entry.file.sha256] = Self.repoPackage(entry)
                known = max(known, sequence)
            }
        }
        let metadata = RepoMetadata.assemble(Array(packages.values), revision: String(known), timestamp: known)
        cache.store(packages: packages, known: known, count: packages.count, metadata: metadata)
        return metadata
    }

    static func repoPackage(_ e: ArchiveEntry) -> RepoPackage {
        let p = e.file.package
        return RepoPackage(
            name: p.name, arch: p.arch, epoch: String(p.evr.epoch), version: p.evr.version, release: p.evr.release, pkgid: e.file.sha256,
            href: e.file.href, packageSize: Int(e.file.size), primary: e.primary, filelists: e.filelists, other: e.other)
    }

    /// Writes a repository for `packages` into `directory` (created): `repodata/` and a
    /// symbolic link per package into the archive. What a local rollback points zypper at.
    public func writeRepository(for packages: [Package], to target: String) async throws -> [ArchivedFile] {
        let (metadata, files) = try await repository(for: packages)
        for f in files {
            let link = target + "/" + f.href
            try DurableFile.makeDirectory((link as NSString).deletingLastPathComponent)
            unlink(link)
            // a record whose file is gone (another --archive, a damaged disk) must not reach
            // zypper as a dangling link: that reads as "cannot install", not as a broken archive
            guard access(path(of: f.sha256), R_OK) == 0 else {
                throw TidemarkError(.corrupt, "\(f.fileName) is recorded in the archive but its file \(path(of: f.sha256)) is missing (is --archive the directory this database's archive uses?)")
            }
            guard symlink(path(of: f.sha256), link) == 0 else {
                throw TidemarkError(.storage, "cannot link \(link): \(String(cString: strerror(errno)))")
            }
        }
        try DurableFile.makeDirectory(target + "/repodata")
        for (name, bytes) in metadata.files {
            try DurableFile.write(bytes, to: target + "/" + name, mode: 0o644)
        }
        return files
    }

    // MARK: retention

    /// Deletes the plan's files: records first, then files, so a crash in between leaves only
    /// unrecorded files (removed by the next `gc`).
    public func delete(_ files: [ArchivedFile]) async throws {
        try await store.deleteArchived(sha256s: files.map(\.sha256))
        for f in files { unlink(path(of: f.sha256)) }
    }

    /// Files on disk that no record names (left by a crash between writing and recording) and
    /// that are older than `olderThan` seconds (younger ones may be an add in progress).
    public func unrecordedFiles(olderThan seconds: Int64 = 3600, now: Timestamp) async throws -> [String] {
        let root = directory + "/packages"
        guard let dirs = try? FileManager.default.contentsOfDirectory(atPath: root) else { return [] }
        var candidates: [(sha: String, path: String)] = []
        for d in dirs.sorted() {
            for f in ((try? FileManager.default.contentsOfDirectory(atPath: root + "/" + d)) ?? []).sorted() {
                let path = "\(root)/\(d)/\(f)"
                var st = stat()
                guard stat(path, &st) == 0, Int64(st.st_mtim.tv_sec) <= now.seconds - seconds else { continue }
                let sha = f.hasSuffix(".rpm") ? String(f.dropLast(4)) : f
                candidates.append((sha, path))
            }
        }
        let known = try await store.archivedSHA256s(among: candidates.map(\.sha))
        return candidates.filter { !known.contains($0.sha) }.map(\.path)
    }
}

/// The repository of everything, between refreshes.
final class RepositoryCache: @unchecked Sendable {
    private let lock = NSLock()
    private var packages: [String: RepoPackage] = [:]
    private var known: Int64 = 0
    private var count = -1
    private var metadata: RepoMetadata?

    func metadata(count: Int, last: Int64) -> RepoMetadata? {
        lock.withLock { self.count == count && known == last ? metadata : nil }
    }

    func snapshot() -> ([String: RepoPackage], Int64) { lock.withLock { (packages, known) } }

    func store(packages: [String: RepoPackage], known: Int64, count: Int, metadata: RepoMetadata) {
        lock.withLock {
            if known >= self.known || count != self.count {
                self.packages = packages
                self.known = known
                self.count = count
                self.metadata = metadata
            }
        }
    }
}
