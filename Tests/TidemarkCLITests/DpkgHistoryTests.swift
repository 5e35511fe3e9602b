import Foundation
import Testing
import TidemarkCore
import TidemarkHosts
import TidemarkTestSupport

/// Debian hosts end to end: real .debs from dpkg-deb, a root changed by real dpkg (install,
/// upgrade, downgrade, remove leaving config files), recorded by the real `tidemark`, compared with
/// dpkg-query at every step; then the same past reconstructed from dpkg.log alone.
@Suite struct DpkgHistoryTests {
    @Test func everyStepEqualsDpkgQueryAndBackfillReproducesTheSteps() throws {
        let dir = try TemporaryDirectory("cli-dpkg")
        let builder = try DebBuilder(directory: try dir.makeDirectory("debs"))
        let root = try DpkgRoot(path: try dir.makeDirectory("hosts/deb1"))
        let tidemark = try TidemarkExecutable(db: dir.path("tidemark.sqlite"))
        func deb(_ name: String, _ version: String, source: String? = nil, conf: Bool = false) throws -> String {
            try builder.build(DebSpec(package: name, version: version, architecture: "amd64", source: source,
                                      files: [PackageFile("/etc/\(name).conf", contents: "x\n", isConfig: conf)]))
        }
        var captured: [(Timestamp, Set<String>)] = []
        func step(_ change: () throws -> Void) throws {
            Thread.sleep(forTimeInterval: 1.1)
            try change()
            let report = try tidemark.json(SnapshotReport.self, ["snapshot", "--root", root.path, "--host", "deb1"])
            let shown = try tidemark.json(ShowResult.self, ["show", "deb1"])
            let query = try root.dpkgQuery()
            #expect(Set(shown.packages.map { "\($0.name) \($0.evr) \($0.arch) \($0.status ?? "")" })
                    == Set(query.map { "\($0.package) \($0.version) \($0.architecture) \($0.status)" }))
            for q in query where !q.source.isEmpty {
                #expect(shown.packages.first { $0.name == q.package }?.source == q.source)
            }
            captured.append((report.at, Set(shown.packages.map { "\($0.name) \($0.evr) \($0.status ?? "")" })))
        }
        try step { try root.install([try deb("libfoo1", "1.0-1", source: "foo (1.0-1)"), try deb("tool", "2:3.1~rc1-1", conf: true)]) }
        try step { try root.install([try deb("libfoo1", "1.1-1", source: "foo (1.1-1)"), try deb("tool", "2:3.1-1", conf: true)]) }
        try step { try root.install([try deb("libfoo1", "1.0-1", source: "foo (1.0-1)")]) }
        try step { try root.remove(["tool"]) }  // leaves config-files

        let history = try tidemark.json(HistoryResult.self, ["history", "deb1"])
        try #require(history.entries.count == 4)
        #expect(history.entries[1].changes.contains { $0.name == "tool" && $0.kind == .upgraded && $0.from == "2:3.1~rc1-1" && $0.to == "2:3.1-1" })
        #expect(history.entries[2].changes.map(\.kind) == [.downgraded])
        #expect(history.entries[2].changes.first?.source == "foo")

        let fresh = try TidemarkExecutable(db: dir.path("backfilled.sqlite"))
        let report = try fresh.json(SnapshotReport.self, ["snapshot", "--root", root.path, "--host", "deb1", "--backfill", "--log-timezone", "UTC"])
        #expect(report.backfill?.malformedLines == 0)
        let past = try fresh.json(HistoryResult.self, ["history", "deb1"]).entries.filter { $0.source == .backfill }
        try #require(past.count == captured.count)
        for (b, c) in zip(past, captured) {
            let state = try fresh.json(ShowResult.self, ["show", "state:" + b.state.hex])
            let names = Set(state.packages.map { "\($0.name) \($0.evr)" })
            #expect(names == Set(c.1.map { $0.split(separator: " ").prefix(2).joined(separator: " ") }), "at \(b.at)")
            #expect(b.at <= c.0 && c.0.seconds - b.at.seconds < 30)
        }
    }
}
