import Foundation
import TidemarkCore

/// Runs a `TransactionPlan` on an rpm root with zypper, taking every package from ONE
/// repository: the per-state repository Tidemark generates, which holds exactly the target
/// state's packages.
///
/// Why it is run this way:
/// - Isolation. zypper gets its own `--reposd-dir` and `--cache-dir` under `work`, holding only
///   that repository, and `--from` it: the host's repositories are neither read (one of them may
///   offer the same NEVRA as a different binary) nor modified, and a rebuilt package installed on
///   the host cannot stand in for the target's binary of the same NEVRA.
/// - Exact specs. Every package is named as `name-[epoch:]version-release.arch`, which zypper
///   resolves to exactly that package or reports as not found; removals are `!spec`, so one
///   version of a multiversion package (a kernel) goes and its siblings stay. Upgrades and
///   downgrades name the old version for removal too: without that a multiversion package would
///   be installed next to it.
/// - `--force` (needed to reinstall a changed binary of an installed NEVRA) and `--oldpackage`
///   apply only to the packages named, and only packages that change are named.
/// - `--no-recommends`: nothing beyond the plan is installed.
///
/// Which packages are multiversion is the root's own zypp.conf (`multiversion =`), as for any
/// zypper run on that host.
public enum ZypperTransaction {
    public struct Outcome: Sendable {
        /// The zypper command line that ran (empty when the plan was empty).
        public var command: [String]
        /// What zypper printed, stdout and stderr interleaved as written.
        public var output: String
        /// zypper's exit status: 0, or 102 / 103 (done; a reboot / a zypper restart is advised).
        public var status: Int32

        public init(command: [String], output: String, status: Int32) {
            self.command = command
            self.output = output
            self.status = status
        }
    }

    /// The alias of the one repository zypper sees.
    public static let repositoryAlias = "tidemark-target"

    /// zypper's exit statuses that mean the transaction was done: 0, 102 (reboot needed, e.g.
    /// after a kernel), 103 (restart the package manager).
    static let successStatuses: Set<Int32> = [0, 102, 103]

    /// `name-version-release.arch`, or `name-epoch:version-release.arch` for a non-zero epoch:
    /// the form zypper resolves to exactly one package (without an epoch it means epoch 0).
    public static func spec(_ package: Package) -> String {
        let epoch = package.evr.epoch != 0 ? "\(package.evr.epoch):" : ""
        let release = package.evr.release.isEmpty ? "" : "-\(package.evr.release)"
        return "\(package.name)-\(epoch)\(package.evr.version)\(release).\(package.arch)"
    }

    /// The package specs of `zypper install` for the plan, in step order: the target package of
    /// every install, upgrade, downgrade and reinstall; `!SPEC` for the current package of every
    /// remove, upgrade and downgrade.
    public static func arguments(for plan: TransactionPlan) -> [String] {
        var out: [String] = []
        for step in plan.steps {
            if let to = step.to { out.append(spec(to)) }
            if let from = step.from, step.action != .reinstall { out.append("!" + spec(from)) }
        }
        return out
    }

