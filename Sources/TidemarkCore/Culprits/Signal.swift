/// Evidence that a host was failing or healthy at a moment: what the fleet itself says about
/// an update (an openQA job that could not start on a worker, a health command, a person's
/// note). Suspects are ranked from these; nothing else about "broken" is assumed.
public struct Signal: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
        case failing, healthy
    }

    public var host: String
    public var at: Timestamp
    public var status: Status
    /// Why (openQA's job reason, `setup failure: isotovideo can not be started`); suspects
    /// filter failing signals on it with `--reason`.
    public var reason: String?
    /// Where it came from: `manual`, `openqa`, `api`.
    public var source: String
    /// The same evidence imported twice is stored once: `openqa:http://openqa/tests/1234`.
    public var externalID: String?

    public init(host: String, at: Timestamp, status: Status, reason: String? = nil, source: String = "manual", externalID: String? = nil) {
        self.host = host
        self.at = at
        self.status = status
        self.reason = reason
        self.source = source
        self.externalID = externalID
    }

    /// Longest reason kept (openQA's are one line; a pasted log is cut, not refused).
    public static let reasonLimit = 2000

    /// Checks what a client sent; `field` names the place in its input for the message.
    public func validated(field: String = "signal") throws(TidemarkError) -> Signal {
        do { try Observation.validateHostName(host) } catch { throw TidemarkError(.invalidInput, "\(field).host: \(error.message)") }
        guard Timestamp.supported.contains(at.seconds) else {
            throw TidemarkError(.invalidInput, "\(field).at: \(at.seconds) is outside the years 1 to 9999")
        }
        guard !source.isEmpty, source.count <= 64 else { throw TidemarkError(.invalidInput, "\(field).source: must be 1 to 64 characters") }
        if let e = externalID, e.isEmpty || e.count > 1000 { throw TidemarkError(.invalidInput, "\(field).externalID: must be 1 to 1000 characters") }
        var s = self
        if let r = reason {
            s.reason = r.isEmpty ? nil : String(r.prefix(Self.reasonLimit))
        }
        return s
    }
}

/// What recording a batch of signals did.
public struct SignalImportResult: Sendable, Hashable, Codable {
    public var recorded: Int
    /// Already stored (same external id): importing again is harmless.
    public var duplicates: Int
    public var failing: Int
    public var healthy: Int
    public init(recorded: Int = 0, duplicates: Int = 0, failing: Int = 0, healthy: Int = 0) {
        self.recorded = recorded
        self.duplicates = duplicates
        self.failing = failing
        self.healthy = healthy
    }
}
