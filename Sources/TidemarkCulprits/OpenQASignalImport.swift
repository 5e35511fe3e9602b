import Foundation
import TidemarkCore
import TidemarkOpenQA

/// Where `signal import openqa` (and the server's scheduled import) reads signals: an openQA
/// web UI, optionally with an API key, and the failure reason that counts.
public struct OpenQASignalSource: Sendable, Hashable {
    public var url: String
    public var apiKey: String?
    public var apiSecret: String?
    /// Only failures whose reason matches this (ICU regular expression) are recorded.
    public var reason: String?
    /// Most jobs read in one import (newest first).
    public var limit: Int

    public init(url: String, apiKey: String? = nil, apiSecret: String? = nil, reason: String? = nil, limit: Int = 5000) throws(TidemarkError) {
        _ = try OpenQAClient(baseURL: url, apiKey: apiKey, apiSecret: apiSecret)
        if let reason { _ = try SuspectQuery.regex(reason) }
        guard limit > 0 else { throw TidemarkError(.invalidArgument, "--limit: must be at least 1") }
        self.url = url
        self.apiKey = apiKey
        self.apiSecret = apiSecret
        self.reason = reason
        self.limit = limit
    }

    /// Reads the jobs finished since `since` and maps them to signals (nothing is stored).
    public func fetch(since: Timestamp?) async throws -> (signals: [Signal], jobs: Int) {
        let client = try OpenQAClient(baseURL: url, apiKey: apiKey, apiSecret: apiSecret)
        return try await client.signals(since: since, reason: try reason.map(SuspectQuery.regex), limit: limit)
    }
}
