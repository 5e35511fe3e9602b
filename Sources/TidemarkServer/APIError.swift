import Hummingbird
import TidemarkCore

/// An error as the API answers it: an HTTP status and `{"error": {"code", "message"}}`.
///
/// Codes are `TidemarkError.Code` raw values, plus the HTTP-only ones below, so a client can act
/// on the code and show the message (which says what was wrong and where) to a person.
public struct APIError: Error, Sendable, Equatable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    static func unauthorized(_ m: String) -> APIError { APIError(.unauthorized, "unauthorized", m) }
    static func forbidden(_ m: String) -> APIError { APIError(.forbidden, "forbidden", m) }
    static func badRequest(_ m: String) -> APIError { APIError(.badRequest, TidemarkError.Code.invalidArgument.rawValue, m) }
    static func invalidBody(_ m: String) -> APIError { APIError(.badRequest, TidemarkError.Code.invalidInput.rawValue, m) }
    static func notFound(_ m: String) -> APIError { APIError(.notFound, TidemarkError.Code.notFound.rawValue, m) }

    /// Maps whatever a handler threw. Tidemark errors keep their code; the status follows from it.
    static func from(_ error: any Error) -> APIError {
        switch error {
        case let e as APIError:
            return e
        case let e as TidemarkError:
            let status: HTTPResponse.Status = switch e.code {
            case .invalidArgument, .invalidInput, .ambiguous, .unreadable: .badRequest
            case .notFound: .notFound
            case .conflict, .unknownState: .conflict
            case .unauthorized: .unauthorized
            case .unreachable: .badGateway
            case .corrupt, .storage, .toolFailed: .internalServerError
            }
            return APIError(status, e.code.rawValue, e.message)
        case let e as DecodingError:
            return APIError(.badRequest, TidemarkError.Code.invalidInput.rawValue, describe(e))
        case let e as any HTTPResponseError:
            switch e.status {
            case .contentTooLarge: return APIError(.contentTooLarge, "payload_too_large", "request body is too large")
            case .notFound: return APIError(.notFound, "not_found", "no such endpoint (see /openapi.json)")
            case .methodNotAllowed: return APIError(.methodNotAllowed, "not_found", "method not allowed on this endpoint (see /openapi.json)")
            default: return APIError(e.status, e.status.code >= 500 ? "storage" : "invalid_argument", "\(e.status.reasonPhrase)")
            }
        default:
            return APIError(.internalServerError, TidemarkError.Code.storage.rawValue, "internal error: \(error)")
        }
    }

    /// `packages[3].evr.version: expected String, found a number` — the field first, as users
    /// look for it in their document.
    static func describe(_ e: DecodingError) -> String {
        func path(_ p: [any CodingKey]) -> String {
            var s = ""
            for k in p {
                if let i = k.intValue { s += "[\(i)]" } else { s += (s.isEmpty ? "" : ".") + k.stringValue }
            }
            return s.isEmpty ? "body" : s
        }
        switch e {
        case .keyNotFound(let key, let c):
            return "\(path(c.codingPath + [key])): required field is missing"
        case .typeMismatch(let type, let c):
            return "\(path(c.codingPath)): expected \(typeName(type))"
        case .valueNotFound(let type, let c):
            return "\(path(c.codingPath)): expected \(typeName(type)), found null"
        case .dataCorrupted(let c):
            if c.codingPath.isEmpty { return "body is not valid JSON: \(c.underlyingError.map { "\($0)" } ?? c.debugDescription)" }
            return "\(path(c.codingPath)): \(c.debugDescription)"
        @unknown default:
            return "body: \(e)"
        }
    }

    private static func typeName(_ t: Any.Type) -> String {
        switch t {
        case is String.Type: return "a string"
        case is Int.Type, is Int64.Type: return "an integer"
        case is Bool.Type: return "a boolean"
        case is [Any].Type: return "an array"
        default:
            let n = "\(t)"
            return n.hasPrefix("Array") ? "an array" : n.hasPrefix("Dictionary") ? "an object" : "a \(n)"
        }
    }

    /// `{"error": {"code", "message"}}`, as every error answer's body.
    var document: [UInt8] {
        struct Body: Encodable {
            struct Inner: Encodable { var code: String; var message: String }
            var error: Inner
        }
        return (try? TidemarkJSON.document(Body(error: .init(code: code, message: message)))) ?? Array("{\"error\":{}}\n".utf8)
    }

    /// The headers of the answer: its content type, and for 401 the challenges.
    var headers: HTTPFields {
        var headers: HTTPFields = [.contentType: "application/json"]
        if status == .unauthorized {
            // Both schemes, so that HTTP clients that wait for a challenge before they send
            // credentials (libcurl under zypper, with user:TOKEN in the baseurl) send them.
            headers[values: .wwwAuthenticate] = ["Bearer realm=\"tidemark\"", "Basic realm=\"tidemark\", charset=\"UTF-8\""]
        }
        return headers
    }

    func response() -> Response {
        Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: document)))
    }
}
