import ArgumentParser
import Foundation
import TidemarkArchive
import TidemarkClient
import TidemarkCore
import TidemarkRepo
import TidemarkRollouts
import TidemarkStore

/// The rollout operations for a command: a server's (`--server`), or the local store's acting as
/// this user. Opens what it needs, runs `body`, closes it.
struct RolloutAccess: ParsableArguments {
    @OptionGroup var store: StoreOptions
    @OptionGroup var archive: ArchiveOptions
    @OptionGroup var remote: ServerOptions

    /// `timeout`: per request against a server (`rollout create --updates-from` mirrors the
    /// repository into the archive before it answers).
    func with<T>(timeout: Duration = .seconds(60), _ body: (any RolloutOperations) async throws -> T) async throws -> T {
        if let client = try remote.client(timeout: timeout) {
            do {
                let r = try await body(client)
                await client.shutdown()
                return r
            } catch {
                await client.shutdown()
                throw error
            }
        }
        return try await store.with { s in
            let rollouts = SQLRolloutStore(backend: s.backend), a = archive.open(on: s)
            let planner = RolloutPlanner(history: s, rollouts: rollouts, archive: a, mirrorFleet: {
                for url in (try? await PackageArchive.fleetRepositoryURLs(in: s)) ?? [] { _ = try? await a.mirror(repository: url, now: Clock.now()) }
            })
            let user = ProcessInfo.processInfo.environment["USER"] ?? "uid \(getuid())"
            return try await body(LocalRollouts(service: RolloutService(store: rollouts, planner: planner), by: "\(user)@\(ProcessInfo.processInfo.hostName) (local)", now: { Clock.now() }))
        }
    }
}

/// `tidemark rollout`: gated, staged rollouts.
struct RolloutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollout",
        abstract: "Gated, staged rollouts: required checks first, then canary waves with health analysis, halt and rollback.",
        discussion: """
            A rollout takes hosts to a target one wave at a time. No host is touched before every \
            required check of the policy passed (a failed one passes only through `tidemark waive`); \
            after each wave a soak, then the wave's health against the hosts not updated yet; on \
            failure it halts and (by default) returns every changed host to its earlier state from \
            the archive. `tidemark server` drives rollouts; these commands create, inspect and steer \
            them, against --server or a local --db. The policy file format: README, "Rollouts".
            """,
        subcommands: [
            RolloutCreate.self, RolloutList.self, RolloutStatusCommand.self, RolloutLog.self, RolloutExplain.self,
            RolloutAct.Approve.self, RolloutAct.Pause.self, RolloutAct.Resume.self, RolloutAct.Abort.self, RolloutWatch.self,
        ])
}

struct RolloutCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Plan a rollout per host, show the plan, store it (the server starts gating at once).")

    @OptionGroup var access: RolloutAccess
    @OptionGroup var output: OutputOptions
    @Option(help: ArgumentHelp("The policy file (YAML; - for standard input).", valueName: "file")) var policy: String
    @Option(help: ArgumentHelp("One state for every host: HOST, HOST@TIME or state:ID.", valueName: "ref")) var target: String?
    @Option(name: .customLong("updates-from"), help: ArgumentHelp("Each host's updates from this rpm-md repository (http(s), file: or a path), as `zypper dup` would take them; the archive mirrors it first.", valueName: "repo")) var updatesFrom: String?
    @Option(help: ArgumentHelp("Hosts by name pattern (worker*) or label (role=worker); repeat to add; default every host.", valueName: "selector")) var hosts: [String] = []
    @Flag(help: "Plan and show; store nothing.") var dryRun = false

    func run() async throws {
        try await reportingErrors {
            let text = try readInput(policy)
            let request = RolloutRequest(policy: text, policyName: policy == "-" ? "<stdin>" : policy, target: target, updatesFrom: updatesFrom, hosts: hosts.isEmpty ? nil : hosts, dryRun: dryRun)
            // Planning mirrors the repository first: that may take long for a big one.
            let created = try await access.with(timeout: .seconds(1800)) { try await $0.createRollout(request) }
            if output.json { return try Output.json(created) }
            RolloutPrinter.plan(created.plan)
            if created.dryRun {
                Output.line("dry run: nothing stored")
            } else {
                Output.line("rollout \(created.rollout.id) created: \(created.rollout.phase.rawValue) (watch it: tidemark rollout status \(created.rollout.id) --watch)")
            }
        }
    }
}

