import TidemarkCore

/// Failure signals and bisection sessions: the evidence culprit finding reads and the searches
/// it runs. A batch of signals is one transaction; each bisection run is written once, so an
/// interrupted session resumes from exactly what was recorded.
public protocol CulpritStore: Sendable {
    /// Records signals atomically; ones whose external id is already stored count as duplicates.
    func recordSignals(_ signals: [Signal], now: Timestamp) async throws -> SignalImportResult
    /// Signals in time order, bounds inclusive, of one host when given.
    func signals(since: Timestamp?, until: Timestamp?, host: String?) async throws -> [Signal]

    /// Stores a new session (its id assigned). Refused (`conflict`) while another session on the
    /// same target is running.
    func createBisect(_ session: BisectSession) async throws -> BisectSession
    func bisect(id: Int64) async throws -> BisectSession?
    /// Sessions newest first; only running ones with `activeOnly`.
    func bisects(activeOnly: Bool) async throws -> [BisectSession]
    /// Records one run; `conflict` if that sequence number is already recorded.
    func recordBisectRun(_ run: BisectStepRecord) async throws
    func bisectRuns(session: Int64) async throws -> [BisectStepRecord]
    /// Ends (or re-opens, with `.running`) a session.
    func setBisectStatus(id: Int64, _ status: BisectSession.Status, report: BisectReport?, message: String?, now: Timestamp) async throws
}
