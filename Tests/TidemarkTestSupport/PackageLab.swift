import Foundation
import TidemarkCore
import TidemarkHosts

/// Packages for culprit-finding tests: each name built by rpmbuild at several versions, every
/// build from its own source package (so each is its own bisection group) and installing a
/// marker file `/usr/share/tidemark-lab/NAME-VERSION`, which a test command looks for to decide
/// "broken" (a state is broken exactly when the marker of a broken build is installed). All
/// builds are in one createrepo_c repository and in the lab's archive (`--archive`).
public final class PackageLab: @unchecked Sendable {
    public let dir: TemporaryDirectory
    public let repo: RPMRepository
    public let tm: TidemarkExecutable
    public let names: [String]
    /// `["--archive", DIR]`, for the commands that read the archive.
    public var archive: [String] { ["--archive", dir.path("archive")] }

    public static let markerDirectory = "/usr/share/tidemark-lab"
    public static func marker(_ name: String, _ version: String) -> String { "\(markerDirectory)/\(name)-\(version)" }

    /// The shell test a bisection runs: fails (exit 1) when any of the `broken` builds' markers
    /// is installed in `$TIDEMARK_ROOT`; with `together`, only when all of them are.
    public static func test(broken: [(name: String, version: String)], together: Bool = false) -> String {
        let checks = broken.map { #"test -e "$TIDEMARK_ROOT\#(marker($0.name, $0.version))""# }
        return together ? "! { \(checks.joined(separator: " && ")); }" : "! { \(checks.joined(separator: " || ")); }"
    }

    /// - Parameters:
    ///   - versions: every name is built at each of these (version-release `V-1.1`).
    ///   - requires, conflicts: extra `Requires:` / `Conflicts:` of one build, by `NAME-VERSION`
    ///     (`pkg-d-2.0`: `["pkg-e >= 2.0"]`).
    ///   - unarchived: builds (`NAME-VERSION`) left out of the archive.
    public init(
        _ label: String, names: [String], versions: [String] = ["1.0", "2.0"], requires: [String: [String]] = [:], conflicts: [String: [String]] = [:],
        unarchived: Set<String> = [], db: String? = nil
    ) throws {
        dir = try TemporaryDirectory(label)
        self.names = names
        let builder = try RPMBuilder(directory: try dir.makeDirectory("build"))
        var rpms: [String] = [], archived: [String] = []
        for name in names {
            for v in versions {
                let built = try builder.build(RPMSpec(
                    name: name, version: v, release: "1.1", requires: requires["\(name)-\(v)"] ?? [], conflicts: conflicts["\(name)-\(v)"] ?? [],
                    files: [PackageFile(Self.marker(name, v), contents: "\(name) \(v)\n")]))
                rpms += built
                if !unarchived.contains("\(name)-\(v)") { archived += built }
            }
        }
        repo = try RPMRepository(path: try dir.makeDirectory("repo"), rpms: rpms)
        tm = try TidemarkExecutable(db: db ?? dir.path("tidemark.sqlite"))
        try tm.check(["archive", "add"] + archived + archive)
    }

    /// A new root with the lab's repository and every name installed at `version` (`zypper in
    /// NAME-VERSION`, one transaction).
    public func root(_ name: String, version: String = "1.0") throws -> RPMRoot {
        let root = try RPMRoot(path: dir.path("roots/" + name))
        try root.addRepo(alias: "lab", url: repo.url)
        try root.refresh()
        try root.install(names.map { "\($0)-\(version)" })
        return root
    }

    /// A copy of a root (`cp -a`): another host that went through the same transactions.
    public func copy(_ root: RPMRoot, as name: String) throws -> RPMRoot {
        let path = dir.path("roots/" + name)
        try Subprocess.check("cp", ["-a", root.path, path])
        return RPMRoot(existing: path)
    }

    /// The marker files installed in a root: which builds it has, as a test command sees them.
    public func markers(_ root: RPMRoot) -> Set<String> {
        Set((try? FileManager.default.contentsOfDirectory(atPath: root.path + Self.markerDirectory)) ?? [])
    }
}