struct RolloutList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Every rollout, newest first.")
    @OptionGroup var access: RolloutAccess
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await reportingErrors {
            let all = try await access.with { try await $0.rollouts() }
            if output.json { return try Output.json(all) }
            var t = Table("ID", "PHASE", "WAVE", "HOSTS", "CREATED", "TARGET", "OUTCOME")
            for r in all {
                t.add(String(r.id), r.phase.rawValue + (r.paused ? " (paused)" : ""), "\(r.wave)/\(r.waves.count)", String(r.waves.reduce(0) { $0 + $1.hosts.count }),
                      r.createdAt.iso8601, r.target, r.outcome ?? "")
            }
            t.print()
        }
    }
}

struct RolloutStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Waves, hosts and every check with its evidence.")
    @OptionGroup var access: RolloutAccess
    @OptionGroup var output: OutputOptions
    @Argument(help: "The rollout id.") var id: Int64
    @Flag(help: "Keep showing it as it changes, until it finishes.") var watch = false
    @Option(help: ArgumentHelp("With --watch: seconds between looks.", valueName: "seconds")) var every: Int = 2

    func run() async throws {
        try await reportingErrors {
            try await access.with { ops in
                var last: RolloutStatus? = nil
                while true {
                    let s = try await ops.rollout(id)
                    if s != last {
                        if output.json { try Output.json(s) } else {
                            if watch, last != nil { Output.line("") }
                            RolloutPrinter.status(s)
                        }
                        last = s
                    }
                    guard watch, !s.phase.isFinished else { break }
                    try await Task.sleep(for: .seconds(max(1, every)))
                }
            }
        }
    }
}

struct RolloutLog: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "log", abstract: "Every decision, check change, job and action, with what it rested on.")
    @OptionGroup var access: RolloutAccess
    @OptionGroup var output: OutputOptions
    @Argument(help: "The rollout id.") var id: Int64

    func run() async throws {
        try await reportingErrors {
            let events = try await access.with { try await $0.rolloutLog(id) }
            if output.json { return try Output.json(events) }
            RolloutPrinter.events(events)
        }
    }
}

struct RolloutExplain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain", abstract: "The rollout as it stood at a past time: its phase, checks, waivers and the decisions up to then.")
    @OptionGroup var access: RolloutAccess
    @OptionGroup var output: OutputOptions
    @Argument(help: "The rollout id.") var id: Int64
    @Option(help: ArgumentHelp("ISO 8601 or relative (-2h).", valueName: "time")) var at: String

    func run() async throws {
        try await reportingErrors {
            let e = try await access.with { try await $0.explainRollout(id, at: at) }
            if output.json { return try Output.json(e) }
            Output.line("as of \(e.rollout.at?.iso8601 ?? at):")
            RolloutPrinter.status(e.rollout)
            Output.line("")
            RolloutPrinter.events(e.events)
        }
    }
}

/// approve, pause, resume, abort.
enum RolloutAct {
    static func run(_ access: RolloutAccess, _ output: OutputOptions, _ id: Int64, _ action: RolloutMachine.Action) async throws {
        try await reportingErrors {
            let s = try await access.with { try await $0.act(id, action) }
            if output.json { return try Output.json(s) }
            RolloutPrinter.status(s)
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "approve", abstract: "Let a rollout waiting for approval start its next wave.")
        @OptionGroup var access: RolloutAccess
        @OptionGroup var output: OutputOptions
        @Argument(help: "The rollout id.") var id: Int64
        func run() async throws { try await RolloutAct.run(access, output, id, .approve) }
    }
    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "pause", abstract: "Stop a rollout where it is (running jobs finish); nothing advances until resume.")
        @OptionGroup var access: RolloutAccess
        @OptionGroup var output: OutputOptions
        @Argument(help: "The rollout id.") var id: Int64
        func run() async throws { try await RolloutAct.run(access, output, id, .pause) }
    }
    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "resume", abstract: "Continue a paused rollout.")
        @OptionGroup var access: RolloutAccess
        @OptionGroup var output: OutputOptions
        @Argument(help: "The rollout id.") var id: Int64
        func run() async throws { try await RolloutAct.run(access, output, id, .resume) }
    }
    struct Abort: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "abort", abstract: "Stop a rollout for good; with --rollback, return the hosts it changed to their earlier states.")
        @OptionGroup var access: RolloutAccess
        @OptionGroup var output: OutputOptions
        @Argument(help: "The rollout id.") var id: Int64
        @Flag(help: "Also roll back every host the rollout changed.") var rollback = false
        func run() async throws { try await RolloutAct.run(access, output, id, .abort(rollback: rollback)) }
    }
}

