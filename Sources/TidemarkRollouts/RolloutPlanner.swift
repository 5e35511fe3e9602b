import TidemarkArchive
import TidemarkCore
import TidemarkStore

/// Turns a request into a rollout: selects the hosts, computes each host's target and the exact
/// transaction to it, puts them into waves, and makes sure the archive holds every package the
/// transactions need, and every package needed to return each host to where it was, before
/// anything is stored. A rollout that could not be rolled back is refused, not started.
public struct RolloutPlanner: Sendable {
    public let history: any HistoryStore
    public let rollouts: any RolloutStore
    public let archive: PackageArchive
    /// Mirrors every repository the fleet has configured (the server's scheduled mirroring),
    /// tried once when the archive lacks a package the plan needs.
    public let mirrorFleet: @Sendable () async -> Void

    public init(history: any HistoryStore, rollouts: any RolloutStore, archive: PackageArchive, mirrorFleet: @escaping @Sendable () async -> Void) {
        self.history = history
        self.rollouts = rollouts
        self.archive = archive
        self.mirrorFleet = mirrorFleet
    }

    /// The rollout, and each host's current and target packages.
    func plan(_ request: RolloutRequest, by: String, now: Timestamp) async throws -> (rollout: Rollout, targets: [RolloutPlan.HostTarget]) {
        let policy = try PolicyFile.parse(request.policy, file: request.policyName ?? "policy")
        guard (request.target == nil) != (request.updatesFrom == nil) else {
            throw TidemarkError(.invalidArgument, "give exactly one of --target REF and --updates-from REPO")
        }
        let selectors = try (request.hosts ?? []).map(HostSelector.parse)
        let summaries = try await history.hosts()
        let labels = try await rollouts.labels()
        let hosts = HostSelector.select(selectors, hosts: summaries.map(\.host), labels: labels)
        guard !hosts.isEmpty else {
            throw TidemarkError(.invalidInput, selectors.isEmpty
                ? "the store has no hosts yet: agents report them first"
                : "--hosts \(selectors.map(\.description).joined(separator: " ")) matches none of the \(summaries.count) hosts")
        }
        let queries = HistoryQueries(store: history, loadFile: { path in
            throw TidemarkError(.invalidArgument, "file:\(path): a rollout's target is a recorded state (HOST, HOST@TIME, state:ID)")
        }, now: { now })

        var fixedTarget: [Package]? = nil, offered: [Package] = [], description: String
        if let ref = request.target {
            let resolved = try await queries.resolve(ref)
            guard let packages = resolved.packages else { throw TidemarkError(.notFound, "\(ref): the store has no packages for state \(resolved.resolved.state.short)") }
            fixedTarget = packages
            description = "--target \(ref) (state \(resolved.resolved.state.short))"
        } else {
            let url = request.updatesFrom!
            let (report, files) = try await archive.mirrorOffering(repository: url, now: now)
            if !report.failed.isEmpty {
                throw TidemarkError(.invalidInput, "--updates-from \(url): \(report.failed.count) package(s) could not be archived: " + report.failed.prefix(5).map { "\($0.href): \($0.error)" }.joined(separator: "; "))
            }
            offered = files.map(\.package)
            description = "--updates-from \(url) (\(offered.count) packages offered)"
        }

        var targets: [RolloutPlan.HostTarget] = []
        for summary in summaries where hosts.contains(summary.host) {
            guard let current = try await history.packages(of: summary.state) else {
                throw TidemarkError(.storage, "state \(summary.state.short) of \(summary.host) has no packages in the store")
            }
            if let p = current.first(where: { $0.format != .rpm }) {
                throw TidemarkError(.invalidInput, "host \(summary.host) is a \(p.format.rawValue) host: rollouts run zypper transactions on rpm hosts (leave it out with --hosts)")
            }
            targets.append(.init(host: summary.host, current: current, target: fixedTarget ?? RolloutPlan.updateTarget(current: current, offered: offered)))
        }
        let plan = try RolloutPlan.make(targets, waves: policy.waves)

        // Every package forward and back, in the archive before the rollout exists.
        let currents = Dictionary(targets.map { ($0.host, $0.current) }, uniquingKeysWith: { a, _ in a })
        var needed = plan.packagesToFetch
        for h in plan.waves.joined() {
            needed += TransactionPlan.between(current: fixedTarget ?? targets.first { $0.host == h.host }!.target, target: currents[h.host]!).packagesToFetch
        }
        needed = Array(Set(needed)).sorted(by: Package.stateOrder)
        do {
            _ = try await archive.files(for: needed)
        } catch let e as TidemarkError where e.code == .notFound {
            await mirrorFleet()
            do { _ = try await archive.files(for: needed) } catch let again as TidemarkError where again.code == .notFound {
                throw TidemarkError(.notFound, "the archive lacks packages the rollout (or its rollback) needs, also after mirroring the fleet's repositories: \(again.message)")
            }
        }
        return (Rollout(id: 0, target: description, createdAt: now, createdBy: by, policy: policy, plan: plan), targets)
    }

    /// Plans and stores (unless a dry run): the rollout starts gating at once. Each host's target
    /// state is stored first (an `--updates-from` target is a state no host has been in yet), so
    /// that the agents' jobs, `show` and `diff` can name it.
    public func create(_ request: RolloutRequest, by: String, now: Timestamp) async throws -> StoredRollout {
        let (rollout, targets) = try await plan(request, by: by, now: now)
        let (progress, event) = RolloutMachine.initial(rollout)
        if request.dryRun == true {
            return StoredRollout(rollout: rollout, progress: progress, version: 0, leaseOwner: nil, leaseUntil: nil)
        }
        let changing = rollout.plan.waves.joined()
        let byHost = Dictionary(targets.map { ($0.host, $0) }, uniquingKeysWith: { a, _ in a })
        try await history.storeStates(changing.map { PackageState(byHost[$0.host]!.target) }, bases: changing.map(\.from))
        return try await rollouts.createRollout(rollout, progress: progress, event: event)
    }
}
