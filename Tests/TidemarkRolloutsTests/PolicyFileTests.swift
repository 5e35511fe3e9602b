import Foundation
import Testing
import TidemarkCore
import TidemarkRollouts
import TidemarkTestSupport

/// Policy YAML from numbered lines, so that each test's expected line numbers can be read off.
private func yaml(_ lines: String...) -> String { lines.joined(separator: "\n") + "\n" }

private func parse(_ text: String) throws(TidemarkError) -> RolloutPolicy {
    try PolicyFile.parse(text, file: "policy.yaml")
}

/// The error parsing `text` gives (nil when it parses).
private func failure(_ text: String) -> TidemarkError? {
    caughtError { _ = try parse(text) }
}

private let minimalWaves = ["waves:", "  canary: 1", "  percentages: [100]"]

/// `minimalWaves` after `lines`.
private func withWaves(_ lines: String...) -> String {
    (lines + minimalWaves).joined(separator: "\n") + "\n"
}

@Suite struct PolicyFileTests {
    @Test func theExampleParsesToWhatItSays() throws {
        let p = try PolicyFile.parse(PolicyFile.example, file: "example.yaml")
        #expect(p.checkNames == ["openqa-in-openqa", "repo-built", "monitoring", "openqa-health", "worker-health"])
        #expect(p.required[0] == CheckSpec(
            name: "openqa-in-openqa",
            kind: .openQA(OpenQACheck(url: "https://openqa.opensuse.org", group: 24, build: nil, passing: ["passed", "softfailed"])),
            deadline: 6 * 3600))
        #expect(p.required[1] == CheckSpec(
            name: "repo-built", kind: .command(CommandCheck(command: "test -f /srv/repo/devel/repodata/repomd.xml", timeout: 300)), deadline: 86_400))
        #expect(p.required[2] == CheckSpec(
            name: "monitoring",
            kind: .http(HTTPCheck(url: "http://127.0.0.1:9090/api/health", status: 200, jsonPath: "$.status", expect: ["ok"], pending: ["starting"], timeout: 30)),
            deadline: 86_400))
        #expect(p.waves == WaveSpec(canary: .hosts(["worker1", "worker2"]), percentages: [25, 50, 100]))
        #expect(p.approval == .firstWave)
        #expect(p.soak == 30 * 60)
        #expect(p.health.openQA == OpenQAHealth(url: "https://openqa.opensuse.org", failing: ["incomplete", "failed"], reason: "isotovideo can not be started|backend died"))
        #expect(p.health.commands == [HealthCommand(name: "worker-health", command: "systemctl is-active --quiet openqa-worker@1", timeout: 60)])
        #expect(p.health.rule == HealthComparison.Rule(maxFailures: 0, significance: 0.05, minResults: 1))
        #expect(p.health.deadline == 2 * 3600)
        #expect(p.onFailure == .rollback)
        #expect(p.applyTimeout == 3600)
    }

    @Test func theExampleUsesEveryTopLevelKey() {
        for key in ["required:", "waves:", "approval:", "soak:", "health:", "on-failure:", "apply-timeout:", "openqa:", "command:", "http:",
                    "json-path:", "pending:", "max-failures:", "significance:", "min-results:", "deadline:", "api-key:"] {
            #expect(PolicyFile.example.contains(key), "\(key)")
        }
    }

    @Test func defaultsFillWhatIsNotGiven() throws {
        let p = try parse(yaml(
            "required:",
            "  - name: o",
            "    openqa:",
            "      url: http://openqa.example",
            "      group: 7",
            "  - name: c",
            "    command: 'true'",
            "  - name: h",
            "    http:",
            "      url: https://status.example/health",
            "waves:",
            "  canary: 2",
            "  percentages: [50, 100]"))
        #expect(p == RolloutPolicy(
            required: [
                CheckSpec(name: "o", kind: .openQA(OpenQACheck(url: "http://openqa.example", group: 7))),
                CheckSpec(name: "c", kind: .command(CommandCheck(command: "true"))),
                CheckSpec(name: "h", kind: .http(HTTPCheck(url: "https://status.example/health"))),
            ],
            waves: WaveSpec(canary: .count(2), percentages: [50, 100])))
        #expect(p.approval == .none && p.soak == 300 && p.onFailure == .rollback && p.applyTimeout == 3600)
        #expect(p.health == HealthSpec())
        #expect(p.health.rule == HealthComparison.Rule(maxFailures: 0, significance: 0.05, minResults: 1) && p.health.deadline == 3600)
        guard case .openQA(let o) = p.required[0].kind else { Issue.record("not openQA"); return }
        #expect(o.build == nil && o.passing == ["passed", "softfailed"] && o.apiKey == nil)
        guard case .http(let h) = p.required[2].kind else { Issue.record("not http"); return }
        #expect(h.status == 200 && h.timeout == 30 && h.jsonPath == nil && h.expect.isEmpty)
    }

    @Test func onlyWavesIsNeededAndEmptyValuesCountAsNotGiven() throws {
        let p = try parse(withWaves("required:", "health:", "soak:"))
        #expect(p == RolloutPolicy(required: [], waves: WaveSpec(canary: .count(1), percentages: [100])))
    }

    @Test func everySettingIsRead() throws {
        let p = try parse(yaml(
            "required:",
            "  - name: gate.1",
            "    openqa: {url: 'http://o.example', group: 3, build: 20250120, passing: [passed], api-key: K, api-secret: S}",
            "    deadline: 1d",
            "  - name: web_2",
            "    timeout: 45s",
            "    http: {url: 'http://h.example/x', status: 204, json-path: \"$['a.b'][0]\", expect: [true, 3, \"x y\", 1.50, null], pending: [running]}",
            "  - name: cmd",
            "    command: exit 0",
            "    timeout: 90",
            "waves: {canary: [a, b, c], percentages: [10, 100]}",
            "approval: every-wave",
            "soak: 0",
            "health:",
            "  openqa: {url: 'https://o.example', failing: [incomplete], reason: '^setup failure', api-key: K, api-secret: S}",
            "  commands: [{name: probe, command: 'curl -fs localhost'}]",
            "  max-failures: 2",
            "  significance: 0.01",
            "  min-results: 0",
            "  deadline: 1h30m",
            "on-failure: halt",
            "apply-timeout: 2h"))
        #expect(p.required[0].kind == .openQA(OpenQACheck(url: "http://o.example", group: 3, build: "20250120", passing: ["passed"], apiKey: "K", apiSecret: "S")))
        #expect(p.required[0].deadline == 86_400)
        #expect(p.required[1].kind == .http(HTTPCheck(
            url: "http://h.example/x", status: 204, jsonPath: "$['a.b'][0]", expect: ["true", "3", "x y", "1.50", "null"], pending: ["running"], timeout: 45)))
        #expect(p.required[2].kind == .command(CommandCheck(command: "exit 0", timeout: 90)))
        #expect(p.waves == WaveSpec(canary: .hosts(["a", "b", "c"]), percentages: [10, 100]))
        #expect(p.approval == .everyWave && p.soak == 0 && p.onFailure == .halt && p.applyTimeout == 7200)
        #expect(p.health == HealthSpec(
            openQA: OpenQAHealth(url: "https://o.example", failing: ["incomplete"], reason: "^setup failure", apiKey: "K", apiSecret: "S"),
            commands: [HealthCommand(name: "probe", command: "curl -fs localhost", timeout: 300)],
            rule: HealthComparison.Rule(maxFailures: 2, significance: 0.01, minResults: 0), deadline: 5400))
    }

    @Test(arguments: [("90", 90), ("30s", 30), ("5m", 300), ("6h", 21_600), ("1d", 86_400), ("1h30m", 5400), ("0", 0), ("0s", 0)])
    func durations(_ text: String, _ seconds: Int) throws {
        #expect(try parse(withWaves("soak: \(text)")).soak == seconds)
    }

    // MARK: errors, each with its file, line and field

    @Test func anUnknownKeyIsAnErrorNamingIt() {
        let e = failure(yaml(
            "required:",
            "  - name: gate",
            "    opneqa:",
            "      url: http://o.example",
            "      group: 1",
            "waves: {canary: 1, percentages: [100]}"))
        #expect(e?.code == .invalidInput)
        #expect(e?.message.hasPrefix("policy.yaml:3: required[0].opneqa: unknown key (did you mean 'openqa'?") == true, "\(e?.message ?? "")")
        #expect(failure(withWaves("aproval: none"))?.message.hasPrefix("policy.yaml:1: aproval: unknown key (did you mean 'approval'?") == true)
        #expect(failure(withWaves("health:", "  max-failure: 1"))?.message.hasPrefix("policy.yaml:2: health.max-failure: unknown key") == true)
        #expect(failure(withWaves("required:", "  - name: h", "    http: {url: 'http://x.example', jsonpath: $.a}"))?.message
            .hasPrefix("policy.yaml:3: required[0].http.jsonpath: unknown key (did you mean 'json-path'?") == true)
    }

    @Test func wavesAreRequired() {
        let e = failure(yaml("# a policy without waves", "approval: none", "soak: 5m"))
        #expect(e?.message == "policy.yaml:2: waves: missing (required)")
        #expect((try? PolicyFile.parse(yaml("waves:", "  canary: 1"), file: "policy.yaml"))?.waves == WaveSpec(canary: .count(1), percentages: [100]), "percentages default to [100]")
        #expect(failure(yaml("waves:", "  percentages: [100]"))?.message == "policy.yaml:2: waves.canary: missing (required)")
    }

    @Test func aCheckHasExactlyOneKind() {
        let two = failure(withWaves(
            "required:",
            "  - name: repo-built",
            "    command: 'true'",
            "    http:",
            "      url: http://x.example"))
        #expect(two?.message == "policy.yaml:4: required[0]: check 'repo-built' has both command and http; give exactly one of openqa, command, http")
        let none = failure(withWaves("required:", "  - name: a", "    command: 'true'", "  - name: nothing", "    deadline: 1h"))
        #expect(none?.message == "policy.yaml:4: required[1]: check 'nothing' needs one of openqa, command, http")
        #expect(failure(withWaves("required:", "  - command: 'true'"))?.message == "policy.yaml:2: required[0].name: missing (required)")
    }

    @Test func checkNamesAreUniqueAndWellFormed() {
        let e = failure(yaml(
            "required:",
            "  - name: smoke",
            "    command: 'true'",
            "waves: {canary: 1, percentages: [100]}",
            "health:",
            "  commands:",
            "    - name: smoke",
            "      command: 'true'"))
        #expect(e?.message == "policy.yaml:7: health.commands[0].name: duplicate check name 'smoke' (also required[0].name at line 2); names must be unique")
        let q = failure(yaml(
            "required:",
            "  - name: openqa-health",
            "    command: 'true'",
            "waves: {canary: 1, percentages: [100]}",
            "health:",
            "  openqa:",
            "    url: http://o.example"))
        #expect(q?.message.hasPrefix("policy.yaml:6: health.openqa: duplicate check name 'openqa-health' (also required[0].name at line 2)") == true)
        #expect(failure(withWaves("required:", "  - name: Repo Built", "    command: 'true'"))?.message
            == "policy.yaml:2: required[0].name: 'Repo Built' is not a valid check name (use a-z, 0-9, '.', '_', '-')")
    }

    @Test func badDurations() {
        #expect(failure(withWaves("soak: 5 minutes"))?.message
            == "policy.yaml:1: soak: expected a duration such as 90 (seconds), 30s, 5m, 6h, 1d or 1h30m, got '5 minutes'")
        #expect(failure(withWaves("apply-timeout: 0"))?.message == "policy.yaml:1: apply-timeout: must be longer than 0")
        #expect(failure(withWaves("required:", "  - name: c", "    command: 'true'", "    timeout: 5x"))?.message
            .hasPrefix("policy.yaml:4: required[0].timeout: expected a duration") == true)
        #expect(failure(withWaves("health:", "  deadline: -1h"))?.message.hasPrefix("policy.yaml:2: health.deadline: expected a duration") == true)
        #expect(failure(withWaves("required:", "  - name: c", "    command: 'true'", "    deadline: 0s"))?.message
            == "policy.yaml:4: required[0].deadline: must be longer than 0")
    }

    @Test func aBadRegularExpression() {
        let e = failure(withWaves("health:", "  openqa:", "    url: http://o.example", "    reason: 'isotovideo (can not'"))
        #expect(e?.message == "policy.yaml:4: health.openqa.reason: not a valid regular expression: 'isotovideo (can not'")
    }

    @Test func wavePercentagesIncreaseToOneHundred() {
        #expect(failure(yaml("waves:", "  canary: 1", "  percentages:", "    - 25", "    - 50", "    - 90"))?.message
            == "policy.yaml:6: waves.percentages: must end at 100 (the whole fleet), ends at 90")
        #expect(failure(yaml("waves:", "  canary: 1", "  percentages: [50, 50, 100]"))?.message
            == "policy.yaml:3: waves.percentages[1]: 50 does not increase on 50 before it (shares are cumulative)")
        #expect(failure(yaml("waves:", "  canary: 1", "  percentages: [0, 100]"))?.message == "policy.yaml:3: waves.percentages[0]: must be from 1 to 100, got 0")
        #expect(failure(yaml("waves:", "  canary: 1", "  percentages: [50, 150]"))?.message == "policy.yaml:3: waves.percentages[1]: must be from 1 to 100, got 150")
        #expect(failure(yaml("waves:", "  canary: 1", "  percentages: []"))?.message.hasPrefix("policy.yaml:3: waves.percentages: must not be empty") == true)
        #expect(failure(yaml("waves:", "  canary: 1", "  percentages: 100"))?.message.hasPrefix("policy.yaml:3: waves.percentages: expected a list") == true)
    }

    @Test func canaries() {
        #expect(failure(yaml("waves:", "  canary: 0", "  percentages: [100]"))?.message == "policy.yaml:2: waves.canary: a canary count must be at least 1, got 0")
        #expect(failure(yaml("waves:", "  canary: []", "  percentages: [100]"))?.message == "policy.yaml:2: waves.canary: name at least one host, or give a count")
        #expect(failure(yaml("waves:", "  canary: worker1", "  percentages: [100]"))?.message
            == "policy.yaml:2: waves.canary: expected a count or a list of host names such as [worker1], got 'worker1'")
        #expect(failure(yaml("waves:", "  canary: [w1, w2, w1]", "  percentages: [100]"))?.message == "policy.yaml:2: waves.canary[2]: 'w1' is named twice")
    }

    @Test func jsonPathNeedsExpectAndExpectNeedsJSONPath() {
        let missing = failure(withWaves(
            "required:",
            "  - name: mon",
            "    http:",
            "      url: http://127.0.0.1:9090/health",
            "      json-path: $.status"))
        #expect(missing?.message == "policy.yaml:5: required[0].http.expect: missing; json-path needs expect (the values that pass, such as [ok])")
        let orphan = failure(withWaves("required:", "  - name: mon", "    http:", "      url: http://x.example", "      expect: [ok]"))
        #expect(orphan?.message == "policy.yaml:5: required[0].http.expect: needs json-path (it lists values of the field json-path selects)")
        let both = failure(withWaves("required:", "  - name: mon", "    http:", "      url: http://x.example", "      json-path: $.s", "      expect: [ok]", "      pending: [ok]"))
        #expect(both?.message == "policy.yaml:7: required[0].http.pending: 'ok' is in both expect and pending")
        let badPath = failure(withWaves("required:", "  - name: mon", "    http:", "      url: http://x.example", "      json-path: \"$.a[\"", "      expect: [ok]"))
        #expect(badPath?.message == "policy.yaml:5: required[0].http.json-path: '$.a[' at position 5: expected an index or a quoted key after '['")
        let nonScalar = failure(withWaves("required:", "  - name: mon", "    http:", "      url: http://x.example", "      json-path: $.s", "      expect: [[ok]]"))
        #expect(nonScalar?.message == "policy.yaml:6: required[0].http.expect[0]: expected a string, number or boolean, got a list")
    }

    @Test func fieldTypes() {
        let group = failure(yaml(
            "waves: {canary: 1, percentages: [100]}",
            "required:",
            "  - name: openqa-in-openqa",
            "    openqa:",
            "      url: http://openqa.example",
            "      build: latest",
            "      group: abc"))
        #expect(group?.message == "policy.yaml:7: required[0].openqa.group: expected an integer, got 'abc'")
        #expect(failure(withWaves("required:", "  - name: o", "    openqa: {url: 'http://o.example', group: 0}"))?.message
            == "policy.yaml:3: required[0].openqa.group: must be at least 1, got 0")
        #expect(failure(withWaves("required:", "  - name: o", "    openqa: {url: 'ftp://o.example', group: 1}"))?.message
            == "policy.yaml:3: required[0].openqa.url: expected an http:// or https:// URL, got 'ftp://o.example'")
        #expect(failure(withWaves("required:", "  - name: o", "    openqa: {url: 'http://o.example', group: 1, api-key: K}"))?.message
            == "policy.yaml:3: required[0].openqa.api-secret: missing; api-key needs api-secret")
        #expect(failure(withWaves("required:", "  - name: o", "    openqa: {group: 1}"))?.message == "policy.yaml:3: required[0].openqa.url: missing (required)")
        #expect(failure(withWaves("required:", "  - name: o", "    openqa: {url: 'http://o.example', group: 1}", "    timeout: 5m"))?.message
            == "policy.yaml:4: required[0].timeout: an openqa check has no timeout; it stays pending up to its deadline")
        #expect(failure(withWaves("required:", "  - name: h", "    timeout: 5s", "    http: {url: 'http://h.example', timeout: 5s}"))?.message
            .hasPrefix("policy.yaml:3: required[0].timeout: given twice") == true)
        #expect(failure(withWaves("required:", "  - name: h", "    http: {url: 'http://h.example', status: 42}"))?.message
            == "policy.yaml:3: required[0].http.status: must be from 100 to 599, got 42")
        #expect(failure(withWaves("required:", "  - name: c", "    command: ''"))?.message == "policy.yaml:3: required[0].command: must not be empty")
        #expect(failure(withWaves("required:", "  - name: c", "    command: [a, b]"))?.message == "policy.yaml:3: required[0].command: expected a string, got a list")
        #expect(failure(withWaves("required:", "  name: c"))?.message.hasPrefix("policy.yaml:2: required: expected a list") == true)
        #expect(failure(withWaves("approval: always"))?.message == "policy.yaml:1: approval: expected one of none, first-wave, every-wave, got 'always'")
        #expect(failure(withWaves("on-failure: ignore"))?.message == "policy.yaml:1: on-failure: expected one of rollback, halt, got 'ignore'")
        #expect(failure(withWaves("health:", "  significance: 1.5"))?.message
            == "policy.yaml:2: health.significance: must be between 0 and 1 (exclusive), such as 0.05; got '1.5'")
        #expect(failure(withWaves("health:", "  max-failures: -1"))?.message == "policy.yaml:2: health.max-failures: must be at least 0, got -1")
        #expect(failure(withWaves("health:", "  commands:", "    - name: probe"))?.message == "policy.yaml:3: health.commands[0].command: missing (required)")
    }

    @Test func yamlProblemsNameTheirLine() {
        #expect(failure("")?.message.hasPrefix("policy.yaml:1: the policy is empty") == true)
        #expect(failure(yaml("waves:", "  canary: [a, b", "soak: 5m"))?.message.hasPrefix("policy.yaml:3: not valid YAML") == true, "\(failure(yaml("waves:", "  canary: [a, b", "soak: 5m"))?.message ?? "")")
        #expect(failure(withWaves("soak: 5m", "soak: 6m"))?.message == "policy.yaml:1: 'soak' given more than once in the same mapping (first here)")
        #expect(failure("- a\n- b\n")?.message.hasPrefix("policy.yaml:1: expected a policy (a mapping with required, waves") == true)
    }

    @Test func loadReadsAFile() throws {
        let tmp = try TemporaryDirectory("policy")
        defer { tmp.remove() }
        try FileSystem.write(PolicyFile.example, to: tmp.path("policy.yaml"))
        #expect(try PolicyFile.load(path: tmp.path("policy.yaml")) == PolicyFile.parse(PolicyFile.example, file: "x"))
        try FileSystem.write(withWaves("sok: 5m"), to: tmp.path("typo.yaml"))
        #expect(caughtError { _ = try PolicyFile.load(path: tmp.path("typo.yaml")) }?.message.hasPrefix(tmp.path("typo.yaml") + ":1: sok: unknown key") == true)
        #expect(caughtError { _ = try PolicyFile.load(path: tmp.path("missing.yaml")) }?.code == .unreadable)
    }
}
