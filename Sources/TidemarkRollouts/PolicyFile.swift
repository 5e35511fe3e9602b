import Foundation
import TidemarkCore
import Yams

/// A rollout policy as operators write it: YAML with kebab-case keys, read through Yams' node
/// API so that every error names the file, the line and the field (`policy.yaml:7:
/// required[1].openqa.group: expected an integer, got 'abc'`). Nothing is guessed or dropped:
/// an unknown key is an error (a typo must never silently remove a check), a required field
/// that is missing is an error, and a key given with an empty value (`health:` with everything
/// below commented out) counts as not given. See `example` for every setting.
public enum PolicyFile {
    /// Reads the policy at `path` (`-`: standard input).
    public static func load(path: String) throws(TidemarkError) -> RolloutPolicy {
        let data: Data
        let name = path == "-" ? "<stdin>" : path
        if path == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
                throw TidemarkError(.unreadable, "\(path): cannot read the policy file: \((error as NSError).localizedDescription)")
            }
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw TidemarkError(.invalidInput, "\(name): the policy file is not UTF-8 text")
        }
        return try parse(text, file: name)
    }

    /// Parses policy YAML; `file` is the name errors start with.
    public static func parse(_ text: String, file: String) throws(TidemarkError) -> RolloutPolicy {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            throw yamlError(error, file: file, text: text)
        }
        guard let root else {
            throw TidemarkError(.invalidInput, "\(file):1: the policy is empty; it needs at least 'waves' (the README's example policy shows every setting)")
        }
        var reader = Reader(file: file)
        return try reader.policy(root)
    }

    // MARK: the example

    /// A complete policy with every setting, commented (quoted by the README and printed by the
    /// CLI); `PolicyFileTests` parses it.
    public static let example: String = #"""
        # Tidemark rollout policy: what an update must prove before and while it reaches the fleet.
        # Keys are kebab-case; an unknown key is an error, so a typo never drops a check.
        # Durations: 90 (seconds), 30s, 5m, 6h, 1d, 1h30m.

        # Checks that must all pass (or be waived with `tidemark waive`) before the first host is
        # touched. Each has a unique name and exactly one of openqa, command, http. A check that
        # has not finished is pending: the rollout waits for it, up to its deadline (default 24h).
        required:
          - name: openqa-in-openqa
            openqa:                            # the latest jobs of one job group
              url: https://openqa.opensuse.org
              group: 24                        # job group id
              build: latest                    # a build name, or latest (the group's newest build)
              passing: [passed, softfailed]    # results that pass (default)
              # api-key: KEY                   # only if the instance needs them for reading
              # api-secret: SECRET
            deadline: 6h
          - name: repo-built
            command: "test -f /srv/repo/devel/repodata/repomd.xml"   # /bin/sh -c; exit 0 passes
            timeout: 5m                        # default 5m; a timeout fails
          - name: monitoring
            http:                              # no answer at all is pending, never passed
              url: http://127.0.0.1:9090/api/health
              status: 200                      # any other status fails (5xx too: it is an answer)
              json-path: $.status              # optional: $, .key, ['key'], [N]
              expect: [ok]                     # values that pass (needed with json-path)
              pending: [starting]              # values that mean "not yet"
              timeout: 30s                     # default 30s

        # Who gets the update when: canaries first, then cumulative shares of the fleet.
        waves:
          canary: [worker1, worker2]           # host names, or a count (`canary: 2`, spread over the fleet)
          percentages: [25, 50, 100]           # increasing, ending at 100 (default [100]: the rest at once)

        approval: first-wave                   # none | first-wave | every-wave (default none)
        soak: 30m                              # wait after each wave before judging it (default 5m; 0 allowed)

        # After the soak, are the wave's hosts failing more than the hosts not updated yet?
        health:
          openqa:                              # jobs that ran on the wave's hosts (check name: openqa-health)
            url: https://openqa.opensuse.org
            failing: [incomplete, failed]      # results that count as failures (default)
            reason: "isotovideo can not be started|backend died"   # optional regular expression
          commands:                            # run by each host's agent, with TIDEMARK_ROOT and TIDEMARK_HOST set
            - name: worker-health
              command: "systemctl is-active --quiet openqa-worker@1"
              timeout: 1m                      # default 5m
          max-failures: 0                      # fail at more failed results than this in a wave (default 0)
          significance: 0.05                   # Fisher's exact test, one-sided (default 0.05)
          min-results: 1                       # results a wave needs before it can pass (default 1)
          deadline: 2h                         # how long health may stay pending after the soak (default 1h)

        on-failure: rollback                   # rollback (every changed host back, from the archive) | halt
        apply-timeout: 1h                      # how long a wave's transactions may take (default 1h)
        """#

    // MARK: errors from Yams

    static func yamlError(_ error: any Error, file: String, text: String) -> TidemarkError {
        func at(_ line: Int, _ what: String) -> TidemarkError {
            TidemarkError(.invalidInput, "\(file):\(max(line, 1)): \(what)")
        }
        guard let y = error as? YamlError else { return at(1, "not valid YAML: \(error)") }
        switch y {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let ctx = context.map { " (\($0.text) at line \($0.mark.line))" } ?? ""
            return at(mark.line, "not valid YAML: \(problem)\(ctx)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return at(context.mark.line, "\(keys) given more than once in the same mapping (first here)")
        case .reader(let problem, let offset, _, _):
            let line = offset.map { o in text.utf8.prefix(o).filter { $0 == UInt8(ascii: "\n") }.count + 1 } ?? 1
            return at(line, "not readable as YAML: \(problem)")
        default:
            return at(1, "not valid YAML: \(y)")
        }
    }
}

// MARK: - reading the node tree

/// Walks the composed YAML, turning each field into its value or into an error naming file,
/// line and field path.
private struct Reader {
    let file: String
    /// Check names seen so far, with where: a name must be unique across required and health.
    var names: [String: (path: String, line: Int)] = [:]

    init(file: String) { self.file = file }

    func line(_ node: Node?) -> Int { node?.mark?.line ?? 1 }

    func fail(_ node: Node?, _ path: String, _ what: String) -> TidemarkError {
        TidemarkError(.invalidInput, "\(file):\(line(node)): \(path.isEmpty ? "" : path + ": ")\(what)")
    }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : path + "." + key }

    /// How a value looks in a message: `'abc'` for a scalar, "a mapping" / "a list" otherwise.
    static func show(_ node: Node) -> String {
        switch node {
        case .scalar(let s): "'" + (s.string.count > 60 ? String(s.string.prefix(57)) + "..." : s.string) + "'"
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    static func isNull(_ node: Node) -> Bool {
        guard case .scalar(let s) = node, s.style == .plain || s.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(s.string)
    }

    // MARK: mappings

    /// A mapping's entries, checked against the keys it may have.
    struct Fields {
        let node: Node
        let path: String
        var values: [String: (key: Node, value: Node)] = [:]

        /// The value of `key`, nil when absent or null.
        func value(_ key: String) -> Node? {
            guard let v = values[key]?.value, !Reader.isNull(v) else { return nil }
            return v
        }

        func keyNode(_ key: String) -> Node? { values[key]?.key }
        func has(_ key: String) -> Bool { value(key) != nil }
        func path(_ key: String) -> String { Reader.join(path, key) }
    }

    func fields(_ node: Node, _ path: String, allowed: [String], what: String) throws(TidemarkError) -> Fields {
        guard case .mapping(let mapping) = node else {
            throw fail(node, path, "expected \(what) (a mapping with \(allowed.joined(separator: ", "))), got \(Self.show(node))")
        }
        var f = Fields(node: node, path: path)
        for (k, v) in mapping {
            guard case .scalar(let s) = k else { throw fail(k, path, "keys must be plain words, got \(Self.show(k))") }
            let key = s.string
            guard allowed.contains(key) else {
                let hint = Self.closest(key, allowed).map { "did you mean '\($0)'? " } ?? ""
                throw fail(k, Self.join(path, key), "unknown key (\(hint)\(path.isEmpty ? "a policy" : path) has \(allowed.joined(separator: ", ")))")
            }
            f.values[key] = (k, v)
        }
        return f
    }

    func required(_ f: Fields, _ key: String) throws(TidemarkError) -> Node {
        guard let v = f.value(key) else {
            if let k = f.keyNode(key) { throw fail(k, f.path(key), "needs a value") }
            throw fail(f.node, f.path(key), "missing (required)")
        }
        return v
    }

    /// An allowed key within edit distance 2 of a misspelt one.
    static func closest(_ key: String, _ allowed: [String]) -> String? {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var row = Array(0...b.count)
            for (i, ca) in a.enumerated() {
                var prev = row[0]
                row[0] = i + 1
                for (j, cb) in b.enumerated() {
                    let cur = row[j + 1]
                    row[j + 1] = min(row[j + 1] + 1, row[j] + 1, prev + (ca == cb ? 0 : 1))
                    prev = cur
                }
            }
            return row[b.count]
        }
        let k = Array(key.lowercased())
        return allowed.map { ($0, distance(k, Array($0))) }.filter { $0.1 <= 2 }.min { $0.1 < $1.1 }?.0
    }

    // MARK: scalars

    func string(_ node: Node, _ path: String) throws(TidemarkError) -> String {
        guard case .scalar(let s) = node else { throw fail(node, path, "expected a string, got \(Self.show(node))") }
        guard !s.string.trimmed.isEmpty else { throw fail(node, path, "must not be empty") }
        return s.string
    }

    func integer(_ node: Node, _ path: String, _ range: ClosedRange<Int>? = nil) throws(TidemarkError) -> Int {
        guard case .scalar(let s) = node, let n = Int(s.string) else { throw fail(node, path, "expected an integer, got \(Self.show(node))") }
        if let range, !range.contains(n) {
            let bounds = range.upperBound == Int.max ? "at least \(range.lowerBound)" : "from \(range.lowerBound) to \(range.upperBound)"
            throw fail(node, path, "must be \(bounds), got \(n)")
        }
        return n
    }

    func number(_ node: Node, _ path: String) throws(TidemarkError) -> Double {
        guard case .scalar(let s) = node, let d = Double(s.string), d.isFinite else { throw fail(node, path, "expected a number, got \(Self.show(node))") }
        return d
    }

    func duration(_ node: Node, _ path: String, allowZero: Bool = false) throws(TidemarkError) -> Int {
        guard case .scalar(let s) = node, let d = DurationText.parse(s.string) else {
            throw fail(node, path, "expected a duration such as 90 (seconds), 30s, 5m, 6h, 1d or 1h30m, got \(Self.show(node))")
        }
        guard d > 0 || allowZero else { throw fail(node, path, "must be longer than 0") }
        return d
    }

    func httpURL(_ node: Node, _ path: String) throws(TidemarkError) -> String {
        let text = try string(node, path)
        guard let u = URLComponents(string: text), let scheme = u.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = u.host, !host.isEmpty
        else { throw fail(node, path, "expected an http:// or https:// URL, got \(Self.show(node))") }
        return text
    }

    func sequence(_ node: Node, _ path: String, example: String) throws(TidemarkError) -> [Node] {
        guard case .sequence(let seq) = node else { throw fail(node, path, "expected a list such as \(example), got \(Self.show(node))") }
        return Array(seq)
    }

    func strings(_ node: Node, _ path: String, example: String) throws(TidemarkError) -> [String] {
        let items = try sequence(node, path, example: example)
        guard !items.isEmpty else { throw fail(node, path, "must not be empty (for example \(example))") }
        var out: [String] = []
        for (i, item) in items.enumerated() { out.append(try string(item, "\(path)[\(i)]")) }
        return out
    }

    /// A list of JSON scalars as text (what `HTTPCheck.expect`/`pending` compare with): strings
    /// and numbers as written, YAML's true/false/null spelt as JSON spells them.
    func scalars(_ node: Node, _ path: String) throws(TidemarkError) -> [String] {
        let items = try sequence(node, path, example: "[ok]")
        guard !items.isEmpty else { throw fail(node, path, "must not be empty (for example [ok])") }
        var out: [String] = []
        for (i, item) in items.enumerated() {
            guard case .scalar(let s) = item else {
                throw fail(item, "\(path)[\(i)]", "expected a string, number or boolean, got \(Self.show(item))")
            }
            var text = s.string
            if s.style == .plain || s.style == .any {
                if ["true", "True", "TRUE"].contains(text) { text = "true" }
                if ["false", "False", "FALSE"].contains(text) { text = "false" }
                if ["~", "null", "Null", "NULL"].contains(text) { text = "null" }
            }
            out.append(text)
        }
        return out
    }

    func choice<T: RawRepresentable & CaseIterable>(_ node: Node, _ path: String, _: T.Type) throws(TidemarkError) -> T where T.RawValue == String {
        let names = T.allCases.map(\.rawValue)
        guard case .scalar(let s) = node, let v = T(rawValue: s.string) else {
            throw fail(node, path, "expected one of \(names.joined(separator: ", ")), got \(Self.show(node))")
        }
        return v
    }

    /// Records a check name, refusing bad and repeated ones.
    mutating func claim(_ name: String, _ node: Node?, _ path: String) throws(TidemarkError) {
        guard !name.isEmpty, name.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 46 || $0 == 95 || $0 == 45 }) else {
            throw fail(node, path, "'\(name)' is not a valid check name (use a-z, 0-9, '.', '_', '-')")
        }
        if let other = names[name] {
            throw fail(node, path, "duplicate check name '\(name)' (also \(other.path) at line \(other.line)); names must be unique")
        }
        names[name] = (path, line(node))
    }

    // MARK: the policy

    mutating func policy(_ root: Node) throws(TidemarkError) -> RolloutPolicy {
        let top = try fields(root, "", allowed: ["required", "waves", "approval", "soak", "health", "on-failure", "apply-timeout"], what: "a policy")
        var required: [CheckSpec] = []
        if let node = top.value("required") {
            for (i, entry) in try sequence(node, "required", example: "[- name: …]").enumerated() {
                required.append(try check(entry, "required[\(i)]"))
            }
        }
        let waves = try self.waves(try self.required(top, "waves"))
        let approval = try top.value("approval").map { n throws(TidemarkError) in try choice(n, "approval", RolloutPolicy.Approval.self) } ?? .none
        let soak = try top.value("soak").map { n throws(TidemarkError) in try duration(n, "soak", allowZero: true) } ?? 300
        let health = try top.value("health").map { n throws(TidemarkError) in try self.health(n) } ?? HealthSpec()
        let onFailure = try top.value("on-failure").map { n throws(TidemarkError) in try choice(n, "on-failure", RolloutPolicy.OnFailure.self) } ?? .rollback
        let applyTimeout = try top.value("apply-timeout").map { n throws(TidemarkError) in try duration(n, "apply-timeout") } ?? 3600
        return RolloutPolicy(required: required, waves: waves, approval: approval, soak: soak, health: health, onFailure: onFailure, applyTimeout: applyTimeout)
    }

    mutating func check(_ node: Node, _ path: String) throws(TidemarkError) -> CheckSpec {
        let kinds = ["openqa", "command", "http"]
        let f = try fields(node, path, allowed: ["name"] + kinds + ["deadline", "timeout"], what: "a check")
        let nameNode = try required(f, "name")
        let name = try string(nameNode, f.path("name"))
        try claim(name, nameNode, f.path("name"))
        let given = kinds.filter { f.has($0) }
        guard given.count == 1, let kindKey = given.first else {
            if given.isEmpty { throw fail(node, path, "check '\(name)' needs one of openqa, command, http") }
            throw fail(f.keyNode(given[1]), path, "check '\(name)' has both \(given[0]) and \(given[1]); give exactly one of openqa, command, http")
        }
        let deadline = try f.value("deadline").map { n throws(TidemarkError) in try duration(n, f.path("deadline")) } ?? 86_400
        let timeout = try f.value("timeout").map { n throws(TidemarkError) in try duration(n, f.path("timeout")) }
        let kind: CheckSpec.Kind
        switch kindKey {
        case "openqa":
            if timeout != nil {
                throw fail(f.keyNode("timeout"), f.path("timeout"), "an openqa check has no timeout; it stays pending up to its deadline")
            }
            kind = .openQA(try openQACheck(f.value("openqa")!, f.path("openqa")))
        case "command":
            kind = .command(CommandCheck(command: try string(f.value("command")!, f.path("command")), timeout: timeout ?? 300))
        default:
            kind = .http(try httpCheck(f.value("http")!, f.path("http"), outerTimeout: timeout, outerTimeoutKey: f.keyNode("timeout")))
        }
        return CheckSpec(name: name, kind: kind, deadline: deadline)
    }

    /// `api-key` and `api-secret`, both or neither.
    func credentials(_ f: Fields) throws(TidemarkError) -> (String?, String?) {
        let key = try f.value("api-key").map { n throws(TidemarkError) in try string(n, f.path("api-key")) }
        let secret = try f.value("api-secret").map { n throws(TidemarkError) in try string(n, f.path("api-secret")) }
        if key != nil, secret == nil { throw fail(f.keyNode("api-key"), f.path("api-secret"), "missing; api-key needs api-secret") }
        if key == nil, secret != nil { throw fail(f.keyNode("api-secret"), f.path("api-key"), "missing; api-secret needs api-key") }
        return (key, secret)
    }

    func openQACheck(_ node: Node, _ path: String) throws(TidemarkError) -> OpenQACheck {
        let f = try fields(node, path, allowed: ["url", "group", "build", "passing", "api-key", "api-secret"], what: "an openQA check")
        let url = try httpURL(try required(f, "url"), f.path("url"))
        let group = try integer(try required(f, "group"), f.path("group"), 1...Int.max)
        var build = try f.value("build").map { n throws(TidemarkError) in try string(n, f.path("build")) }
        if build == "latest" { build = nil }
        let passing = try f.value("passing").map { n throws(TidemarkError) in try strings(n, f.path("passing"), example: "[passed, softfailed]") } ?? ["passed", "softfailed"]
        let (key, secret) = try credentials(f)
        return OpenQACheck(url: url, group: Int64(group), build: build, passing: passing, apiKey: key, apiSecret: secret)
    }

    func httpCheck(_ node: Node, _ path: String, outerTimeout: Int?, outerTimeoutKey: Node?) throws(TidemarkError) -> HTTPCheck {
        let f = try fields(node, path, allowed: ["url", "status", "json-path", "expect", "pending", "timeout"], what: "an HTTP check")
        let url = try httpURL(try required(f, "url"), f.path("url"))
        let status = try f.value("status").map { n throws(TidemarkError) in try integer(n, f.path("status"), 100...599) } ?? 200
        var jsonPath: String? = nil
        if let n = f.value("json-path") {
            let text = try string(n, f.path("json-path"))
            do { _ = try JSONPath(text) } catch { throw fail(n, f.path("json-path"), error.message) }
            jsonPath = text
        }
        let expect = try f.value("expect").map { n throws(TidemarkError) in try scalars(n, f.path("expect")) }
        let pending = try f.value("pending").map { n throws(TidemarkError) in try scalars(n, f.path("pending")) } ?? []
        if jsonPath == nil {
            for key in ["expect", "pending"] where f.has(key) {
                throw fail(f.keyNode(key), f.path(key), "needs json-path (it lists values of the field json-path selects)")
            }
        } else if expect == nil {
            throw fail(f.keyNode("json-path"), f.path("expect"), "missing; json-path needs expect (the values that pass, such as [ok])")
        }
        if let both = expect?.first(where: pending.contains) {
            throw fail(f.keyNode("pending"), f.path("pending"), "'\(both)' is in both expect and pending")
        }
        let inner = try f.value("timeout").map { n throws(TidemarkError) in try duration(n, f.path("timeout")) }
        if inner != nil, outerTimeout != nil {
            throw fail(outerTimeoutKey, Reader.join(String(path.dropLast(".http".count)), "timeout"), "given twice (here and as \(f.path("timeout"))); give it once")
        }
        return HTTPCheck(url: url, status: status, jsonPath: jsonPath, expect: expect ?? [], pending: pending, timeout: inner ?? outerTimeout ?? 30)
    }

    func waves(_ node: Node) throws(TidemarkError) -> WaveSpec {
        let f = try fields(node, "waves", allowed: ["canary", "percentages"], what: "the waves")
        let canaryNode = try required(f, "canary")
        let canary: WaveSpec.Canary
        switch canaryNode {
        case .scalar(let s):
            guard let n = Int(s.string) else {
                throw fail(canaryNode, "waves.canary", "expected a count or a list of host names such as [worker1], got \(Self.show(canaryNode))")
            }
            guard n >= 1 else { throw fail(canaryNode, "waves.canary", "a canary count must be at least 1, got \(n)") }
            canary = .count(n)
        case .sequence(let seq):
            guard !seq.isEmpty else { throw fail(canaryNode, "waves.canary", "name at least one host, or give a count") }
            var hosts: [String] = []
            for (i, item) in seq.enumerated() {
                let h = try string(item, "waves.canary[\(i)]")
                guard !hosts.contains(h) else { throw fail(item, "waves.canary[\(i)]", "'\(h)' is named twice") }
                hosts.append(h)
            }
            canary = .hosts(hosts)
        default:
            throw fail(canaryNode, "waves.canary", "expected a count or a list of host names, got \(Self.show(canaryNode))")
        }
        // Without percentages: the canaries, then everyone else in one wave.
        guard let pNode = f.value("percentages") else {
            if let k = f.keyNode("percentages") { throw fail(k, f.path("percentages"), "needs a value") }
            return WaveSpec(canary: canary, percentages: [100])
        }
        let items = try sequence(pNode, "waves.percentages", example: "[25, 50, 100]")
        guard !items.isEmpty else { throw fail(pNode, "waves.percentages", "must not be empty; end with 100, for example [25, 50, 100]") }
        var percentages: [Int] = []
        for (i, item) in items.enumerated() {
            let p = try integer(item, "waves.percentages[\(i)]", 1...100)
            if let last = percentages.last, p <= last {
                throw fail(item, "waves.percentages[\(i)]", "\(p) does not increase on \(last) before it (shares are cumulative)")
            }
            percentages.append(p)
        }
        guard percentages.last == 100 else {
            throw fail(items.last, "waves.percentages", "must end at 100 (the whole fleet), ends at \(percentages.last!)")
        }
        return WaveSpec(canary: canary, percentages: percentages)
    }

    mutating func health(_ node: Node) throws(TidemarkError) -> HealthSpec {
        let f = try fields(node, "health", allowed: ["openqa", "commands", "max-failures", "significance", "min-results", "deadline"], what: "the health analysis")
        var openQA: OpenQAHealth? = nil
        if let n = f.value("openqa") {
            let o = try fields(n, "health.openqa", allowed: ["url", "failing", "reason", "api-key", "api-secret"], what: "openQA health")
            try claim(OpenQAHealth.checkName, f.keyNode("openqa"), "health.openqa")
            let url = try httpURL(try required(o, "url"), o.path("url"))
            let failing = try o.value("failing").map { n throws(TidemarkError) in try strings(n, o.path("failing"), example: "[incomplete, failed]") } ?? ["incomplete", "failed"]
            var reason: String? = nil
            if let r = o.value("reason") {
                let pattern = try string(r, o.path("reason"))
                do { _ = try NSRegularExpression(pattern: pattern) } catch {
                    throw fail(r, o.path("reason"), "not a valid regular expression: \(Self.show(r))")
                }
                reason = pattern
            }
            let (key, secret) = try credentials(o)
            openQA = OpenQAHealth(url: url, failing: failing, reason: reason, apiKey: key, apiSecret: secret)
        }
        var commands: [HealthCommand] = []
        if let n = f.value("commands") {
            for (i, entry) in try sequence(n, "health.commands", example: "[- name: …]").enumerated() {
                let path = "health.commands[\(i)]"
                let c = try fields(entry, path, allowed: ["name", "command", "timeout"], what: "a health command")
                let nameNode = try required(c, "name")
                let name = try string(nameNode, c.path("name"))
                try claim(name, nameNode, c.path("name"))
                let command = try string(try required(c, "command"), c.path("command"))
                let timeout = try c.value("timeout").map { n throws(TidemarkError) in try duration(n, c.path("timeout")) } ?? 300
                commands.append(HealthCommand(name: name, command: command, timeout: timeout))
            }
        }
        let maxFailures = try f.value("max-failures").map { n throws(TidemarkError) in try integer(n, "health.max-failures", 0...Int.max) } ?? 0
        var significance = 0.05
        if let n = f.value("significance") {
            significance = try number(n, "health.significance")
            guard significance > 0, significance < 1 else {
                throw fail(n, "health.significance", "must be between 0 and 1 (exclusive), such as 0.05; got \(Self.show(n))")
            }
        }
        let minResults = try f.value("min-results").map { n throws(TidemarkError) in try integer(n, "health.min-results", 0...Int.max) } ?? 1
        let deadline = try f.value("deadline").map { n throws(TidemarkError) in try duration(n, "health.deadline") } ?? 3600
        return HealthSpec(
            openQA: openQA, commands: commands, rule: HealthComparison.Rule(maxFailures: maxFailures, significance: significance, minResults: minResults),
            deadline: deadline)
    }
}