    /// Runs the plan. `root` "/" means the running system. `work` is a scratch dir (created;
    /// the caller deletes it; it keeps `zypper.log`). `dryRun` passes zypper's `--dry-run`.
    ///
    /// Throws `.invalidArgument` for a plan zypper cannot run (non-rpm packages, rpm keys),
    /// `.notFound` without zypper or root, `.toolFailed` when zypper fails: the message has its
    /// exit status and the end of its output. A failed transaction may have been partly done
    /// (zypper commits package by package): the root's rpm database says what it has.
    @discardableResult
    public static func run(
        _ plan: TransactionPlan, root: String, repositoryURL: String, work: String, dryRun: Bool = false
    ) throws(TidemarkError) -> Outcome {
        try validate(plan)
        guard !repositoryURL.isEmpty, !repositoryURL.contains(where: { $0 == "\n" || $0 == "\r" }) else {
            throw TidemarkError(.invalidArgument, "invalid repository URL '\(repositoryURL)'")
        }
        if plan.isEmpty { return Outcome(command: [], output: "", status: 0) }
        guard let zypper = Subprocess.which("zypper") else {
            throw TidemarkError(.notFound, "zypper was not found on PATH; it is needed to run package transactions")
        }
        let fm = FileManager.default
        var rootPath = root
        while rootPath.count > 1, rootPath.hasSuffix("/") { rootPath.removeLast() }
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: rootPath, isDirectory: &isDir), isDir.boolValue else {
            throw TidemarkError(.notFound, "root directory \(root) does not exist")
        }
        let workPath = work.hasPrefix("/") ? work : fm.currentDirectoryPath + "/" + work
        let reposDir = workPath + "/repos.d", cacheDir = workPath + "/cache", log = workPath + "/zypper.log"
        do {
            // only our repository: nothing left from an earlier run in the same scratch dir
            if fm.fileExists(atPath: reposDir) { try fm.removeItem(atPath: reposDir) }
            if fm.fileExists(atPath: log) { try fm.removeItem(atPath: log) }
            try fm.createDirectory(atPath: reposDir, withIntermediateDirectories: true)
            try fm.createDirectory(atPath: cacheDir, withIntermediateDirectories: true)
        } catch {
            throw TidemarkError(.storage, "cannot prepare zypper's work directory \(workPath): \(error.localizedDescription)")
        }
        let repoFile = """
            [\(repositoryAlias)]
            name=Tidemark target state
            baseurl=\(repositoryURL)
            enabled=1
            gpgcheck=0
            autorefresh=1

            """
        guard fm.createFile(atPath: "\(reposDir)/\(repositoryAlias).repo", contents: Data(repoFile.utf8)) else {
            throw TidemarkError(.storage, "cannot write \(reposDir)/\(repositoryAlias).repo")
        }

        // zypp keeps the root's own package cache (solv/@System) at ROOT + cacheDir: whatever of
        // that path this run creates inside another root is removed again.
        var litter: String?
        if rootPath != "/" {
            var p = rootPath
            for component in workPath.split(separator: "/") {
                p += "/" + component
                if !fm.fileExists(atPath: p) {
                    litter = p
                    break
                }
            }
        }
        defer { if let litter { try? fm.removeItem(atPath: litter) } }

        var command = [zypper]
        if rootPath != "/" { command += ["--root", rootPath] }
        command += [
            "--non-interactive", "--no-gpg-checks", "--reposd-dir", reposDir, "--cache-dir", cacheDir,
            "install", "--details", "--no-recommends", "--oldpackage", "--force", "--from", repositoryAlias,
        ]
        if dryRun { command.append("--dry-run") }
        command += ["--"] + arguments(for: plan)

        // one file for both streams (appending), so the output reads as on a terminal
        let child = try ChildProcess.spawn(
            zypper, Array(command.dropFirst()), stdin: .null, stdout: .file(log, append: true), stderr: .file(log, append: true))
        let status = child.wait()
        let output = String(decoding: fm.contents(atPath: log) ?? Data(), as: UTF8.self)
        guard successStatuses.contains(status) else {
            var tail = output.trimmed
            if tail.count > 4000 { tail = "…" + String(tail.suffix(4000)) }
            throw TidemarkError(
                .toolFailed,
                "zypper failed with exit status \(status): \(command.joined(separator: " "))\n\(tail)")
        }
        return Outcome(command: command, output: output, status: status)
    }

    /// Only rpm packages, and no `gpg-pubkey` entries (rpm's imported keys, which zypper can
    /// neither install nor remove).
    static func validate(_ plan: TransactionPlan) throws(TidemarkError) {
        let packages = plan.steps.flatMap { [$0.from, $0.to].compactMap { $0 } }
        let foreign = packages.filter { $0.format != .rpm }
        if !foreign.isEmpty {
            let names = foreign.prefix(5).map(\.nevra).joined(separator: ", ") + (foreign.count > 5 ? ", …" : "")
            throw TidemarkError(
                .invalidArgument,
                "zypper can only run transactions of rpm packages; this plan has \(foreign.count) \(foreign[0].format.rawValue) package(s): \(names)")
        }
        if let key = packages.first(where: { $0.name == "gpg-pubkey" || $0.arch.isEmpty }) {
            throw TidemarkError(
                .invalidArgument,
                "\(key.nevra) is not a package zypper can install or remove (an rpm key has no arch); import or delete keys with rpm, and leave them out of the plan")
        }
    }
}
