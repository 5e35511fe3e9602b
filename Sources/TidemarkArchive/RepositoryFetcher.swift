import AsyncHTTPClient
import Foundation
import NIOCore
import TidemarkCore
import TidemarkHosts

/// Reads files of a repository given as zypper writes `baseurl`: `http(s)://…`, `file:/…`,
/// `dir:/…`, or a plain absolute path. What the mirror downloads with.
public struct RepositoryFetcher: Sendable {
    /// The repository's root, normalised (no trailing `/`).
    public let base: String
    let isHTTP: Bool
    /// Largest file accepted (a package); larger is refused, not truncated.
    public var maxBytes = 8 << 30
    public var timeout: TimeAmount = .seconds(600)

    public init(url: String) throws(TidemarkError) {
        var u = url.trimmingCharacters(in: .whitespaces)
        if let q = u.firstIndex(of: "?") { u = String(u[..<q]) }
        guard !u.contains("$") else {
            throw TidemarkError(.invalidArgument, "repository URL '\(url)' has an unexpanded zypp variable ($releasever, $basearch …); give the expanded URL")
        }
        while u.hasSuffix("/") { u.removeLast() }
        if u.hasPrefix("http://") || u.hasPrefix("https://") {
            isHTTP = true
        } else {
            isHTTP = false
            for scheme in ["file://", "dir://", "file:", "dir:"] where u.hasPrefix(scheme) {
                u = String(u.dropFirst(scheme.count))
                break
            }
            guard u.hasPrefix("/") else {
                throw TidemarkError(.invalidArgument, "repository URL '\(url)': expected http://, https://, file:/, dir:/ or an absolute path")
            }
        }
        base = u
    }

    /// A repository-relative path (checked by the caller) or an absolute URL (`xml:base`).
    public func fetch(_ relative: String) async throws -> [UInt8] {
        let target = relative.contains("://") ? relative : base + "/" + relative
        if !isHTTP && !relative.contains("://") { return try DurableFile.read(target) }
        guard target.hasPrefix("http://") || target.hasPrefix("https://") else {
            throw TidemarkError(.invalidInput, "\(target): only http(s) locations are fetched from outside the repository")
        }
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(HTTPClientRequest(url: target), timeout: timeout)
        } catch {
            throw TidemarkError(.unreachable, "\(target): \(error)")
        }
        guard response.status == .ok else {
            throw TidemarkError(.unreachable, "\(target): HTTP \(response.status.code) \(response.status.reasonPhrase)")
        }
        do {
            let body = try await response.body.collect(upTo: maxBytes)
            return Array(body.readableBytesView)
        } catch {
            throw TidemarkError(.unreachable, "\(target): download failed: \(error)")
        }
    }
}
