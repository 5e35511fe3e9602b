import Foundation
import TidemarkCore
import Yams

/// The rollout policy file (YAML) → `RolloutPolicy`. Strict, because a typo must never drop a
/// check silently: unknown keys are errors, and every error names `FILE:LINE: FIELD: what`.
public enum PolicyFile {
    public static func load(path: String) throws(TidemarkError) -> RolloutPolicy {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw TidemarkError(.unreadable, "cannot read the policy file \(path)")
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws(TidemarkError) -> RolloutPolicy {
        let root: Node
        do {
            guard let n = try Yams.compose(yaml: text) else { throw TidemarkError(.invalidInput, "\(file): empty policy (it needs at least `waves:`)") }
            root = n
        } catch let e as TidemarkError {
            throw e
        } catch let e as YamlError {
            throw TidemarkError(.invalidInput, "\(file): not YAML: \(Self.describe(e))")
        } catch {
            throw TidemarkError(.invalidInput, "\(file): not YAML: \(error)")
        }
        var reader = Reader(file: file)
        return try reader.policy(root)
    }

    static func describe(_ e: YamlError) -> String {
        switch e {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return "line \(mark.line): \(problem)"
        default:
            return "\(e)"
        }
    }

    /// A complete policy with every field, as the README shows it.
    public static let example = """
        # Checks that must all pass (or be waived with `tidemark waive`) before the first host.
        required:
          - name: openqa-in-openqa          # what `waive` and the log call it
            openqa:
              url: https://openqa.example.org
              group: 24                     # job group id
              build: latest                 # or a build name
              passing: [passed, softfailed]
            deadline: 6h                    # not passed by then: the rollout fails
          - name: repo-published
            command: "curl -fsS https://obs.example.org/published/devel:openQA | grep -q succeeded"
            timeout: 2m
          - name: monitoring-quiet
            http:
              url: http://prometheus.example.org:9090/api/v1/query?query=ALERTS
              status: 200
              json-path: $.status
              expect: [success]
        waves:
          canary: [worker1, worker2]        # or a count: `canary: 2`
          percentages: [25, 50, 100]        # cumulative share of the hosts after each later wave
        approval: none                      # none | first-wave | every-wave
        soak: 30m                           # after each wave, before its health is judged
        health:
          openqa:                           # jobs on the wave's hosts vs. hosts not updated yet
            url: https://openqa.example.org
            failing: [incomplete, failed]
            reason: "isotovideo can not be started"
          commands:                         # run by each host's agent; exit 0 is healthy
            - name: worker-health
              command: "systemctl is-active openqa-worker@1"
              timeout: 1m
          max-failures: 0                   # more failures than this in a wave: unhealthy
          significance: 0.05                # Fisher's exact test, one-sided
          min-results: 1
          deadline: 2h                      # health still pending by then: the rollout fails
        on-failure: rollback                # rollback (from the archive) | halt
        apply-timeout: 1h
        """

    struct Reader {
        let file: String
        var names: [String: Int] = [:]

        func fail(_ node: Node?, _ field: String, _ what: String) -> TidemarkError {
            TidemarkError(.invalidInput, "\(file):\(node?.mark?.line ?? 1): \(field): \(what)")
        }

        /// The mapping's entries by key, refusing keys not in `allowed` and repeated keys.
        func mapping(_ node: Node, _ field: String, allowed: [String]) throws(TidemarkError) -> [String: Node] {
            guard let m = node.mapping else { throw fail(node, field, "expected a mapping (key: value lines)") }
            var out: [String: Node] = [:]
            for (k, v) in m {
                guard let key = k.string else { throw fail(k, field, "keys must be text") }
                let path = field.isEmpty ? key : "\(field).\(key)"
                guard allowed.contains(key) else { throw fail(k, path, "unknown key (expected one of: \(allowed.joined(separator: ", ")))") }
                guard out[key] == nil else { throw fail(k, path, "given twice") }
                out[key] = v
            }
            return out
        }

        func string(_ node: Node, _ field: String) throws(TidemarkError) -> String {
            guard let s = node.scalar?.string, node.scalar?.tag.description != Tag.Name.null.rawValue, !s.isEmpty else { throw fail(node, field, "expected text") }
            return s
        }

        func int(_ node: Node, _ field: String, min: Int = 0) throws(TidemarkError) -> Int {
            guard let s = node.scalar?.string, let n = Int(s) else { throw fail(node, field, "expected an integer, got '\(node.scalar?.string ?? "a \(Self.kind(node))")'") }
            guard n >= min else { throw fail(node, field, "must be at least \(min), got \(n)") }
            return n
        }

        func double(_ node: Node, _ field: String) throws(TidemarkError) -> Double {
            guard let s = node.scalar?.string, let d = Double(s) else { throw fail(node, field, "expected a number, got '\(node.scalar?.string ?? "a \(Self.kind(node))")'") }
            return d
        }

        func duration(_ node: Node, _ field: String, allowZero: Bool = false) throws(TidemarkError) -> Int {
            guard let s = node.scalar?.string, let n = DurationText.parse(s) else {
                throw fail(node, field, "expected a duration such as 90, 30s, 5m, 6h, 1d or 1h30m, got '\(node.scalar?.string ?? "a \(Self.kind(node))")'")
            }
            guard allowZero || n > 0 else { throw fail(node, field, "must be longer than 0") }
            return n
        }

        func strings(_ node: Node, _ field: String) throws(TidemarkError) -> [String] {
            if node.sequence == nil, node.scalar != nil { return [try string(node, field)] }
            guard let seq = node.sequence else { throw fail(node, field, "expected a list") }
            var out: [String] = []
            for (i, n) in seq.enumerated() { out.append(try string(n, "\(field)[\(i)]")) }
            return out
        }

        func url(_ node: Node, _ field: String) throws(TidemarkError) -> String {
            let s = try string(node, field)
            guard let u = URL(string: s), let scheme = u.scheme, ["http", "https"].contains(scheme), u.host != nil else {
                throw fail(node, field, "expected an http(s) URL, got '\(s)'")
            }
            return s
        }

        func regex(_ node: Node, _ field: String) throws(TidemarkError) -> String {
            let s = try string(node, field)
            do { _ = try NSRegularExpression(pattern: s) } catch { throw fail(node, field, "not a regular expression: '\(s)'") }
            return s
        }

        mutating func name(_ node: Node, _ field: String) throws(TidemarkError) -> String {
            let s = try string(node, field)
            guard s.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0) }) else {
                throw fail(node, field, "'\(s)': use lower-case letters, digits, '.', '_' and '-'")
            }
            if let line = names[s] { throw fail(node, field, "'\(s)' is already the name of the check on line \(line)") }
            names[s] = node.mark?.line ?? 0
            return s
        }

        static func kind(_ node: Node) -> String {
            switch node {
            case .mapping: "mapping"
            case .sequence: "list"
            case .scalar: "value"
            case .alias: "alias"
            }
        }

        mutating func policy(_ root: Node) throws(TidemarkError) -> RolloutPolicy {
            let top = try mapping(root, "", allowed: ["required", "waves", "approval", "soak", "health", "on-failure", "apply-timeout"])
            var required: [CheckSpec] = []
            if let r = top["required"] {
                guard let seq = r.sequence else { throw fail(r, "required", "expected a list of checks") }
                for (i, c) in seq.enumerated() { required.append(try check(c, "required[\(i)]")) }
            }
            guard let w = top["waves"] else { throw fail(root, "waves", "missing (give canary: and percentages:)") }
            let waves = try self.waves(w)
            var policy = RolloutPolicy(required: required, waves: waves)
            if let a = top["approval"] {
                let s = try string(a, "approval")
                guard let v = RolloutPolicy.Approval(rawValue: s) else { throw fail(a, "approval", "'\(s)' is not one of none, first-wave, every-wave") }
                policy.approval = v
            }
            if let s = top["soak"] { policy.soak = try duration(s, "soak", allowZero: true) }
            if let h = top["health"] { policy.health = try health(h) }
            if let f = top["on-failure"] {
                let s = try string(f, "on-failure")
                guard let v = RolloutPolicy.OnFailure(rawValue: s) else { throw fail(f, "on-failure", "'\(s)' is not one of rollback, halt") }
                policy.onFailure = v
            }
            if let t = top["apply-timeout"] { policy.applyTimeout = try duration(t, "apply-timeout") }
            return policy
        }

        mutating func check(_ node: Node, _ field: String) throws(TidemarkError) -> CheckSpec {
            let m = try mapping(node, field, allowed: ["name", "openqa", "command", "http", "timeout", "deadline"])
            guard let n = m["name"] else { throw fail(node, "\(field).name", "missing") }
            let name = try self.name(n, "\(field).name")
            let kinds = ["openqa", "command", "http"].filter { m[$0] != nil }
            guard kinds.count == 1 else {
                throw fail(node, field, kinds.isEmpty ? "give one of openqa:, command:, http:" : "give only one of \(kinds.joined(separator: ", "))")
            }
            let timeout = try m["timeout"].map { n throws(TidemarkError) in try duration(n, "\(field).timeout") }
            let kind: CheckSpec.Kind
            switch kinds[0] {
            case "openqa":
                let f = "\(field).openqa"
                let o = try mapping(m["openqa"]!, f, allowed: ["url", "group", "build", "passing", "api-key", "api-secret"])
                guard let u = o["url"] else { throw fail(m["openqa"], "\(f).url", "missing") }
                guard let g = o["group"] else { throw fail(m["openqa"], "\(f).group", "missing (the job group id)") }
                let build = try o["build"].map { n throws(TidemarkError) in try string(n, "\(f).build") }
                var c = OpenQACheck(url: try url(u, "\(f).url"), group: Int64(try int(g, "\(f).group", min: 1)), build: build == "latest" ? nil : build)
                if let p = o["passing"] { c.passing = try strings(p, "\(f).passing") }
                c.apiKey = try o["api-key"].map { n throws(TidemarkError) in try string(n, "\(f).api-key") }
                c.apiSecret = try o["api-secret"].map { n throws(TidemarkError) in try string(n, "\(f).api-secret") }
                guard (c.apiKey == nil) == (c.apiSecret == nil) else { throw fail(m["openqa"], f, "give api-key and api-secret together") }
                kind = .openQA(c)
            case "command":
                kind = .command(CommandCheck(command: try string(m["command"]!, "\(field).command"), timeout: timeout ?? 300))
            default:
                let f = "\(field).http"
                let h = try mapping(m["http"]!, f, allowed: ["url", "status", "json-path", "expect", "pending", "timeout"])
                guard let u = h["url"] else { throw fail(m["http"], "\(f).url", "missing") }
                var c = HTTPCheck(url: try url(u, "\(f).url"), timeout: timeout ?? 30)
                if let s = h["status"] { c.status = try int(s, "\(f).status", min: 100) }
                if let p = h["json-path"] {
                    let path = try string(p, "\(f).json-path")
                    do { _ = try JSONPath(path) } catch let e { throw fail(p, "\(f).json-path", e.message) }
                    c.jsonPath = path
                    guard let e = h["expect"] else { throw fail(m["http"], "\(f).expect", "missing: json-path needs the accepted values") }
                    c.expect = try strings(e, "\(f).expect")
                } else if let e = h["expect"] {
                    throw fail(e, "\(f).expect", "needs json-path (the value to compare)")
                }
                if let p = h["pending"] { c.pending = try strings(p, "\(f).pending") }
                if let t = h["timeout"] { c.timeout = try duration(t, "\(f).timeout") }
                kind = .http(c)
            }
            var spec = CheckSpec(name: name, kind: kind)
            if let d = m["deadline"] { spec.deadline = try duration(d, "\(field).deadline") }
            return spec
        }

        func waves(_ node: Node) throws(TidemarkError) -> WaveSpec {
            let m = try mapping(node, "waves", allowed: ["canary", "percentages"])
            guard let c = m["canary"] else { throw fail(node, "waves.canary", "missing (host names, or a count)") }
            let canary: WaveSpec.Canary
            if c.sequence != nil {
                let hosts = try strings(c, "waves.canary")
                guard !hosts.isEmpty else { throw fail(c, "waves.canary", "name at least one host") }
                canary = .hosts(hosts)
            } else if let s = c.scalar?.string, Int(s) != nil {
                canary = .count(try int(c, "waves.canary", min: 1))
            } else {
                canary = .hosts([try string(c, "waves.canary")])
            }
            var percentages = [100]
            if let p = m["percentages"] {
                guard let seq = p.sequence else { throw fail(p, "waves.percentages", "expected a list such as [25, 50, 100]") }
                percentages = []
                for (i, n) in seq.enumerated() { percentages.append(try int(n, "waves.percentages[\(i)]", min: 1)) }
                guard percentages.last == 100, zip(percentages, percentages.dropFirst()).allSatisfy({ $0 < $1 }), percentages.allSatisfy({ $0 <= 100 }) else {
                    throw fail(p, "waves.percentages", "must increase and end at 100 (got \(percentages.map(String.init).joined(separator: ", ")))")
                }
            }
            return WaveSpec(canary: canary, percentages: percentages)
        }

        mutating func health(_ node: Node) throws(TidemarkError) -> HealthSpec {
            let m = try mapping(node, "health", allowed: ["openqa", "commands", "max-failures", "significance", "min-results", "deadline"])
            var h = HealthSpec()
            if let o = m["openqa"] {
                let f = "health.openqa"
                let q = try mapping(o, f, allowed: ["url", "failing", "reason", "api-key", "api-secret"])
                guard let u = q["url"] else { throw fail(o, "\(f).url", "missing") }
                if let line = names[OpenQAHealth.checkName] { throw fail(o, f, "'\(OpenQAHealth.checkName)' is already the name of the check on line \(line)") }
                names[OpenQAHealth.checkName] = o.mark?.line ?? 0
                var oh = OpenQAHealth(url: try url(u, "\(f).url"))
                if let x = q["failing"] { oh.failing = try strings(x, "\(f).failing") }
                if let r = q["reason"] { oh.reason = try regex(r, "\(f).reason") }
                oh.apiKey = try q["api-key"].map { n throws(TidemarkError) in try string(n, "\(f).api-key") }
                oh.apiSecret = try q["api-secret"].map { n throws(TidemarkError) in try string(n, "\(f).api-secret") }
                h.openQA = oh
            }
            if let c = m["commands"] {
                guard let seq = c.sequence else { throw fail(c, "health.commands", "expected a list of {name, command}") }
                for (i, n) in seq.enumerated() {
                    let f = "health.commands[\(i)]"
                    let e = try mapping(n, f, allowed: ["name", "command", "timeout"])
                    guard let nm = e["name"] else { throw fail(n, "\(f).name", "missing") }
                    guard let cmd = e["command"] else { throw fail(n, "\(f).command", "missing") }
                    var hc = HealthCommand(name: try name(nm, "\(f).name"), command: try string(cmd, "\(f).command"))
                    if let t = e["timeout"] { hc.timeout = try duration(t, "\(f).timeout") }
                    h.commands.append(hc)
                }
            }
            if let x = m["max-failures"] { h.rule.maxFailures = try int(x, "health.max-failures") }
            if let x = m["significance"] {
                let d = try double(x, "health.significance")
                guard d > 0, d < 1 else { throw fail(x, "health.significance", "must be between 0 and 1, got \(d)") }
                h.rule.significance = d
            }
            if let x = m["min-results"] { h.rule.minResults = try int(x, "health.min-results") }
            if let x = m["deadline"] { h.deadline = try duration(x, "health.deadline") }
            return h
        }
    }
}
