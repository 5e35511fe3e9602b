/// Every failure a user can see: a stable code for scripts and a message that says what was
/// wrong and where (file, line, field), so the user can act on it without reading the source.
public struct TidemarkError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// Stable machine-readable error kinds (they become HTTP statuses at the server edge).
    public enum Code: String, Sendable, Codable {
        case invalidArgument = "invalid_argument"
        case invalidInput = "invalid_input"
        case notFound = "not_found"
        case ambiguous = "ambiguous"
        case unreadable = "unreadable"
        case corrupt = "corrupt"
        case conflict = "conflict"
        case storage = "storage"
        case toolFailed = "tool_failed"
        case unauthorized
        /// A server could not be reached (the agent spools and retries).
        case unreachable
        /// A heartbeat named a state the store does not have: send the full observation.
        case unknownState = "unknown_state"
    }
}
