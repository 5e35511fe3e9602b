/// What commands accept to name a state: `HOST`, `HOST@TIME`, `state:ID-PREFIX`, `file:PATH`.
public enum Ref: Sendable, Hashable, CustomStringConvertible {
    case host(String)
    case hostAt(String, TimeSpec)
    case state(prefix: String)
    case file(path: String)

    public static func parse(_ text: String) throws(TidemarkError) -> Ref {
        if text.hasPrefix("state:") {
            let prefix = String(text.dropFirst(6)).lowercased()
            guard prefix.count >= 4, prefix.allSatisfy({ $0.isHexDigit }) else {
                throw TidemarkError(.invalidArgument, "'\(text)': a state ref needs at least 4 hex digits of the state id (state:3fa2b1c4)")
            }
            return .state(prefix: prefix)
        }
        if text.hasPrefix("file:") {
            let path = String(text.dropFirst(5))
            guard !path.isEmpty else { throw TidemarkError(.invalidArgument, "'\(text)': file: needs a path") }
            return .file(path: path)
        }
        if let at = text.firstIndex(of: "@") {
            let host = String(text[..<at]), time = String(text[text.index(after: at)...])
            guard !host.isEmpty else { throw TidemarkError(.invalidArgument, "'\(text)': missing host before '@'") }
            return .hostAt(host, try TimeSpec.parse(time))
        }
        guard !text.isEmpty else { throw TidemarkError(.invalidArgument, "empty ref: use HOST, HOST@TIME, state:ID or file:PATH") }
        return .host(text)
    }

    public var description: String {
        switch self {
        case .host(let h): return h
        case .hostAt(let h, let t):
            switch t {
            case .absolute(let ts): return "\(h)@\(ts.iso8601)"
            case .ago(let s): return "\(h)@-\(s)s"
            case .now: return "\(h)@now"
            }
        case .state(let p): return "state:\(p)"
        case .file(let p): return "file:\(p)"
        }
    }
}
