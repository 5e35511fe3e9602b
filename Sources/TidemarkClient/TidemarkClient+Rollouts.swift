import Foundation
import TidemarkCore

/// Rollouts through a server (`/api/v1/rollouts…`): the same answers as `LocalRollouts`.
extension TidemarkClient: RolloutOperations {
    public func createRollout(_ request: RolloutRequest) async throws -> RolloutCreated {
        try await post("/api/v1/rollouts", request, as: RolloutCreated.self)
    }
    public func rollouts() async throws -> [RolloutStatus] { try await get("/api/v1/rollouts") }
    public func rollout(_ id: Int64) async throws -> RolloutStatus { try await get("/api/v1/rollouts/\(id)") }
    public func rolloutLog(_ id: Int64) async throws -> [RolloutEvent] { try await get("/api/v1/rollouts/\(id)/log") }
    public func explainRollout(_ id: Int64, at: String) async throws -> RolloutExplanation {
        try await get("/api/v1/rollouts/\(id)/explain", ["at": at])
    }
    public func act(_ id: Int64, _ action: RolloutMachine.Action) async throws -> RolloutStatus {
        struct Abort: Encodable { var rollback: Bool }
        switch action {
        case .approve: return try await post("/api/v1/rollouts/\(id)/approve", [String: String](), as: RolloutStatus.self)
        case .pause: return try await post("/api/v1/rollouts/\(id)/pause", [String: String](), as: RolloutStatus.self)
        case .resume: return try await post("/api/v1/rollouts/\(id)/resume", [String: String](), as: RolloutStatus.self)
        case .abort(let rollback): return try await post("/api/v1/rollouts/\(id)/abort", Abort(rollback: rollback), as: RolloutStatus.self)
        }
    }
    public func waive(_ id: Int64, check: String, reason: String, expires: String) async throws -> Waiver {
        try await post("/api/v1/rollouts/\(id)/waivers", ["check": check, "reason": reason, "expires": expires], as: Waiver.self)
    }
    public func revokeWaiver(_ id: Int64) async throws -> Waiver {
        let (status, body) = try await send(.DELETE, "/api/v1/waivers/\(id)", body: nil)
        try check(status, body)
        return try decode(Waiver.self, body)
    }
    public func waivers(_ id: Int64) async throws -> [Waiver] { try await get("/api/v1/rollouts/\(id)/waivers") }
    public func setLabel(host: String, key: String, value: String?) async throws -> [String: String] {
        let path = "/api/v1/hosts/\(pathEscape(host))/labels/\(pathEscape(key))"
        if let value {
            let (status, body) = try await send(.PUT, path, body: Array(try JSONEncoder().encode(["value": value])))
            try check(status, body)
            return try decode([String: String].self, body)
        }
        let (status, body) = try await send(.DELETE, path, body: nil)
        try check(status, body)
        return try decode([String: String].self, body)
    }
    public func labels() async throws -> [String: [String: String]] { try await get("/api/v1/labels") }
}
