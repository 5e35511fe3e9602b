import Foundation
import TidemarkCore
import TidemarkHosts
import TidemarkRPM
import TidemarkRepo

/// What a rollback did, for people and scripts.
public struct RollbackReport: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable {
        /// The host already is in the target state.
        case nothingToDo = "nothing-to-do"
        /// `--dry-run`: planned (and checked by zypper's own dry run), nothing changed.
        case planned
        /// The host is now exactly in the target state (collected again and compared).
        case succeeded
        /// zypper failed, or the host is not in the target state afterwards.
        case failed
    }

    public var host: String
    public var target: StateID
    public var dryRun: Bool
    public var status: Status
    public var plan: TransactionPlan
    public var before: StateID
    /// The state collected after the transaction (nil for dry runs).
    public var after: StateID?
    /// What still differs from the target afterwards (empty on success).
    public var remaining: TransactionPlan?
    public var command: [String]
    /// zypper's own output.
    public var output: String
    public var message: String
}

/// Rollback as it runs on the host (locally with `--root`, or in the agent for a remote host):
/// plan from the state the host is in right now, get exactly the needed files into a
/// repository, let zypper run the transaction from that repository only, then collect the host
/// again and compare it with the target. The caller records the returned observation, also when
/// the rollback failed: the store must know the state the host is in now.
public enum HostRollback {
    /// - Parameters:
    ///   - repository: makes a repository with (at least) the given packages and returns its
    ///     URL for zypper; throws (before the host is touched) when a package is not archived.
    ///   - work: a scratch directory (created; the caller deletes it).
    public static func run(
        root: String, host: String, target: [Package], targetID: StateID, dryRun: Bool, work: String, source: ObservationSource,
        now: @Sendable () -> Timestamp, repository: (_ packages: [Package], _ directory: String) async throws -> String
    ) async throws -> (report: RollbackReport, observation: Observation?) {
        let before = try HostCollector.collect(root: root)
        guard before.format == .rpm else {
            throw TidemarkError(.invalidArgument, "\(host): rollback runs zypper, but this host's packages are \(before.format.rawValue) packages")
        }
        let current = PackageState(before.packages.map(\.package))
        let plan = TransactionPlan.between(current: current.packages, target: target)
        var report = RollbackReport(
            host: host, target: targetID, dryRun: dryRun, status: .nothingToDo, plan: plan, before: current.id, after: nil, remaining: nil,
            command: [], output: "", message: "\(host) is already in state \(targetID.short)")
        if plan.isEmpty { return (report, nil) }

        try DurableFile.makeDirectory(work)
        let url = try await repository(plan.packagesToFetch, work + "/repository")
        let result = Result { () throws(TidemarkError) in try ZypperTransaction.run(plan, root: root, repositoryURL: url, work: work + "/zypper", dryRun: dryRun) }
        switch result {
        case .success(let outcome):
            report.command = outcome.command
            report.output = outcome.output
        case .failure(let e):
            // zypper ran and failed: report it with its output, and record what the host is now.
            guard e.code == .toolFailed else { throw e }
            report.status = .failed
            report.message = e.message
        }
        if dryRun {
            if report.status != .failed {
                report.status = .planned
                report.message = "\(plan.steps.count) change\(plan.steps.count == 1 ? "" : "s") planned; nothing changed (dry run)"
            }
            return (report, nil)
        }
        let after = try HostCollector.collect(root: root)
        let observation = after.observation(host: host, at: now(), source: source)
        report.after = observation.state.id
        let remaining = TransactionPlan.between(current: observation.state.packages, target: target)
        report.remaining = remaining
        if report.status != .failed {
            if remaining.isEmpty {
                report.status = .succeeded
                report.message = "\(host) is now in state \(targetID.short) (\(plan.steps.count) change\(plan.steps.count == 1 ? "" : "s"), verified)"
            } else {
                report.status = .failed
                report.message = "zypper succeeded, but \(host) is in state \(observation.state.id.short), not \(targetID.short): \(remaining.steps.count) difference\(remaining.steps.count == 1 ? "" : "s") remain"
            }
        } else {
            report.message += "\n\(host) is now in state \(observation.state.id.short) (recorded)"
        }
        return (report, observation)
    }
}

extension PackageArchive {
    /// A repository in `directory` with the archived files of `packages` (links into the
    /// archive): the local rollback's repository. Returns its `dir://` URL.
    public func localRepository(for packages: [Package], in directory: String) async throws -> String {
        _ = try await writeRepository(for: packages, to: directory)
        return "dir://" + directory
    }

    /// A repository in `directory` of `packages`' files, fetched from an archive elsewhere (a
    /// server's: `available` is its list, `fetch` downloads one): what a host without an archive
    /// of its own (the agent, a bisection asking a server) installs from. Refuses, listing them,
    /// when a package is not in `available`.
    public static func fetchedRepository(
        for packages: [Package], available: [ArchivedFile], fetch: (ArchivedFile) async throws -> [UInt8], to directory: String, now: Timestamp
    ) async throws -> String {
        let byKey = Dictionary(available.map { ($0.package.identityKey, $0) }, uniquingKeysWith: { a, _ in a })
        let missing = packages.filter { byKey[$0.identityKey] == nil }
        guard missing.isEmpty else { throw missingError(missing) }
        var downloaded: [(file: ArchivedFile, bytes: [UInt8])] = []
        for p in packages {
            guard let f = byKey[p.identityKey] else { continue }
            downloaded.append((f, try await fetch(f)))
        }
        return try writeRepository(downloaded: downloaded, to: directory, now: now)
    }

    /// A repository in `directory` from downloaded files (the agent's: it has no archive of its
    /// own). Each file is checked against its SHA-256 and read again as an rpm.
    public static func writeRepository(downloaded: [(file: ArchivedFile, bytes: [UInt8])], to directory: String, now: Timestamp) throws(TidemarkError) -> String {
        var packages: [RepoPackage] = []
        for (f, bytes) in downloaded {
            guard bulkSHA256Hex(bytes) == f.sha256 else { throw TidemarkError(.corrupt, "\(f.fileName): does not match its SHA-256 \(f.sha256)") }
            let rpm = try RPMFile(bytes: bytes, name: f.fileName)
            let path = directory + "/" + f.href
            try DurableFile.makeDirectory((path as NSString).deletingLastPathComponent)
            try DurableFile.write(bytes, to: path, mode: 0o644)
            packages.append(try RepoPackage(file: rpm, href: f.href, mtime: now.seconds))
        }
        let metadata = RepoMetadata.assemble(packages, revision: String(now.seconds))
        try DurableFile.makeDirectory(directory + "/repodata")
        for (name, bytes) in metadata.files { try DurableFile.write(bytes, to: directory + "/" + name, mode: 0o644) }
        return "dir://" + directory
    }
}
