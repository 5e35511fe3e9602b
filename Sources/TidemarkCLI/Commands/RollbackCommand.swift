import ArgumentParser
import Foundation
import TidemarkArchive
import TidemarkClient
import TidemarkCore
import TidemarkStore

/// `tidemark rollback`: one command that returns a host to any recorded state, from the archive.
struct RollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Return a host to exactly a recorded state: plan, run with zypper from the archive, verify.",
        discussion: """
            Plans the transaction from the host's current packages to exactly REF's (downgrades, \
            upgrades, installs, reinstalls of changed binaries, removals of added packages), \
            prints it, runs it with zypper from a repository holding only the needed archived \
            files (the host's own repositories are not used or changed), collects the host again, \
            records that observation and verifies it equals the target. Refuses before touching \
            the host when a needed package is not archived, and lists what is missing.

            Locally (no --server) it works on the root given by --root (default /: this machine). \
            With --server it asks that host's agent to do it and waits for the result.
            """)

    @OptionGroup var store: StoreOptions
    @OptionGroup var archive: ArchiveOptions
    @OptionGroup var remote: ServerOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: "The host (as recorded).") var host: String
    @Option(help: ArgumentHelp("The state to return to: HOST@TIME, HOST, or state:ID (a prefix of at least 4 hex digits).", valueName: "ref")) var to: String
    @Flag(help: "Plan and check with zypper's dry run; change nothing.") var dryRun = false
    @Option(help: ArgumentHelp("The host's root directory (local rollback; default /, which must then be HOST itself).", valueName: "dir")) var root: String?
    @Option(help: ArgumentHelp("With --server: seconds to wait for the agent's result (0: don't wait).", valueName: "seconds")) var wait: Int = 900

    func run() async throws {
        try await reportingErrors {
            if let client = try remote.client() {
                do { try await runRemote(client) } catch { await client.shutdown(); throw error }
                await client.shutdown()
                return
            }
            try Observation.validateHostName(host)
            // Without --root this machine is changed: only when it is the host named.
            let me = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "localhost"
            if root == nil, host != me {
                throw TidemarkError(
                    .invalidArgument,
                    "\(host) is not this machine (\(me)): use --server URL to have \(host)'s agent do it, or --root DIR for \(host)'s root mounted here")
            }
            let root = self.root ?? "/"
            let report = try await store.with { s in
                let resolved = try await StoreOptions.queries(s).resolve(to)
                guard let target = resolved.packages else { throw TidemarkError(.notFound, "\(to): the store has no packages for state \(resolved.resolved.state.short)") }
                let a = archive.open(on: s)
                // the observation afterwards is the host's latest, even within the second of the last one
                let last = try await s.observation(host: host, atOrBefore: nil)?.at.seconds ?? 0
                let work = FileManager.default.temporaryDirectory.path + "/tidemark-rollback-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
                defer { try? FileManager.default.removeItem(atPath: work) }
                let (report, observation) = try await HostRollback.run(
                    root: root, host: host, target: target, targetID: resolved.resolved.state, dryRun: dryRun, work: work, source: .snapshot,
                    now: { Timestamp(seconds: max(Clock.now().seconds, last + 1)) }, repository: { packages, dir in try await a.localRepository(for: packages, in: dir) })
                if let observation { _ = try await s.record([observation]) }
                return report
            }
            if output.json { try Output.json(report) } else { Self.print(report) }
            if report.status == .failed { throw ExitCode(1) }
        }
    }

    private func runRemote(_ client: TidemarkClient) async throws {
        let (job, plan) = try await client.createRollback(host: host, to: to, dryRun: dryRun)
        if !output.json {
            Output.line("job \(job.id): \(host) to state \(job.target.short)\(dryRun ? " (dry run)" : "")")
            Self.print(plan)
        }
        guard wait > 0 else {
            if output.json { try Output.json(job) }
            return
        }
        let deadline = Date().addingTimeInterval(TimeInterval(wait))
        var current = job
        while !current.status.isFinished {
            guard Date() < deadline else {
                throw TidemarkError(.unreachable, "job \(job.id) is still \(current.status.rawValue) after \(wait) s: is the agent of \(host) running? (it picks jobs up with each report; `tidemark agent` polls every interval)")
            }
            try await Task.sleep(for: .seconds(1))
            current = try await client.job(job.id)
        }
        if output.json { try Output.json(current) } else {
            if let out = current.output, !out.isEmpty { Output.line(out.trimmed) }
            Output.line("job \(current.id) \(current.status.rawValue): \(current.message ?? "")")
        }
        if current.status == .failed { throw ExitCode(1) }
    }

    static func print(_ report: RollbackReport) {
        print(report.plan)
        if !report.output.isEmpty { Output.line(report.output.trimmed) }
        if let remaining = report.remaining, !remaining.isEmpty, report.status == .failed {
            Output.line("still different from the target:")
            print(remaining)
        }
        Output.line("\(report.status.rawValue): \(report.message)")
    }

    static func print(_ plan: TransactionPlan) {
        if plan.isEmpty { return Output.line("nothing to do") }
        var t = Table("ACTION", "PACKAGE", "FROM", "TO", "ARCH")
        for s in plan.steps {
            t.add(s.action.rawValue, s.name, s.from.map { $0.evr.description } ?? "-", s.to.map { $0.evr.description } ?? "-", s.arch)
        }
        t.print()
        let counts = TransactionPlan.Action.allCases.compactMap { a in plan.count(a) > 0 ? "\(plan.count(a)) \(a.rawValue)" : nil }
        Output.line(counts.joined(separator: ", "))
    }
}
