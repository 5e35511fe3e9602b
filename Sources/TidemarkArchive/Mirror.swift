import Foundation
import TidemarkCore
import TidemarkRepo

/// What one mirror run did: a build is archived the moment it is published, before any host
/// installs it, so dropping it from the repository later cannot strand a rollback.
public struct MirrorReport: Sendable, Hashable, Codable {
    public struct Failure: Sendable, Hashable, Codable {
        public var href: String
        public var error: String
    }
    public var repository: String
    /// Packages the repository's metadata lists.
    public var offered: Int
    public var added: [ArchivedFile]
    public var alreadyArchived: Int
    /// Source rpms are not archived.
    public var skippedSource: Int
    public var failed: [Failure]
}

extension PackageArchive {
    /// Archives every package of the repository at `url` not archived yet. A package that fails
    /// (download, checksum against the metadata, the file's own digests) is reported and the
    /// rest go on; the metadata itself failing is an error.
    public func mirror(repository url: String, now: Timestamp, parallel: Int = 4) async throws -> MirrorReport {
        try await mirrorOffering(repository: url, now: now, parallel: parallel).report
    }

    /// `mirror`, and the archived file of every binary package the repository offers now (what
    /// a rollout `--updates-from` the repository may install), in the repository's order.
    public func mirrorOffering(repository url: String, now: Timestamp, parallel: Int = 4) async throws -> (report: MirrorReport, offered: [ArchivedFile]) {
        let fetcher = try RepositoryFetcher(url: url)
        let repomdBytes = try await fetcher.fetch("repodata/repomd.xml")
        let md = try RepoMDReader.parseRepoMD(repomdBytes, name: url + "/repodata/repomd.xml")
        guard let primary = md.record("primary") else {
            throw TidemarkError(.invalidInput, "\(url)/repodata/repomd.xml: no primary metadata; not an rpm-md repository")
        }
        let primaryLocation = primary.base.map { RepositoryFetcher.join($0, primary.href) } ?? primary.href
        guard primary.base != nil || RepoMDReader.isSafeRelativePath(primaryLocation) else {
            throw TidemarkError(.invalidInput, "\(url)/repodata/repomd.xml: primary location '\(primaryLocation)' is not a path inside the repository")
        }
        let primaryBytes = try await fetcher.fetch(primaryLocation)
        let packages = try RepoMDReader.packages(repomd: repomdBytes, repomdName: url + "/repodata/repomd.xml") { _ throws(TidemarkError) in primaryBytes }

        var report = MirrorReport(repository: url, offered: packages.count, added: [], alreadyArchived: 0, skippedSource: 0, failed: [])
        let binaries = packages.filter { $0.arch != "src" && $0.arch != "nosrc" }
        report.skippedSource = packages.count - binaries.count
        let known = try await store.archivedSHA256s(among: binaries.filter { $0.checksumType.lowercased() == "sha256" }.map { $0.checksum.lowercased() })
        let todo = binaries.filter { !($0.checksumType.lowercased() == "sha256" && known.contains($0.checksum.lowercased())) }
        report.alreadyArchived = binaries.count - todo.count

        let origin = "mirror:" + url
        var offered: [String: ArchivedFile] = [:]
        for sha in known {
            if let f = try await store.archivedFile(sha256: sha) { offered[sha] = f }
        }
        try await withThrowingTaskGroup(of: (String, Result<AddOutcome, TidemarkError>).self) { group in
            var next = 0
            func launch() {
                let p = todo[next]
                next += 1
                group.addTask {
                    do {
                        return (p.href, .success(try await self.mirrorOne(p, fetcher: fetcher, origin: origin, now: now)))
                    } catch let e as TidemarkError {
                        return (p.href, .failure(e))
                    } catch {
                        return (p.href, .failure(TidemarkError(.storage, "\(p.href): \(error)")))
                    }
                }
            }
            while next < todo.count && next < max(1, parallel) { launch() }
            while let (href, result) = try await group.next() {
                switch result {
                case .success(.added(let f)):
                    report.added.append(f)
                    offered[href] = f
                case .success(.alreadyArchived(let f)):
                    report.alreadyArchived += 1
                    offered[href] = f
                case .failure(let e): report.failed.append(.init(href: href, error: e.message))
                }
                if next < todo.count { launch() }
            }
        }
        report.added.sort { ($0.fileName, $0.sha256) < ($1.fileName, $1.sha256) }
        report.failed.sort { $0.href < $1.href }
        let files = binaries.compactMap { p in
            offered[p.href] ?? (p.checksumType.lowercased() == "sha256" ? offered[p.checksum.lowercased()] : nil)
        }
        return (report, files)
    }

    private func mirrorOne(_ p: RepoMDReader.Package, fetcher: RepositoryFetcher, origin: String, now: Timestamp) async throws -> AddOutcome {
        let location: String
        if let base = p.base, !base.isEmpty {
            location = RepositoryFetcher.join(base, p.href)
        } else {
            guard RepoMDReader.isSafeRelativePath(p.href) else {
                throw TidemarkError(.invalidInput, "location '\(p.href)' is not a path inside the repository")
            }
            location = p.href
        }
        let bytes = try await fetcher.fetch(location)
        if let size = p.packageSize, size != bytes.count {
            throw TidemarkError(.corrupt, "\(p.href): \(bytes.count) bytes, the repository's metadata says \(size)")
        }
        if let got = RepoMDReader.digest(p.checksumType, bytes), got != p.checksum.lowercased() {
            throw TidemarkError(.corrupt, "\(p.href): \(p.checksumType) \(got) does not match the repository's metadata (\(p.checksum))")
        }
        return try await add(bytes: bytes, name: p.href, origin: origin, now: now)
    }
}

extension RepositoryFetcher {
    static func join(_ base: String, _ href: String) -> String { base.hasSuffix("/") ? base + href : base + "/" + href }
}
