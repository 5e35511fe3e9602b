import Foundation
import Testing
import TidemarkCore
import TidemarkHosts
import TidemarkTestSupport

/// Issue 4 end to end with real tools: RPMs built by rpmbuild, repositories made by createrepo_c,
/// host roots changed by real zypper, the real `tidemark` binary archiving, planning and running
/// the rollback, and `rpm -qa` (with SIGMD5) as the judge of "exactly the earlier state".
@Suite(.serialized) struct RollbackTests {
    let t0 = "2026-11-02T10:00:00Z", t1 = "2026-11-03T10:00:00Z"

    /// name, arch, EVR and SIGMD5 of every installed package: the exact binaries.
    func installed(_ root: RPMRoot) throws -> Set<String> {
        Set(try root.rpmQA().map { "\($0.package.nevra) \($0.package.digest ?? "-")" })
    }

    /// The incident: workers upgrade from the development repository, which then drops the
    /// previous build; every worker still goes back to its earlier state in one command.
    @Test func theIncidentRollbackWorksAfterTheRepositoryDroppedTheOldBuild() throws {
        let dir = try TemporaryDirectory("cli-rollback")
        let builder = try RPMBuilder(directory: try dir.makeDirectory("build"))
        func build(_ s: RPMSpec) throws -> String { try builder.build(s)[0] }
        let lib1 = try build(RPMSpec(name: "perl-Mojo-IOLoop-ReadWriteProcess", version: "0.34", release: "1.1"))
        let lib2 = try build(RPMSpec(name: "perl-Mojo-IOLoop-ReadWriteProcess", version: "0.34", release: "1.2"))
        let worker1 = try build(RPMSpec(name: "openQA-worker", version: "5.1", release: "1", requires: ["perl-Mojo-IOLoop-ReadWriteProcess"]))
        let helper = try build(RPMSpec(name: "os-autoinst-helper", version: "1.0", release: "1"))
        let worker2 = try build(RPMSpec(name: "openQA-worker", version: "5.2", release: "1", requires: ["perl-Mojo-IOLoop-ReadWriteProcess", "os-autoinst-helper"]))
        let repo = try RPMRepository(path: try dir.makeDirectory("repo"), rpms: [lib1, worker1])
        let tm = try TidemarkExecutable(db: dir.path("tidemark.sqlite"))
        let archive = ["--archive", dir.path("archive")]

        // the archive mirrors the repository as builds are published
        try tm.check(["archive", "mirror", "--repo", repo.url] + archive)
        var before: [String: Set<String>] = [:]
        let hosts = ["worker1", "worker2"]
        for h in hosts {
            let root = try RPMRoot(path: dir.path("hosts/" + h))
            try root.addRepo(alias: "devel_openQA", url: repo.url)
            try root.refresh()
            try root.install(["openQA-worker"])
            try tm.check(["snapshot", "--root", root.path, "--host", h, "--at", t0])
            before[h] = try installed(root)
        }
        // the broken build is published; the old one is dropped; the fleet updates itself
        try repo.remove([(lib1 as NSString).lastPathComponent, (worker1 as NSString).lastPathComponent], update: false)
        try repo.add([lib2, worker2, helper])
        try tm.check(["archive", "mirror", "--repo", repo.url] + archive)
        for h in hosts {
            let root = try RPMRoot(path: dir.path("hosts/" + h))
            try root.refresh()
            try root.dup()
            try tm.check(["snapshot", "--root", root.path, "--host", h, "--at", t1])
            #expect(try installed(root) != before[h], "\(h) updated")
            #expect(try root.rpmQA().contains { $0.package.nevra == "perl-Mojo-IOLoop-ReadWriteProcess-0.34-1.2.noarch" })
        }
        // the repository really no longer has the old build: zypper alone cannot go back
        let stuck = try Subprocess.run("zypper", ["--root", dir.path("hosts/worker2"), "--non-interactive", "install", "--oldpackage", "perl-Mojo-IOLoop-ReadWriteProcess-0.34-1.1"])
        #expect(stuck.status != 0)

        // a dry run plans and changes nothing
        let w1 = try RPMRoot(path: dir.path("hosts/worker1"))
        let dry = try tm.run(["rollback", "worker1", "--to", "worker1@" + t0, "--root", w1.path, "--dry-run"] + archive)
        #expect(dry.status == 0, "\(dry.stderrText)")
        #expect(dry.stdoutText.contains("downgrade") && dry.stdoutText.contains("planned"), "\(dry.stdoutText)")
        #expect(try installed(w1) != before["worker1"])

        for h in hosts {
            let root = try RPMRoot(path: dir.path("hosts/" + h))
            let r = try tm.run(["rollback", h, "--to", h + "@" + t0, "--root", root.path, "--json"] + archive)
            #expect(r.status == 0, "\(r.stderrText)\n\(r.stdoutText)")
            let report = try JSONDecoder().decode(Report.self, from: Data(r.stdoutText.utf8))
            #expect(report.status == "succeeded")
            #expect(report.plan.steps.map(\.action).sorted() == ["downgrade", "downgrade", "remove"])
            // exactly the earlier binaries, by rpm's own account
            #expect(try installed(root) == before[h], "\(h) back at its state of \(t0)")
            // and the store recorded the host in that state again
            let now = try tm.json(ShowResult.self, ["show", h]), then = try tm.json(ShowResult.self, ["show", h + "@" + t0])
            #expect(now.state.state == then.state.state)
        }
    }

