import Foundation
import Testing
import TidemarkCore
import TidemarkHosts
import TidemarkTestSupport

/// ZypperTransaction against the real thing: packages built by rpmbuild, roots made with
/// `rpm --root`, the target state's repository made by createrepo_c, and `rpm -qa` (with SIGMD5)
/// as the oracle of what the root holds afterwards.
@Suite struct ZypperTransactionTests {
    /// A noarch package with one file whose content tells builds of the same NEVRA apart.
    static func spec(_ name: String, _ version: String, epoch: Int? = nil, content: String? = nil, buildTime: Int64 = 1_700_000_000) -> RPMSpec {
        RPMSpec(
            name: name, epoch: epoch, version: version,
            files: [PackageFile("/usr/share/\(name)/\(version)", contents: content ?? "\(name) \(version)\n")], buildTime: buildTime)
    }

    /// `repos.d` file names and contents, to show the host's configuration is untouched.
    static func repoConfig(_ root: RPMRoot) -> [String: String] {
        let dir = root.path + "/etc/zypp/repos.d"
        var out: [String: String] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
            out[name] = String(decoding: FileManager.default.contents(atPath: dir + "/" + name) ?? Data(), as: UTF8.self)
        }
        return out
    }

    static func installed(_ root: RPMRoot) throws -> Set<Package> { Set(try root.rpmQA().map(\.package)) }

    static func nevras(_ packages: some Sequence<Package>) -> [String] { packages.map(\.nevra).sorted() }

    // MARK: pure

    @Test func specsNameExactlyOnePackage() {
        func p(_ name: String, _ v: String, epoch: Int = 0, arch: String = "x86_64") -> Package {
            Package(format: .rpm, name: name, evr: EVR(epoch: epoch, version: v, release: "1.2"), arch: arch, digest: name + v)
        }
        #expect(ZypperTransaction.spec(p("perl-Mojo", "9.0")) == "perl-Mojo-9.0-1.2.x86_64")
        #expect(ZypperTransaction.spec(p("perl-Mojo", "9.0", epoch: 2)) == "perl-Mojo-2:9.0-1.2.x86_64")
        let plan = TransactionPlan.between(
            current: [p("a", "2.0"), p("gone", "1"), p("k", "6.1"), p("k", "6.2"), p("m", "1", arch: "i586"), p("r", "1")],
            target: [p("a", "1.0", epoch: 1), p("k", "6.2"), p("k", "6.3"), p("m", "1"), p("n", "1", arch: "noarch")]
                + [Package(format: .rpm, name: "r", evr: EVR(version: "1", release: "1.2"), arch: "x86_64", digest: "rebuilt")])
        // the rebuilt r replaces r (same NEVRA: named once, no removal); upgrades and downgrades
        // name the old version for removal too; the arch change is a removal plus an install
        #expect(ZypperTransaction.arguments(for: plan) == [
            "a-1:1.0-1.2.x86_64", "!a-2.0-1.2.x86_64",
            "!gone-1-1.2.x86_64",
            "!k-6.1-1.2.x86_64", "k-6.3-1.2.x86_64",
            "!m-1-1.2.i586", "m-1-1.2.x86_64",
            "n-1-1.2.noarch",
            "r-1-1.2.x86_64",
        ])
    }

    @Test func refusesWhatZypperCannotRun() throws {
        let tmp = try TemporaryDirectory("zypper-refuse")
        defer { tmp.remove() }
        let deb = Package(format: .deb, name: "libc6", evr: EVR(version: "2.36", release: "9"), arch: "amd64")
        let debPlan = TransactionPlan.between(current: [], target: [deb])
        let e = caughtError { try ZypperTransaction.run(debPlan, root: tmp.path, repositoryURL: "file:///nowhere", work: tmp.path("work")) }
        #expect(e?.code == .invalidArgument)
        #expect(e?.message.contains("libc6_2.36-9_amd64") == true)
        #expect(e?.message.contains("rpm") == true)

        let key = Package(format: .rpm, name: "gpg-pubkey", evr: EVR(version: "3dbdc284", release: "53674dd4"), arch: "")
        let k = caughtError {
            try ZypperTransaction.run(.between(current: [key], target: []), root: tmp.path, repositoryURL: "file:///nowhere", work: tmp.path("work"))
        }
        #expect(k?.code == .invalidArgument)
        #expect(k?.message.contains("gpg-pubkey") == true)

        // nothing to do runs nothing: not even the root has to exist
        let empty = try ZypperTransaction.run(
            TransactionPlan(steps: []), root: tmp.path("no-such-root"), repositoryURL: "file:///nowhere", work: tmp.path("work"))
        #expect(empty.command.isEmpty && empty.output.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: tmp.path("work")))

        let rpmPlan = TransactionPlan.between(
            current: [], target: [Package(format: .rpm, name: "a", evr: EVR(version: "1", release: "1"), arch: "noarch")])
        let missing = caughtError {
            try ZypperTransaction.run(rpmPlan, root: tmp.path("no-such-root"), repositoryURL: "file:///nowhere", work: tmp.path("work"))
        }
        #expect(missing?.code == .notFound)
    }

    // MARK: real zypper

    /// (a) Downgrade, install, remove, and the reinstall of a rebuilt binary, from the target's
    /// repository only: the host's repository offers the rebuilt qux too and must not win.
    @Test func turnsRootIntoExactlyTheTargetState() throws {
        let tmp = try TemporaryDirectory("zypper-tx")
        defer { tmp.remove() }
        let builder = try RPMBuilder(directory: tmp.path("build"))
        let foo1 = try builder.build(Self.spec("foo", "1.0")), foo2 = try builder.build(Self.spec("foo", "2.0"))
        let bar = try builder.build(Self.spec("bar", "1.0")), baz = try builder.build(Self.spec("baz", "1.0"))
        let same = try builder.build(Self.spec("same", "1.0"))
        // qux-1.0-1 twice: the original, and a rebuild with other content, built later (so zypper
        // would prefer it, as the installed one, over an equal NEVRA from a repository)
        let quxOriginal = try builder.build(Self.spec("qux", "1.0", content: "original\n", buildTime: 1_700_000_000))
        let quxRebuilt = try builder.build(Self.spec("qux", "1.0", content: "rebuilt\n", buildTime: 1_700_100_000))
        let original = try #require(RPMRoot.packages(inFiles: quxOriginal).first), rebuilt = try #require(RPMRoot.packages(inFiles: quxRebuilt).first)
        #expect(original.nevra == rebuilt.nevra)
        #expect(original.digest != nil && original.digest != rebuilt.digest)

        let root = try RPMRoot(path: tmp.path("root"))
        try root.rpmInstall(foo2 + baz + quxRebuilt + same)
        // the host's own repository offers the wrong qux (and foo 2.0)
        let hostRepo = try RPMRepository(path: tmp.path("host-repo"), rpms: quxRebuilt + foo2)
        try root.addRepo(alias: "host-repo", url: hostRepo.url)
        try root.refresh()
        let configBefore = Self.repoConfig(root)
        #expect(configBefore.keys.sorted() == ["host-repo.repo"])

        let targetFiles = foo1 + bar + quxOriginal + same
        let target = try RPMRoot.packages(inFiles: targetFiles)
        let targetRepo = try RPMRepository(path: tmp.path("target-repo"), rpms: targetFiles)
        let plan = TransactionPlan.between(current: try root.rpmQA().map(\.package), target: target)
        #expect(plan.steps.map { "\($0.action.rawValue) \($0.name)" } == ["install bar", "remove baz", "downgrade foo", "reinstall qux"])
        #expect(ZypperTransaction.arguments(for: plan) == ["bar-1.0-1.noarch", "!baz-1.0-1.noarch", "foo-1.0-1.noarch", "!foo-2.0-1.noarch", "qux-1.0-1.noarch"])

        let work = tmp.path("work")
        let outcome = try ZypperTransaction.run(plan, root: root.path, repositoryURL: targetRepo.url, work: work)
        #expect(outcome.status == 0)
        #expect(outcome.command.contains("--force") && !outcome.command.contains("--dry-run"))
        #expect(outcome.output.contains("qux"))

        // exactly the target binaries, SIGMD5 included: qux is the original, not the host repo's
        let after = try Self.installed(root)
        #expect(after == Set(target), "installed \(Self.nevras(after)), target \(Self.nevras(target))")
        #expect(after.first { $0.name == "qux" }?.digest == original.digest)
        #expect(TransactionPlan.between(current: Array(after), target: target).isEmpty)
        // only the changed packages were touched
        let history = String(decoding: (try? FileSystem.read(root.zyppHistory)) ?? [], as: UTF8.self)
        #expect(history.contains("|install|qux|1.0-1|noarch|"))
        #expect(!history.contains("|same|"))
        // the host's repositories are as they were, and nothing of zypper's scratch is left in the root
        #expect(Self.repoConfig(root) == configBefore)
        #expect(!FileManager.default.fileExists(atPath: root.path + work))
        #expect(FileManager.default.fileExists(atPath: work + "/zypper.log"))
    }

    /// (b) A package with an epoch: 0:2.0 → 1:1.0 is an upgrade, and back a downgrade; each time
    /// exactly the package with that epoch is installed.
    @Test func epochUpgradeAndDowngrade() throws {
        let tmp = try TemporaryDirectory("zypper-epoch")
        defer { tmp.remove() }
        let builder = try RPMBuilder(directory: tmp.path("build"))
        let plain2 = try builder.build(Self.spec("ep", "2.0"))
        let epoch1 = try builder.build(Self.spec("ep", "1.0", epoch: 1))
        let root = try RPMRoot(path: tmp.path("root"))
        try root.rpmInstall(plain2)

        let up = try RPMRoot.packages(inFiles: epoch1)
        let upPlan = TransactionPlan.between(current: try root.rpmQA().map(\.package), target: up)
        #expect(upPlan.count(.upgrade) == 1 && upPlan.steps.count == 1)
        #expect(ZypperTransaction.arguments(for: upPlan) == ["ep-1:1.0-1.noarch", "!ep-2.0-1.noarch"])
        let upRepo = try RPMRepository(path: tmp.path("repo-up"), rpms: epoch1)
        try ZypperTransaction.run(upPlan, root: root.path, repositoryURL: upRepo.url, work: tmp.path("work-up"))
        #expect(try Self.installed(root) == Set(up))
        #expect(try root.rpmQA().map(\.package.evr) == [EVR(epoch: 1, version: "1.0", release: "1")])

        let down = try RPMRoot.packages(inFiles: plain2)
        let downPlan = TransactionPlan.between(current: try root.rpmQA().map(\.package), target: down)
        #expect(downPlan.count(.downgrade) == 1 && downPlan.steps.count == 1)
        #expect(ZypperTransaction.arguments(for: downPlan) == ["ep-2.0-1.noarch", "!ep-1:1.0-1.noarch"])
        let downRepo = try RPMRepository(path: tmp.path("repo-down"), rpms: plain2)
        try ZypperTransaction.run(downPlan, root: root.path, repositoryURL: downRepo.url, work: tmp.path("work-down"))
        #expect(try Self.installed(root) == Set(down))
        #expect(try root.rpmQA().map(\.package.evr) == [EVR(epoch: 0, version: "2.0", release: "1")])
    }

    /// Multiversion kernels (the root's zypp.conf says so, as openSUSE's does): one version is
    /// removed with `!`, its sibling stays; a single kernel replaced by another does not stay
    /// installed next to it.
    @Test func multiversionKernels() throws {
        let tmp = try TemporaryDirectory("zypper-kernel")
        defer { tmp.remove() }
        let builder = try RPMBuilder(directory: tmp.path("build"))
        func kernel(_ v: String) throws -> [String] {
            var s = Self.spec("kernel-test", v)
            s.provides = ["multiversion(kernel)"]
            return try builder.build(s)
        }
        let k1 = try kernel("6.1"), k2 = try kernel("6.2"), k3 = try kernel("6.3")
        let root = try RPMRoot(path: tmp.path("root"))
        try root.setZyppMultiversion("provides:multiversion(kernel)")
        try root.rpmInstall(k1 + k2)

        func go(to files: [String], _ label: String) throws -> TransactionPlan {
            let target = try RPMRoot.packages(inFiles: files)
            let plan = TransactionPlan.between(current: try root.rpmQA().map(\.package), target: target)
            let repo = try RPMRepository(path: tmp.path("repo-\(label)"), rpms: files)
            try ZypperTransaction.run(plan, root: root.path, repositoryURL: repo.url, work: tmp.path("work-\(label)"))
            let after = try Self.installed(root)
            #expect(after == Set(target), "\(label): installed \(Self.nevras(after)), target \(Self.nevras(target))")
            return plan
        }
        let first = try go(to: k2 + k3, "two")
        #expect(ZypperTransaction.arguments(for: first) == ["!kernel-test-6.1-1.noarch", "kernel-test-6.3-1.noarch"])
        let second = try go(to: k1, "one")
        #expect(second.count(.remove) == 2 && second.count(.install) == 1)
        let third = try go(to: k3, "upgrade")
        #expect(third.count(.upgrade) == 1)
    }

    /// (c) A dry run shows the transaction and changes nothing; the same plan run for real does.
    @Test func dryRunChangesNothing() throws {
        let tmp = try TemporaryDirectory("zypper-dry")
        defer { tmp.remove() }
        let builder = try RPMBuilder(directory: tmp.path("build"))
        let foo1 = try builder.build(Self.spec("foo", "1.0")), foo2 = try builder.build(Self.spec("foo", "2.0"))
        let bar = try builder.build(Self.spec("bar", "1.0")), baz = try builder.build(Self.spec("baz", "1.0"))
        let root = try RPMRoot(path: tmp.path("root"))
        try root.rpmInstall(foo2 + baz)
        let before = try Self.installed(root)
        let target = try RPMRoot.packages(inFiles: foo1 + bar)
        let repo = try RPMRepository(path: tmp.path("repo"), rpms: foo1 + bar)
        let plan = TransactionPlan.between(current: Array(before), target: target)

        let dry = try ZypperTransaction.run(plan, root: root.path, repositoryURL: repo.url, work: tmp.path("work-dry"), dryRun: true)
        #expect(dry.command.contains("--dry-run"))
        #expect(dry.output.contains("foo") && dry.output.contains("bar") && dry.output.contains("baz"))
        #expect(try Self.installed(root) == before)
        #expect(!FileManager.default.fileExists(atPath: root.zyppHistory))

        try ZypperTransaction.run(plan, root: root.path, repositoryURL: repo.url, work: tmp.path("work-real"))
        #expect(try Self.installed(root) == Set(target))
    }

    /// (d) A package whose %pre fails: zypper aborts, the error carries its exit status and its
    /// output (rpm's message from the scriptlet), and the failing package is not installed.
    @Test func failingTransactionThrowsZyppersOutput() throws {
        let tmp = try TemporaryDirectory("zypper-fail")
        defer { tmp.remove() }
        let builder = try RPMBuilder(directory: tmp.path("build"))
        let foo2 = try builder.build(Self.spec("foo", "2.0"))
        var badSpec = Self.spec("bad", "1.0")
        badSpec.scriptlets = [.failing(.pre, message: "tidemark-test: this %pre refuses")]
        let bad = try builder.build(badSpec)
        let root = try RPMRoot(path: tmp.path("root"))
        try root.rpmInstall(foo2)
        let target = try RPMRoot.packages(inFiles: bad + foo2)
        let repo = try RPMRepository(path: tmp.path("repo"), rpms: bad + foo2)
        let plan = TransactionPlan.between(current: try root.rpmQA().map(\.package), target: target)
        #expect(ZypperTransaction.arguments(for: plan) == ["bad-1.0-1.noarch"])

        let e = caughtError { try ZypperTransaction.run(plan, root: root.path, repositoryURL: repo.url, work: tmp.path("work")) }
        let error = try #require(e)
        #expect(error.code == .toolFailed)
        #expect(error.message.contains("zypper failed with exit status 8"), "\(error.message)")
        #expect(error.message.contains("tidemark-test: this %pre refuses"), "\(error.message)")
        #expect(error.message.contains("bad-1.0-1.noarch"))
        #expect(error.message.count < 5000)
        // what rpm says the root holds: as before, without the package that failed
        #expect(try Self.nevras(Self.installed(root)) == ["foo-2.0-1.noarch"])
    }

    /// A package the repository does not have is an error, not a silently smaller transaction.
    @Test func packageMissingFromRepositoryFails() throws {
        let tmp = try TemporaryDirectory("zypper-missing")
        defer { tmp.remove() }
        let builder = try RPMBuilder(directory: tmp.path("build"))
        let foo1 = try builder.build(Self.spec("foo", "1.0")), bar = try builder.build(Self.spec("bar", "1.0"))
        let root = try RPMRoot(path: tmp.path("root"))
        let plan = TransactionPlan.between(current: [], target: try RPMRoot.packages(inFiles: foo1 + bar))
        let repo = try RPMRepository(path: tmp.path("repo"), rpms: foo1)
        let e = caughtError { try ZypperTransaction.run(plan, root: root.path, repositoryURL: repo.url, work: tmp.path("work")) }
        #expect(e?.code == .toolFailed)
        #expect(e?.message.contains("'bar-1.0-1.noarch' not found") == true, "\(e?.message ?? "")")
        #expect(try root.rpmQA().isEmpty)
    }
}
