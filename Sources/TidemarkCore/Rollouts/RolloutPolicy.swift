/// What a rollout must prove before and while it touches hosts: the required checks before the
/// first host, the waves, the soak and health analysis after each wave, and what to do when a
/// wave is unhealthy. Written by operators as YAML (`TidemarkRollouts.PolicyFile`) and stored
/// with each rollout, so a rollout keeps the policy it started with even if the file changes.
public struct RolloutPolicy: Sendable, Hashable, Codable {
    /// Checks that must all pass (or be waived) before the first host is touched.
    public var required: [CheckSpec]
    public var waves: WaveSpec
    /// Whether a person must `approve` before waves start.
    public var approval: Approval
    /// Seconds to wait after a wave's transactions before its health is judged.
    public var soak: Int
    public var health: HealthSpec
    public var onFailure: OnFailure
    /// Seconds a wave's transactions may take (an agent that is down, a hung zypper) before the
    /// rollout fails.
    public var applyTimeout: Int

    public enum Approval: String, Sendable, Hashable, Codable, CaseIterable {
        /// Waves follow each other as their health passes.
        case none
        /// A person approves once, after the required checks and before the first wave.
        case firstWave = "first-wave"
        /// A person approves before every wave.
        case everyWave = "every-wave"
    }

    public enum OnFailure: String, Sendable, Hashable, Codable, CaseIterable {
        /// Halt, and return every host the rollout changed to the state it had before (default).
        case rollback
        /// Halt and leave the hosts as they are, for a person to look at.
        case halt
    }

    public init(
        required: [CheckSpec], waves: WaveSpec, approval: Approval = .none, soak: Int = 300, health: HealthSpec = HealthSpec(),
        onFailure: OnFailure = .rollback, applyTimeout: Int = 3600
    ) {
        self.required = required
        self.waves = waves
        self.approval = approval
        self.soak = soak
        self.health = health
        self.onFailure = onFailure
        self.applyTimeout = applyTimeout
    }

    /// Every check name, required and health, in policy order: the names `waive` accepts.
    public var checkNames: [String] {
        required.map(\.name) + health.checkNames
    }
}

/// One required check. Its `name` is what operators waive and what decisions cite.
public struct CheckSpec: Sendable, Hashable, Codable {
    public var name: String
    public var kind: Kind
    /// Seconds the check may stay pending (or failed, unwaived) after the rollout starts before
    /// the rollout fails; pending never counts as passed or failed before that.
    public var deadline: Int

    public enum Kind: Sendable, Hashable, Codable {
        case openQA(OpenQACheck)
        case command(CommandCheck)
        case http(HTTPCheck)
    }

    public init(name: String, kind: Kind, deadline: Int = 86_400) {
        self.name = name
        self.kind = kind
        self.deadline = deadline
    }
}

/// The latest jobs of an openQA job group for one build: passed when every scenario's latest job
/// ended in `passing`, failed as soon as one ended otherwise, pending while any is missing or
/// running.
public struct OpenQACheck: Sendable, Hashable, Codable {
    public var url: String
    public var group: Int64
    /// A build name, or nil for the group's newest build.
    public var build: String?
    public var passing: [String]
    /// API credentials, when the instance requires them for reading.
    public var apiKey: String?
    public var apiSecret: String?

    public init(url: String, group: Int64, build: String? = nil, passing: [String] = ["passed", "softfailed"], apiKey: String? = nil, apiSecret: String? = nil) {
        self.url = url
        self.group = group
        self.build = build
        self.passing = passing
        self.apiKey = apiKey
        self.apiSecret = apiSecret
    }
}

/// A command run by the server: exit 0 passes, any other exit fails, a timeout fails.
public struct CommandCheck: Sendable, Hashable, Codable {
    /// Run with `/bin/sh -c`.
    public var command: String
    public var timeout: Int

    public init(command: String, timeout: Int = 300) {
        self.command = command
        self.timeout = timeout
    }
}

/// An HTTP endpoint: passes when it answers `status` and, with `jsonPath`, when the value there is
/// one of `expect`; values in `pending` (a CI system's "running") mean pending; anything else
/// fails. No answer at all (refused, timed out) is pending: the rollout waits, it does not guess.
public struct HTTPCheck: Sendable, Hashable, Codable {
    public var url: String
    public var status: Int
    /// A path into the JSON answer: `$.state`, `$.builds[0].result`, `$["a key"]`.
    public var jsonPath: String?
    /// Accepted values (JSON scalars as text: `"passed"`, `true`, `3`).
    public var expect: [String]
    public var pending: [String]
    public var timeout: Int

    public init(url: String, status: Int = 200, jsonPath: String? = nil, expect: [String] = [], pending: [String] = [], timeout: Int = 30) {
        self.url = url
        self.status = status
        self.jsonPath = jsonPath
        self.expect = expect
        self.pending = pending
        self.timeout = timeout
    }
}

/// How a wave's health is judged: its hosts against the hosts not updated yet, by openQA job
/// results on those hosts and by commands the agents run on them, under one decision rule.
public struct HealthSpec: Sendable, Hashable, Codable {
    public var openQA: OpenQAHealth?
    public var commands: [HealthCommand]
    public var rule: HealthComparison.Rule
    /// Seconds after the soak that health may stay pending before the rollout fails.
    public var deadline: Int

    public init(openQA: OpenQAHealth? = nil, commands: [HealthCommand] = [], rule: HealthComparison.Rule = .init(maxFailures: 0), deadline: Int = 3600) {
        self.openQA = openQA
        self.commands = commands
        self.rule = rule
        self.deadline = deadline
    }

    /// `openqa-health` for the openQA part, then each command's name.
    public var checkNames: [String] {
        (openQA == nil ? [] : [OpenQAHealth.checkName]) + commands.map(\.name)
    }
}

/// openQA jobs that ran on the wave's hosts after their update (joined through the job's worker),
/// against jobs on the hosts not updated yet in the same time.
public struct OpenQAHealth: Sendable, Hashable, Codable {
    public static let checkName = "openqa-health"
    public var url: String
    /// Results that count as failures.
    public var failing: [String]
    /// A regular expression the failure's reason must match to count ("isotovideo can not be
    /// started"); nil counts every failing result.
    public var reason: String?
    public var apiKey: String?
    public var apiSecret: String?

    public init(url: String, failing: [String] = ["incomplete", "failed"], reason: String? = nil, apiKey: String? = nil, apiSecret: String? = nil) {
        self.url = url
        self.failing = failing
        self.reason = reason
        self.apiKey = apiKey
        self.apiSecret = apiSecret
    }
}

/// A command each agent runs on its own host (`/bin/sh -c`, with `TIDEMARK_ROOT` and
/// `TIDEMARK_HOST` set): exit 0 is healthy, anything else a failure of that host.
public struct HealthCommand: Sendable, Hashable, Codable {
    public var name: String
    public var command: String
    public var timeout: Int

    public init(name: String, command: String, timeout: Int = 300) {
        self.name = name
        self.command = command
        self.timeout = timeout
    }
}
