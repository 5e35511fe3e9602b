import Foundation
import TidemarkCore

/// Signals and suspects through a server (`/api/v1/signals`, `/api/v1/suspects`).
extension TidemarkClient {
    /// Sends signals in batches the server accepts; the results are summed.
    public func recordSignals(_ signals: [Signal]) async throws -> SignalImportResult {
        struct Batch: Encodable { var signals: [Signal] }
        var total = SignalImportResult()
        for start in stride(from: 0, to: signals.count, by: 5000) {
            let r = try await post("/api/v1/signals", Batch(signals: Array(signals[start..<min(start + 5000, signals.count)])), as: SignalImportResult.self)
            total.recorded += r.recorded
            total.duplicates += r.duplicates
            total.failing += r.failing
            total.healthy += r.healthy
        }
        return total
    }

    public func signals(since: String?, until: String?, host: String?) async throws -> [Signal] {
        try await get("/api/v1/signals", ["since": since, "until": until, "host": host])
    }

    public func suspects(reason: String?, window: String?, at: String?, test: String?) async throws -> SuspectReport {
        try await get("/api/v1/suspects", ["reason": reason, "window": window, "at": at, "test": test])
    }
}
