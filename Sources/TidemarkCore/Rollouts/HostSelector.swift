/// Which hosts a rollout (or any fleet-wide command) addresses: a name pattern (`worker*`,
/// `worker1?`, `openqa-worker14`) or a label the operator gave hosts (`role=worker`). Several
/// selectors add up (a host matching any is selected), as salt's compound targets do with `or`.
public enum HostSelector: Sendable, Hashable, Codable, CustomStringConvertible {
    case pattern(String)
    case label(key: String, value: String)

    public static func parse(_ text: String) throws(TidemarkError) -> HostSelector {
        guard !text.isEmpty else { throw TidemarkError(.invalidArgument, "--hosts: empty selector (give a name pattern such as 'worker*' or a label such as role=worker)") }
        if let eq = text.firstIndex(of: "=") {
            let key = String(text[..<eq]), value = String(text[text.index(after: eq)...])
            guard !key.isEmpty, !value.isEmpty, key.allSatisfy(HostLabel.isKeyCharacter) else {
                throw TidemarkError(.invalidArgument, "--hosts: '\(text)' is not a label selector KEY=VALUE (keys are letters, digits, '.', '_', '-', '/')")
            }
            return .label(key: key, value: value)
        }
        return .pattern(text)
    }

    public func matches(host: String, labels: [String: String]) -> Bool {
        switch self {
        case .pattern(let p): Self.glob(Array(p.utf8), Array(host.utf8))
        case .label(let k, let v): labels[k] == v
        }
    }

    /// The hosts any selector matches (all hosts when there is none), in the order given.
    public static func select(_ selectors: [HostSelector], hosts: [String], labels: [String: [String: String]]) -> [String] {
        guard !selectors.isEmpty else { return hosts }
        return hosts.filter { h in selectors.contains { $0.matches(host: h, labels: labels[h] ?? [:]) } }
    }

    public var description: String {
        switch self {
        case .pattern(let p): p
        case .label(let k, let v): "\(k)=\(v)"
        }
    }

    /// Shell-style `*`, `?` and `[abc]`/`[a-z]`/`[!a]` over bytes (host names are ASCII).
    static func glob(_ p: [UInt8], _ s: [UInt8]) -> Bool {
        var pi = 0, si = 0, starP = -1, starS = 0
        while si < s.count {
            if pi < p.count, p[pi] == UInt8(ascii: "*") {
                starP = pi; starS = si; pi += 1; continue
            }
            if pi < p.count, let (matched, next) = single(p, pi, s[si]), matched {
                pi = next; si += 1; continue
            }
            if starP >= 0 {
                pi = starP + 1; starS += 1; si = starS; continue
            }
            return false
        }
        while pi < p.count, p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }

    /// Whether pattern element at `i` matches byte `c`, and where the next element starts.
    private static func single(_ p: [UInt8], _ i: Int, _ c: UInt8) -> (Bool, Int)? {
        switch p[i] {
        case UInt8(ascii: "?"): return (true, i + 1)
        case UInt8(ascii: "["):
            var j = i + 1, negate = false, found = false
            if j < p.count, p[j] == UInt8(ascii: "!") || p[j] == UInt8(ascii: "^") { negate = true; j += 1 }
            let start = j
            while j < p.count, p[j] != UInt8(ascii: "]") || j == start {
                if j + 2 < p.count, p[j + 1] == UInt8(ascii: "-"), p[j + 2] != UInt8(ascii: "]") {
                    if p[j] <= c && c <= p[j + 2] { found = true }
                    j += 3
                } else {
                    if p[j] == c { found = true }
                    j += 1
                }
            }
            guard j < p.count else { return (p[i] == c, i + 1) }  // no closing ']': a literal '['
            return (found != negate, j + 1)
        default: return (p[i] == c, i + 1)
        }
    }
}

/// An operator's label on a host (`role=worker`, `rack=b4`): set with `tidemark label`.
public enum HostLabel {
    static func isKeyCharacter(_ c: Character) -> Bool {
        c.isASCII && (c.isLetter || c.isNumber || c == "." || c == "_" || c == "-" || c == "/")
    }

    /// Checks `KEY` (and `VALUE`, when setting) for `tidemark label HOST KEY=VALUE`.
    public static func validate(key: String, value: String?) throws(TidemarkError) {
        guard !key.isEmpty, key.count <= 63, key.allSatisfy(isKeyCharacter) else {
            throw TidemarkError(.invalidArgument, "label key '\(key.prefix(80))': use 1-63 letters, digits, '.', '_', '-', '/'")
        }
        if let value {
            guard !value.isEmpty, value.count <= 255, !value.contains(where: { $0.isNewline }) else {
                throw TidemarkError(.invalidArgument, "label \(key): the value must be 1-255 characters on one line")
            }
        }
    }
}