    struct Report: Decodable {
        struct Plan: Decodable {
            struct Step: Decodable { var action: String }
            var steps: [Step]
        }
        var status: String
        var plan: Plan
        var message: String
        var output: String
    }

    /// A package that was never archived: refused before the host is touched, naming it.
    /// A zypper transaction that fails: reported with zypper's output, and the state the host is
    /// in afterwards is recorded.
    @Test func refusesMissingPackagesAndReportsAFailingTransaction() throws {
        let dir = try TemporaryDirectory("cli-rollback-errors")
        let builder = try RPMBuilder(directory: try dir.makeDirectory("build"))
        let local = try builder.build(RPMSpec(name: "local-tool", version: "1.0", release: "1"))[0]
        var stuckSpec = RPMSpec(name: "stuck", version: "1.0", release: "1")
        stuckSpec.scriptlets = [.failing(.preun, message: "stuck refuses to be removed")]
        let stuck = try builder.build(stuckSpec)[0]
        let tm = try TidemarkExecutable(db: dir.path("tidemark.sqlite"))
        let archive = ["--archive", dir.path("archive")]
        let root = try RPMRoot(path: dir.path("hosts/w"))

        // local-tool was installed from a file that nobody archived
        try root.rpmInstall([local])
        try tm.check(["snapshot", "--root", root.path, "--host", "w", "--at", t0])
        try root.rpmErase(["local-tool"])
        try root.rpmInstall([stuck])
        try tm.check(["archive", "add", stuck] + archive)
        try tm.check(["snapshot", "--root", root.path, "--host", "w", "--at", t1])
        let current = try installed(root)

        // without --root the machine running tidemark would change: refused unless it is the host
        let elsewhere = try tm.run(["rollback", "w", "--to", "w@" + t0] + archive)
        #expect(elsewhere.status == 2 && elsewhere.stderrText.contains("not this machine"), "\(elsewhere.stderrText)")

        let refused = try tm.run(["rollback", "w", "--to", "w@" + t0, "--root", root.path] + archive)
        #expect(refused.status != 0)
        #expect(refused.stderrText.contains("not in the archive") && refused.stderrText.contains("local-tool-1.0-1.noarch"), "\(refused.stderrText)")
        #expect(try installed(root) == current, "nothing was touched")

        // archived now; but stuck's %preun fails, so zypper cannot remove it
        try tm.check(["archive", "add", local] + archive)
        func observations() throws -> Int { try tm.json([HostSummary].self, ["hosts"]).first { $0.host == "w" }?.observations ?? 0 }
        let observedBefore = try observations()
        let failed = try tm.run(["rollback", "w", "--to", "w@" + t0, "--root", root.path] + archive)
        #expect(failed.status != 0)
        let text = failed.stdoutText + failed.stderrText
        #expect(text.contains("stuck refuses to be removed") || text.contains("preun"), "zypper's own output is shown: \(text)")
        #expect(text.contains("failed"), "\(text)")
        // what the host is now (local-tool installed, stuck still there) is recorded
        let after = try tm.json(ShowResult.self, ["show", "w"])
        #expect(Set(after.packages.map(\.name)) == Set(try root.rpmQA().map(\.package.name)))
        #expect(try observations() == observedBefore + 1)
    }

