import Foundation
import Testing
import TidemarkCore
import TidemarkTestSupport

/// A root of hundreds of packages from ONE rpmbuild run (a spec of subpackages), installed with
/// real rpm: the snapshot must list exactly what `rpm -qa` lists, digests included, and a second
/// snapshot of the unchanged root must point at the same stored state.
@Suite struct ManyPackagesTests {
    @Test func hundredsOfPackagesFromOneSpecRecordExactly() throws {
        let dir = try TemporaryDirectory("cli-many")
        let builder = try RPMBuilder(directory: try dir.makeDirectory("build"))
        let rpms = try builder.buildMany(prefix: "fleetpkg", count: 400, version: "2.1", release: "3.1", vendor: "openSUSE")
        #expect(rpms.count == 400)
        let root = try RPMRoot(path: dir.path("root"))
        try root.rpmInstall(rpms, nodeps: true)
        let tidemark = try TidemarkExecutable(db: dir.path("t.sqlite"))
        try tidemark.check(["snapshot", "--root", root.path, "--host", "big", "--at", "2025-01-21T10:00:00Z"])
        try tidemark.check(["snapshot", "--root", root.path, "--host", "big", "--at", "2025-01-22T10:00:00Z"])
        let shown = try tidemark.json(ShowResult.self, ["show", "big"])
        let rpm = try root.rpmQA()
        #expect(Set(shown.packages.map { "\($0.name) \($0.evr) \($0.arch) \($0.digest ?? "-") \($0.installTime?.seconds ?? 0)" })
                == Set(rpm.map { "\($0.package.name) \($0.package.evr) \($0.package.arch) \($0.package.digest ?? "-") \($0.installTime ?? 0)" }))
        let hosts = try tidemark.json([HostSummary].self, ["hosts"])
        #expect(hosts.map(\.observations) == [2] && hosts.map(\.packages) == [400])
        let history = try tidemark.json(HistoryResult.self, ["history", "big"])
        #expect(history.entries.count == 1 && history.entries[0].observations == 2)
    }
}
