import Foundation
import TidemarkArchive
import TidemarkClient
import TidemarkCore
import TidemarkStore

/// Where a bisection reads the fleet's history and the package files its steps install: the
/// local store and archive (on the server's machine), or a Tidemark server (on the host being
/// bisected, which has neither). The session itself is always kept in the local store.
public protocol BisectSource: Sendable {
    /// A ref's state and packages, with install times when it names a host's observation.
    func show(_ ref: String) async throws -> ShowResult
    /// Throws (`PackageArchive.missingError`, listing them) unless every package is archived.
    func requireArchived(_ packages: [Package]) async throws
    /// A repository holding `packages`' files in `directory`; its URL for zypper.
    func repository(for packages: [Package], in directory: String, now: Timestamp) async throws -> String
}

/// The local `--db` store and `--archive`.
public struct LocalBisectSource: BisectSource {
    public let queries: HistoryQueries
    public let archive: PackageArchive

    public init(queries: HistoryQueries, archive: PackageArchive) {
        self.queries = queries
        self.archive = archive
    }

    public func show(_ ref: String) async throws -> ShowResult { try await queries.show(ref) }
    public func requireArchived(_ packages: [Package]) async throws { _ = try await archive.files(for: packages) }
    public func repository(for packages: [Package], in directory: String, now: Timestamp) async throws -> String {
        try await archive.localRepository(for: packages, in: directory)
    }
}

/// A Tidemark server: refs through `/api/v1/show`, files from its archive (checked on arrival).
public struct RemoteBisectSource: BisectSource {
    public let client: TidemarkClient

    public init(client: TidemarkClient) { self.client = client }

    public func show(_ ref: String) async throws -> ShowResult { try await client.show(ref) }
    public func requireArchived(_ packages: [Package]) async throws {
        let archived = Set(try await client.archivedFiles().map(\.package.identityKey))
        let missing = packages.filter { !archived.contains($0.identityKey) }
        guard missing.isEmpty else { throw PackageArchive.missingError(missing) }
    }
    public func repository(for packages: [Package], in directory: String, now: Timestamp) async throws -> String {
        try await PackageArchive.fetchedRepository(
            for: packages, available: try await client.archivedFiles(), fetch: { try await client.downloadPackage($0) }, to: directory, now: now)
    }
}