/// `tidemark rollout watch`: the timer-driven `zypper dup` replaced by gated rollouts.
struct RolloutWatch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Open a rollout whenever a repository publishes new builds (instead of a zypper dup timer).",
        discussion: """
            Looks at the repository's repomd.xml every --every; when its revision or checksums \
            change, creates a rollout --updates-from it under the policy, unless the previous \
            rollout it opened is still running (then it waits for that one). --once looks once.
            """)
    @OptionGroup var access: RolloutAccess
    @Option(help: ArgumentHelp("The rpm-md repository to watch.", valueName: "url")) var repo: String
    @Option(help: ArgumentHelp("The policy file (YAML).", valueName: "file")) var policy: String
    @Option(help: ArgumentHelp("Hosts by name pattern or label; repeat to add.", valueName: "selector")) var hosts: [String] = []
    @Option(help: ArgumentHelp("How often to look: 30s, 5m, 1h.", valueName: "interval")) var every: String = "5m"
    @Flag(help: "Look once and exit.") var once = false

    func run() async throws {
        try await reportingErrors {
            guard let seconds = DurationText.parse(every), seconds > 0 else { throw TidemarkError(.invalidArgument, "--every '\(every)': expected a duration such as 30s, 5m or 1h") }
            let text = try readInput(policy)
            _ = try PolicyFile.parse(text, file: policy)
            var seen: String? = nil, open: Int64? = nil
            while true {
                do {
                    let fetcher = try RepositoryFetcher(url: repo)
                    let revision = SHA256.hex(try await fetcher.fetch("repodata/repomd.xml"))
                    if revision != seen {
                        let running: Bool = try await access.with { ops in
                            guard let id = open else { return false }
                            return !(try await ops.rollout(id).phase.isFinished)
                        }
                        if !running {
                            let created = try await access.with(timeout: .seconds(1800)) {
                                try await $0.createRollout(RolloutRequest(policy: text, policyName: policy, updatesFrom: repo, hosts: hosts.isEmpty ? nil : hosts))
                            }
                            let hostCount = created.plan.waves.joined().count
                            Output.line("\(Clock.now().iso8601) \(repo): new metadata; rollout \(created.rollout.id) (\(hostCount) host\(hostCount == 1 ? "" : "s") to update)")
                            open = created.rollout.id
                            seen = revision
                        } else {
                            Output.line("\(Clock.now().iso8601) \(repo): new metadata; waiting for rollout \(open!) to finish")
                        }
                    }
                } catch let e as TidemarkError where !once {
                    Output.warn("\(e.message) (trying again in \(every))")
                }
                if once { return }
                try await Task.sleep(for: .seconds(seconds))
            }
        }
    }
}

/// `tidemark waive`: the one way past a failed check.
struct WaiveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "waive",
        abstract: "Let a failed check of one rollout pass, with a reason and an expiry; recorded with who and when.",
        discussion: "A waiver applies to one check of one rollout, never to pending (a rollout still waits for a check that has not finished). List and revoke: `tidemark waiver`.")
    @OptionGroup var access: RolloutAccess
    @OptionGroup var output: OutputOptions
    @Argument(help: "The check's name, as the policy and `rollout status` name it.") var check: String
    @Option(help: ArgumentHelp("The rollout id.", valueName: "id")) var rollout: Int64
    @Option(help: ArgumentHelp("Why red is acceptable here, for the people who read the log later.", valueName: "text")) var reason: String
    @Option(help: ArgumentHelp("When it stops applying: a time (ISO 8601) or a duration from now (8h, 2d).", valueName: "time")) var expires: String

    func run() async throws {
        try await reportingErrors {
            let w = try await access.with { try await $0.waive(rollout, check: check, reason: reason, expires: expires) }
            if output.json { return try Output.json(w) }
            Output.line("waiver \(w.id): \(w.check) of rollout \(w.rollout) passes until \(w.expiresAt.iso8601) (by \(w.by): \(w.reason))")
        }
    }
}

struct WaiverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "waiver", abstract: "List and revoke waivers.", subcommands: [List.self, Revoke.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "A rollout's waivers, revoked and expired ones too.")
        @OptionGroup var access: RolloutAccess
        @OptionGroup var output: OutputOptions
        @Option(help: ArgumentHelp("The rollout id.", valueName: "id")) var rollout: Int64
        func run() async throws {
            try await reportingErrors {
                let all = try await access.with { try await $0.waivers(rollout) }
                if output.json { return try Output.json(all) }
                var t = Table("ID", "CHECK", "BY", "CREATED", "EXPIRES", "REVOKED", "REASON")
                for w in all { t.add(String(w.id), w.check, w.by, w.createdAt.iso8601, w.expiresAt.iso8601, w.revokedAt?.iso8601 ?? "-", w.reason) }
                t.print()
            }
        }
    }
    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "revoke", abstract: "End a waiver now; the check counts as failed again.")
        @OptionGroup var access: RolloutAccess
        @OptionGroup var output: OutputOptions
        @Argument(help: "The waiver id.") var id: Int64
        func run() async throws {
            try await reportingErrors {
                let w = try await access.with { try await $0.revokeWaiver(id) }
                if output.json { return try Output.json(w) }
                Output.line("waiver \(w.id) for \(w.check) of rollout \(w.rollout) revoked at \(w.revokedAt?.iso8601 ?? "-")")
            }
        }
    }
}

