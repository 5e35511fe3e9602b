import Foundation
import Testing
import TidemarkCore
import TidemarkHosts
import TidemarkTestSupport

/// Agentless imports through the real CLI: `rpm -qa` lists as openQA workers upload them, and the
/// three shapes of salt's pkg.list_pkgs JSON. Bad input names file and line and stores nothing.
@Suite struct ImportTests {
    @Test func rpmQAListOfARealRootImportsExactlyAndDiffsCleanAgainstTheSnapshot() throws {
        let dir = try TemporaryDirectory("cli-import")
        let builder = try RPMBuilder(directory: try dir.makeDirectory("build"))
        let rpms = try builder.build(RPMSpec(name: "perl-Mojo-IOLoop-ReadWriteProcess", version: "0.34", release: "1.1",
                                              subpackages: [RPMSubpackage(name: "python3.11-foo-bar", summary: "dots and dashes")]))
            + (try builder.build(RPMSpec(name: "libstdc++6-devel-gcc13", epoch: 2, version: "13.3.0+git8781", release: "1.1", arch: "x86_64")))
        let root = try RPMRoot(path: dir.path("root"))
        try root.rpmInstall(rpms)
        let list = dir.path("worker_packages.txt")
        try FileSystem.write(try root.rpmQuery("%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}\\n"), to: list)
        let tidemark = try TidemarkExecutable(db: dir.path("t.sqlite"))

        try tidemark.check(["import", "rpm-qa", list, "--host", "openqaworker14", "--at", "2025-01-21T10:00:00Z"])
        let shown = try tidemark.json(ShowResult.self, ["show", "openqaworker14"])
        #expect(Set(shown.packages.map { "\($0.name)-\($0.version)-\($0.release).\($0.arch)" })
                == Set(try root.rpmQA().map { "\($0.package.name)-\($0.package.evr.version)-\($0.package.evr.release).\($0.package.arch)" }))
        #expect(shown.state.source == .importRPMQA)

        // the same list as a file: ref, and the real snapshot of the root, differ in nothing but epochs
        try tidemark.check(["snapshot", "--root", root.path, "--host", "snap", "--at", "2025-01-21T10:00:00Z"])
        let d = try tidemark.json(DiffResult.self, ["diff", "file:" + list, "openqaworker14"])
        #expect(d.changes.isEmpty)
        let againstSnapshot = try tidemark.json(DiffResult.self, ["diff", "file:" + list, "snap"])
        // rpm -qa's default format drops the epoch: only the epoch-2 package may differ
        #expect(againstSnapshot.changes.allSatisfy { $0.name == "libstdc++6-devel-gcc13" })
    }

    @Test func aMalformedListNamesTheLineAndStoresNothing() throws {
        let dir = try TemporaryDirectory("cli-import-bad")
        let list = dir.path("worker_packages.txt")
        try FileSystem.write("bash-5.2.37-1.1.x86_64\nthis is not a package\n", to: list)
        let tidemark = try TidemarkExecutable(db: dir.path("t.sqlite"))
        let r = try tidemark.run(["import", "rpm-qa", list, "--host", "w1", "--at", "-1h"])
        #expect(r.status != 0)
        #expect(r.stderrText.contains("\(list):2"), "\(r.stderrText)")
        #expect(try tidemark.json([HostSummary].self, ["hosts"]).isEmpty)
    }

    @Test func saltInItsThreeShapesOneObservationPerMinion() throws {
        let dir = try TemporaryDirectory("cli-salt")
        let tidemark = try TidemarkExecutable(db: dir.path("t.sqlite"))
        let plain = """
            {"worker1": {"bash": "5.2.37-1.1", "perl-Mojo-IOLoop-ReadWriteProcess": "0.34-1.1"}}
            {"worker2": {"bash": "5.2.37-1.1", "perl-Mojo-IOLoop-ReadWriteProcess": "0.34-1.2"}}
            {"worker3": "Minion did not return. [No response]"}
            """
        let r = try tidemark.run(["import", "salt", "-", "--at", "2025-01-21T10:00:00Z"], stdin: plain)
        #expect(r.status == 0)
        #expect(r.stderrText.contains("worker3"))
        let w = try tidemark.json(WhereResult.self, ["where", "perl-Mojo-IOLoop-ReadWriteProcess"])
        #expect(w.versions.map(\.evr) == ["0.34-1.2", "0.34-1.1"])
        #expect(w.versions.map(\.hosts) == [["worker2"], ["worker1"]])

        let asList = #"{"worker4": {"kernel-default": ["6.4.0-150600.23.25.1", "6.4.0-150600.23.30.1"], "bash": ["5.2.37-1.1"]}}"#
        try tidemark.check(["import", "salt", "-", "--at", "2025-01-21T11:00:00Z"], stdin: asList)
        #expect(try tidemark.json(ShowResult.self, ["show", "worker4"]).packages.filter { $0.name == "kernel-default" }.count == 2)

        let attr = #"{"worker5": {"bash": [{"epoch": "1", "version": "5.2.37", "release": "1.1", "arch": "x86_64"}]}}"#
        try tidemark.check(["import", "salt", "-", "--at", "2025-01-21T12:00:00Z"], stdin: attr)
        let bash = try #require(try tidemark.json(ShowResult.self, ["show", "worker5"]).packages.first)
        #expect(bash.epoch == 1 && bash.version == "5.2.37" && bash.release == "1.1" && bash.arch == "x86_64")

        let broken = try tidemark.run(["import", "salt", "-"], stdin: "{\"worker6\": {\"bash\": ")
        #expect(broken.status != 0 && broken.stderrText.contains("stdin"))
        #expect(try tidemark.json([HostSummary].self, ["hosts"]).map(\.host) == ["worker1", "worker2", "worker4", "worker5"])
    }
}
