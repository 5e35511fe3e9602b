/// The outcome of one check (an openQA job group, a command, an HTTP endpoint, a wave's health).
/// Three states, never two: a check that has not finished is `pending`, and pending is neither
/// shown nor treated as passed or failed (the top complaint about gating systems that fold
/// "still running" into "failed"); the rollout waits, up to the check's deadline.
public struct CheckResult: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
        case passed, failed, pending
    }

    public var check: String
    public var status: Status
    /// What the status rests on, for people: "openQA group 1 build 20250120: 12 passed, 1 failed (job 4711)".
    public var evidence: String
    public var at: Timestamp

    public init(check: String, status: Status, evidence: String, at: Timestamp) {
        self.check = check
        self.status = status
        self.evidence = evidence
        self.at = at
    }
}

/// The one way past a failed required check: recorded with who and why, bounded in time,
/// revocable, and named in every decision it affected.
public struct Waiver: Sendable, Hashable, Codable {
    public var id: Int64
    public var check: String
    public var rollout: Int64
    public var reason: String
    public var by: String
    public var createdAt: Timestamp
    public var expiresAt: Timestamp
    public var revokedAt: Timestamp?

    public init(id: Int64, check: String, rollout: Int64, reason: String, by: String, createdAt: Timestamp, expiresAt: Timestamp, revokedAt: Timestamp? = nil) {
        self.id = id
        self.check = check
        self.rollout = rollout
        self.reason = reason
        self.by = by
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }

    /// In force at `at`: created by then, not expired, not revoked by then.
    public func isActive(at: Timestamp) -> Bool {
        createdAt <= at && at < expiresAt && (revokedAt.map { at < $0 } ?? true)
    }
}

/// A check's result as a decision sees it at one moment, with the waiver that changed it.
public struct GateVerdict: Sendable, Hashable, Codable {
    public var result: CheckResult
    /// `passed` for a failed check under an active waiver; otherwise the result's own status.
    public var status: CheckResult.Status
    public var waiver: Waiver?

    public init(result: CheckResult, status: CheckResult.Status, waiver: Waiver?) {
        self.result = result
        self.status = status
        self.waiver = waiver
    }

    /// Only a failed result can be waived: a pending one still waits (a waiver is an answer to
    /// red, not a way to skip waiting), a passed one needs nothing.
    public static func judge(_ result: CheckResult, waivers: [Waiver], rollout: Int64, at: Timestamp) -> GateVerdict {
        guard result.status == .failed,
              let w = waivers.filter({ $0.rollout == rollout && $0.check == result.check && $0.isActive(at: at) }).min(by: { $0.id < $1.id })
        else { return GateVerdict(result: result, status: result.status, waiver: nil) }
        return GateVerdict(result: result, status: .passed, waiver: w)
    }

    /// All verdicts together: failed if any failed, else pending if any pending, else passed.
    public static func combine(_ verdicts: [GateVerdict]) -> CheckResult.Status {
        if verdicts.contains(where: { $0.status == .failed }) { return .failed }
        if verdicts.contains(where: { $0.status == .pending }) { return .pending }
        return .passed
    }
}
