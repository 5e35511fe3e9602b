import Foundation
import TidemarkCore
import TidemarkStore

extension PackageArchive {
    /// The distinct repository URLs the fleet's hosts have configured and enabled, as of each
    /// host's latest observation (zypp repositories only: the archive keeps rpms), sorted. What
    /// the server mirrors on a schedule, so that a build is archived the moment it is published.
    /// URLs are compared without trailing slashes; ones with zypp variables (`$releasever`) are
    /// included as written (mirroring them fails with a message saying so).
    public static func fleetRepositoryURLs(in store: any HistoryStore) async throws -> [String] {
        var urls = Set<String>()
        for o in try await store.latestObservations(at: nil) {
            for r in try await store.repositories(host: o.host, at: o.at) ?? [] where r.kind == .zypp && r.enabled {
                var u = r.url.trimmingCharacters(in: .whitespaces)
                while u.count > 1, u.hasSuffix("/") { u.removeLast() }
                if !u.isEmpty { urls.insert(u) }
            }
        }
        return urls.sorted()
    }
}