/// `tidemark label`: the operator's labels, which `--hosts KEY=VALUE` selects by.
struct LabelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "label", abstract: "Set or remove labels on a host (role=worker), or list every host's labels.")
    @OptionGroup var access: RolloutAccess
    @OptionGroup var output: OutputOptions
    @Argument(help: "The host; none: list every host's labels.") var host: String?
    @Argument(help: "KEY=VALUE to set.") var labels: [String] = []
    @Option(help: ArgumentHelp("A key to remove; repeat to remove several.", valueName: "key")) var remove: [String] = []

    func run() async throws {
        try await reportingErrors {
            guard let host else {
                let all = try await access.with { try await $0.labels() }
                if output.json { return try Output.json(all) }
                var t = Table("HOST", "LABELS")
                for (h, l) in all.sorted(by: { $0.key < $1.key }) { t.add(h, l.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")) }
                return t.print()
            }
            let pairs = try labels.map { text throws(TidemarkError) -> (String, String) in
                guard let eq = text.firstIndex(of: "=") else { throw TidemarkError(.invalidArgument, "'\(text)': expected KEY=VALUE") }
                return (String(text[..<eq]), String(text[text.index(after: eq)...]))
            }
            guard !pairs.isEmpty || !remove.isEmpty else { throw TidemarkError(.invalidArgument, "give KEY=VALUE to set or --remove KEY") }
            let result = try await access.with { ops in
                var now: [String: String] = [:]
                for (k, v) in pairs { now = try await ops.setLabel(host: host, key: k, value: v) }
                for k in remove { now = try await ops.setLabel(host: host, key: k, value: nil) }
                return now
            }
            if output.json { return try Output.json(result) }
            Output.line("\(host): " + result.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        }
    }
}

/// The human renderings of rollouts.
enum RolloutPrinter {
    static func plan(_ plan: RolloutPlan) {
        for (i, wave) in plan.waves.enumerated() {
            Output.line("wave \(i)\(i == 0 ? " (canary)" : ""): \(wave.map(\.host).joined(separator: ", "))")
            for h in wave {
                Output.line("  \(h.host): state \(h.from.short) -> \(h.to.short)")
                for s in h.transaction.steps {
                    Output.line("    \(s.action.rawValue) \(s.name) \(s.from.map { $0.evr.description } ?? "-") -> \(s.to.map { $0.evr.description } ?? "-") \(s.arch)")
                }
            }
        }
        if !plan.unchanged.isEmpty { Output.line("already at the target: \(plan.unchanged.joined(separator: ", "))") }
        Output.line("\(plan.packagesToFetch.count) package\(plan.packagesToFetch.count == 1 ? "" : "s") from the archive")
    }

    static func status(_ s: RolloutStatus) {
        Output.line("rollout \(s.id): \(s.phase.rawValue)\(s.paused ? " (paused)" : "") since \(s.since.iso8601), wave \(s.wave) of \(s.waves.count)")
        Output.line("target: \(s.target); created \(s.createdAt.iso8601) by \(s.createdBy)")
        if let o = s.outcome { Output.line("outcome: \(o)") }
        if !s.checks.isEmpty {
            var t = Table("CHECK", "STATUS", "EVIDENCE")
            for v in s.checks {
                let status = v.waiver.map { "passed (waiver \($0.id), \(v.result.status.rawValue))" } ?? v.status.rawValue
                t.add(v.result.check, status, v.result.evidence)
            }
            t.print()
        }
        var t = Table("WAVE", "STATE", "HOST", "FROM", "TO", "CHANGES", "JOBS")
        for w in s.waves {
            for h in w.hosts {
                let jobs = h.jobs.map { "\($0.kind.rawValue) \($0.id): \($0.status.rawValue)" }.joined(separator: ", ")
                t.add(String(w.index), w.state, h.host, h.from.short, h.to.short, h.changes, jobs.isEmpty ? "-" : jobs)
            }
        }
        t.print()
        for w in s.waivers {
            let state = w.revokedAt.map { "revoked \($0.iso8601)" } ?? "until \(w.expiresAt.iso8601)"
            Output.line("waiver \(w.id): \(w.check) by \(w.by), \(state): \(w.reason)")
        }
    }

    static func events(_ events: [RolloutEvent]) {
        for e in events {
            Output.line("\(e.at.iso8601) \(e.kind.rawValue): \(e.message)")
        }
    }
}