    /// Retention: gc keeps what a recent or pinned state needs and deletes the rest; corrupt
    /// files are refused by `archive add` and never archived.
    @Test func gcKeepsWhatStatesNeedAndAddRefusesCorruptFiles() throws {
        let dir = try TemporaryDirectory("cli-archive-gc")
        let builder = try RPMBuilder(directory: try dir.makeDirectory("build"))
        let a1 = try builder.build(RPMSpec(name: "alpha", version: "1", release: "1"))[0]
        let a2 = try builder.build(RPMSpec(name: "alpha", version: "2", release: "1"))[0]
        let b1 = try builder.build(RPMSpec(name: "beta", version: "1", release: "1"))[0]
        let tm = try TidemarkExecutable(db: dir.path("tidemark.sqlite"))
        let archive = ["--archive", dir.path("archive")]
        let root = try RPMRoot(path: dir.path("hosts/h"))
        try root.rpmInstall([a1])
        try tm.check(["snapshot", "--root", root.path, "--host", "h", "--at", "2020-01-01T00:00:00Z"])
        try root.rpmUpgrade([a2])
        try tm.check(["snapshot", "--root", root.path, "--host", "h", "--at", "2020-03-01T00:00:00Z"])
        try root.rpmInstall([b1])
        try tm.check(["snapshot", "--root", root.path, "--host", "h", "--at", "2020-06-01T00:00:00Z"])
        try tm.check(["archive", "add", a1, a2, b1] + archive)

        // corrupt and truncated copies are refused and leave nothing behind
        var bytes = try FileSystem.read(a1)
        bytes[bytes.count - 10] ^= 0xff
        try FileSystem.write(bytes, to: dir.path("corrupt.rpm"))
        try FileSystem.write(Array(bytes.prefix(bytes.count / 2)), to: dir.path("truncated.rpm"))
        let bad = try tm.run(["archive", "add", dir.path("corrupt.rpm"), dir.path("truncated.rpm")] + archive)
        #expect(bad.status != 0)
        #expect(bad.stderrText.contains("corrupt.rpm") && bad.stderrText.contains("truncated.rpm"), "\(bad.stderrText)")
        let listed = try tm.json([ArchivedFile].self, ["archive", "list"] + archive)
        #expect(listed.count == 3)

        struct GCReport: Decodable {
            struct Kept: Decodable { var file: ArchivedFile; var reason: String }
            var deleted: [ArchivedFile]
            var kept: [Kept]
        }
        // gamma: archived, but no recorded state ever had it
        let g = try builder.build(RPMSpec(name: "gamma", version: "1", release: "1"))[0]
        try tm.check(["archive", "add", g] + archive)
        let recent = try tm.json(GCReport.self, ["archive", "gc", "--keep-days", "30", "--dry-run"] + archive)
        #expect(recent.deleted.isEmpty, "everything was added within the window")

        // with a window that starts now, only what a state needs stays: the host's current state
        // (it was in it when the window opened) and the pinned state
        Thread.sleep(forTimeInterval: 1.1)
        try tm.check(["archive", "pin", "h@2020-01-15T00:00:00Z", "--note", "known good"])
        let plan = try tm.json(GCReport.self, ["archive", "gc", "--keep-days", "0", "--dry-run"] + archive)
        #expect(Set(plan.deleted.map(\.package.nevra)) == ["gamma-1-1.noarch"])
        #expect(Set(plan.kept.map(\.file.package.nevra)) == ["alpha-1-1.noarch", "alpha-2-1.noarch", "beta-1-1.noarch"])
        #expect(plan.kept.first { $0.file.package.nevra == "alpha-1-1.noarch" }?.reason.contains("pinned") == true)
        #expect(try tm.json([ArchivedFile].self, ["archive", "list"] + archive).count == 4, "a dry run deletes nothing")

        try tm.check(["archive", "unpin", "h@2020-01-15T00:00:00Z"])
        let done = try tm.json(GCReport.self, ["archive", "gc", "--keep-days", "0"] + archive)
        #expect(Set(done.deleted.map(\.package.nevra)) == ["alpha-1-1.noarch", "gamma-1-1.noarch"])
        let left = try tm.json([ArchivedFile].self, ["archive", "list"] + archive)
        #expect(Set(left.map(\.package.nevra)) == ["alpha-2-1.noarch", "beta-1-1.noarch"])
        let files = (FileManager.default.enumerator(atPath: dir.path("archive/packages"))?.allObjects as? [String] ?? []).filter { $0.hasSuffix(".rpm") }
        #expect(files.count == 2, "deleted files are gone from disk: \(files)")
    }
}
