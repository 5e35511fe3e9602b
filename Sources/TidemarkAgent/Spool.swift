import Foundation
import TidemarkCore
import TidemarkHosts

/// The agent's on-disk queue: every observation is written here (fsync'd, atomic rename) before
/// any attempt to send it, and removed only after the server acknowledged it. A crash, a reboot or
/// a server outage loses nothing; entries go out in the order they were taken.
///
/// Layout under the spool directory:
/// - `queue/NNNNNNNNNNNN.json`: one `ObservationPayload` each (full, or a heartbeat);
/// - `states/<state id>.json`: the full payload of a state a queued heartbeat refers to, for when
///   the server turns out not to know it (HTTP 409 `unknown_state`), and of the acknowledged
///   state, the base a changed state is sent against (only what changed);
/// - `acknowledged`: the last state id the server acknowledged, so an unchanged host sends only
///   heartbeats;
/// - `backfill-before`: the time of the first observation; the backfill covers what came before;
/// - `backfilled`: present once the first run's backfill is delivered.
public struct Spool: Sendable {
    public let directory: String
    var queue: String { directory + "/queue" }
    var states: String { directory + "/states" }

    public init(directory: String) throws(TidemarkError) {
        self.directory = directory
        for d in [directory, directory + "/queue", directory + "/states"] {
            do { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) } catch {
                throw TidemarkError(.storage, "cannot create the spool directory \(d): \(error.localizedDescription)")
            }
        }
    }

    /// Queued entry names, oldest first.
    public func pending() throws(TidemarkError) -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: queue).filter { $0.hasSuffix(".json") }.sorted()
        } catch {
            throw TidemarkError(.storage, "cannot read the spool \(queue): \(error.localizedDescription)")
        }
    }

    /// Appends an observation durably; a heartbeat also keeps its state's full payload aside.
    public func enqueue(_ observation: Observation, heartbeat: Bool) throws(TidemarkError) {
        if heartbeat {
            let statePath = states + "/" + observation.state.id.hex + ".json"
            if !FileManager.default.fileExists(atPath: statePath) {
                try Spool.writeDurably(try Spool.encode(ObservationPayload(observation, full: true)), to: statePath)
            }
        }
        let next = (try pending().last.flatMap { Int($0.dropLast(5)) } ?? 0) + 1
        let name = String(repeating: "0", count: max(0, 12 - String(next).count)) + String(next) + ".json"
        try Spool.writeDurably(try Spool.encode(ObservationPayload(observation, full: !heartbeat)), to: queue + "/" + name)
    }

    public func read(_ entry: String) throws(TidemarkError) -> ObservationPayload {
        try Spool.decode(ObservationPayload.self, path: queue + "/" + entry)
    }

    /// The full payload kept for `state`, if any.
    public func keptPayload(_ state: StateID) throws(TidemarkError) -> ObservationPayload? {
        let path = states + "/" + state.hex + ".json"
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try Spool.decode(ObservationPayload.self, path: path)
    }

    /// Keeps a full payload aside (the next changed state goes as a delta against it).
    public func keep(_ full: ObservationPayload) throws(TidemarkError) {
        let path = states + "/" + full.state.hex + ".json"
        guard full.packages != nil, !FileManager.default.fileExists(atPath: path) else { return }
        try Spool.writeDurably(try Spool.encode(full), to: path)
    }

    /// The full payload kept for a heartbeat's state, re-timed to the heartbeat.
    public func fullPayload(for heartbeat: ObservationPayload) throws(TidemarkError) -> ObservationPayload? {
        let path = states + "/" + heartbeat.state.hex + ".json"
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        var full = try Spool.decode(ObservationPayload.self, path: path)
        full.at = heartbeat.at
        full.source = heartbeat.source
        return full
    }

    /// Removes an acknowledged entry, and state files no queued heartbeat needs any more.
    public func remove(_ entry: String) throws(TidemarkError) {
        try? FileManager.default.removeItem(atPath: queue + "/" + entry)
        let left = try pending()
        if left.isEmpty {
            for f in (try? FileManager.default.contentsOfDirectory(atPath: states)) ?? [] where f != (acknowledged?.hex ?? "") + ".json" {
                try? FileManager.default.removeItem(atPath: states + "/" + f)
            }
        }
    }

    public var acknowledged: StateID? {
        guard let s = try? String(contentsOfFile: directory + "/acknowledged", encoding: .utf8), s.trimmed.count == 64 else { return nil }
        return StateID(hex: s.trimmed)
    }

    public func setAcknowledged(_ id: StateID) throws(TidemarkError) {
        try Spool.writeDurably(Data(id.hex.utf8), to: directory + "/acknowledged")
    }

    public var isBackfilled: Bool { FileManager.default.fileExists(atPath: directory + "/backfilled") }

    /// The time of the agent's first observation: the backfill reconstructs only what came
    /// before it (after it, the agent's own observations are the better evidence).
    public func backfillBoundary(default now: Timestamp) throws(TidemarkError) -> Timestamp {
        let path = directory + "/backfill-before"
        if let s = try? String(contentsOfFile: path, encoding: .utf8), let t = Timestamp.parseISO8601(s.trimmed) { return t }
        try Spool.writeDurably(Data(now.iso8601.utf8), to: path)
        return now
    }
    public func markBackfilled() throws(TidemarkError) { try Spool.writeDurably(Data(), to: directory + "/backfilled") }

    // MARK: durable files

    static func encode(_ p: ObservationPayload) throws(TidemarkError) -> Data {
        do { return try JSONEncoder().encode(p) } catch { throw TidemarkError(.storage, "cannot encode an observation: \(error)") }
    }

    static func decode<T: Decodable>(_ type: T.Type, path: String) throws(TidemarkError) -> T {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TidemarkError(.storage, "cannot read spool file \(path)")
        }
        do { return try JSONDecoder().decode(T.self, from: data) } catch {
            throw TidemarkError(.corrupt, "spool file \(path) is not a valid observation: \(error)")
        }
    }

    static func writeDurably(_ data: Data, to path: String) throws(TidemarkError) {
        try DurableFile.write(data, to: path)
    }
}
