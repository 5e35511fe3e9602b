import Foundation
import Testing
import TidemarkCore
import TidemarkHosts
import TidemarkTestSupport

@Suite struct DpkgLogTests {
    let utc = TimeZone(identifier: "UTC")!

    func ts(_ s: String) -> Timestamp { Timestamp.parseISO8601(s)! }
    func v(_ s: String) -> EVR { DebianVersion.parse(s)! }

    /// As dpkg 1.21 writes it (from a real `dpkg --root` run: install, upgrade, downgrade,
    /// remove, reinstall over config-files, purge).
    let sample = """
        2026-11-24 19:58:07 startup archives install
        2026-11-24 19:58:07 install bar:all <none> 1.0-1
        2026-11-24 19:58:07 status half-installed bar:all 1.0-1
        2026-11-24 19:58:07 status unpacked bar:all 1.0-1
        2026-11-24 19:58:07 configure bar:all 1.0-1 1.0-1
        2026-11-24 19:58:07 status installed bar:all 1.0-1
        2026-11-24 19:58:08 startup archives install
        2026-11-24 19:58:08 upgrade bar:all 1.0-1 1:2.0-1
        2026-11-24 19:58:08 conffile /etc/bar.conf keep
        2026-11-24 19:58:08 status installed bar:all 1:2.0-1
        2026-11-24 19:58:09 startup packages remove
        2026-11-24 19:58:09 remove bar:all 1:2.0-1 <none>
        2026-11-24 19:58:09 status config-files bar:all 1:2.0-1
        2026-11-24 19:58:10 startup archives install
        2026-11-24 19:58:10 install bar:all 1:2.0-1 1:2.0-1
        2026-11-24 19:58:11 startup packages purge
        2026-11-24 19:58:11 remove bar:all 1:2.0-1 <none>
        2026-11-24 19:58:11 purge bar:all 1:2.0-1 <none>
        2026-11-24 19:58:11 status not-installed bar:all <none>
        2026-11-24 19:58:12 trigproc man-db:amd64 2.9.4-2 <none>

        """

    @Test func parsesRealLines() {
        let p = DpkgLog.parse(sample, file: "dpkg.log", timeZone: utc)
        #expect(p.issues.isEmpty)
        #expect(p.lines == 20)
        #expect(p.records.count == 20)
        #expect(p.records[0].event == .startup("archives install"))
        #expect(p.records[1].event == .package(.install, name: "bar", arch: "all", old: nil, new: v("1.0-1")))
        #expect(p.records[2].event == .status(state: "half-installed", name: "bar", arch: "all", version: v("1.0-1")))
        #expect(p.records[7].event == .package(.upgrade, name: "bar", arch: "all", old: v("1.0-1"), new: v("1:2.0-1")))
        #expect(p.records[8].event == .conffile(path: "/etc/bar.conf", decision: "keep"))
        #expect(p.records[18].event == .status(state: "not-installed", name: "bar", arch: "all", version: nil))
        #expect(p.records[19].event == .package(.trigproc, name: "man-db", arch: "amd64", old: v("2.9.4-2"), new: nil))
        #expect(p.records[1].at == ts("2026-11-24T19:58:07Z"))
        #expect(p.records[1].line == 2)
    }

    @Test func runsAreTransactionsAndTheLogOrderResolvesConfigFiles() {
        let p = DpkgLog.parse(sample, file: "dpkg.log", timeZone: utc)
        let runs = DpkgLog.transactions(p.records)
        #expect(runs.count == 5)
        #expect(runs.map(\.startup) == ["archives install", "archives install", "packages remove", "archives install", "packages purge"])
        #expect(runs[4].at == ts("2026-11-24T19:58:11Z"))
        let logged = DpkgLog.logged(runs)
        #expect(logged[0].changes == [LoggedPackageChange(action: .install, name: "bar", arch: "all", evr: v("1.0-1"), previous: .none)])
        #expect(logged[1].changes == [LoggedPackageChange(action: .install, name: "bar", arch: "all", evr: v("1:2.0-1"), previous: .version(v("1.0-1")))])
        #expect(logged[2].changes == [LoggedPackageChange(action: .remove, name: "bar", arch: "all", evr: v("1:2.0-1"))])
        // Reinstalled over config-files: dpkg names the config-files version, nothing was installed.
        #expect(logged[3].changes == [LoggedPackageChange(action: .install, name: "bar", arch: "all", evr: v("1:2.0-1"), previous: .none)])
        // `dpkg -P` logs remove then purge: one removal.
        #expect(logged[4].changes == [LoggedPackageChange(action: .remove, name: "bar", arch: "all", evr: v("1:2.0-1"))])
        #expect(logged[4].origin == "dpkg.log:16")
    }

    @Test func purgeStraightFromInstalledIsARemovalAndPurgeOfUnknownIsNothing() {
        let text = """
            2025-01-01 10:00:00 startup archives unpack
            2025-01-01 10:00:00 install a:amd64 <none> 1
            2025-01-02 10:00:00 startup packages purge
            2025-01-02 10:00:00 purge a:amd64 1 <none>
            2025-01-02 10:00:00 purge old:amd64 3 <none>
            """
        let logged = DpkgLog.logged(DpkgLog.transactions(DpkgLog.parse(text, file: "l", timeZone: utc).records))
        #expect(logged[1].changes == [LoggedPackageChange(action: .remove, name: "a", arch: "amd64", evr: v("1"))])
    }

    @Test func linesBeforeAnyStartupAndArchlessOldLogs() {
        let text = """
            2012-01-01 10:00:00 install foo <none> 1.0
            2012-01-01 10:00:01 status installed foo 1.0
            2012-01-01 10:00:02 upgrade foo 1.0 1.1
            """
        let p = DpkgLog.parse(text, file: "l", timeZone: utc)
        #expect(p.issues.isEmpty)
        let runs = DpkgLog.transactions(p.records)
        #expect(runs.count == 1 && runs[0].startup == nil && runs[0].at == ts("2012-01-01T10:00:02Z"))
        #expect(DpkgLog.logged(runs)[0].changes.map(\.arch) == ["", ""])
    }

    @Test func malformedLinesAreReportedWithFileAndLine() {
        let text = """
            2025-01-01 10:00:00 startup archives unpack
            2025-01-01 10:00:01 install a:amd64 <none>
            2025-01-01 25:00:02 install b:amd64 <none> 1
            2025-01-01 10:00:03 install c:amd64 <none> 1.0-
            2025-01-01 10:00:04 upgrade d:amd64 1 <none>
            2025-01-01 10:00:05 explode e:amd64 1 2
            garbage
            2025-01-01 10:00:06 remove :amd64 1 <none>
            2025-01-01 10:00:07 install f:amd64 <none> 1:
            2025-01-01 10:00:08 install ok:amd64 <none> 1
            """
        let p = DpkgLog.parse(text, file: "/var/log/dpkg.log", timeZone: utc)
        #expect(p.records.count == 2)
        #expect(p.issues.map(\.line) == [2, 3, 4, 5, 6, 7, 8, 9])
        #expect(p.issues.allSatisfy { $0.file == "/var/log/dpkg.log" })
        #expect(p.issues[1].message.contains("bad time"))
        #expect(p.issues[4].message.contains("unknown action"))
    }

    @Test func localTimeWithDST() {
        let ny = TimeZone(identifier: "America/New_York")!
        let text = """
            2024-11-03 01:30:00 startup archives unpack
            2024-11-03 01:10:00 install a:amd64 <none> 1
            2024-03-10 02:30:00 install b:amd64 <none> 1
            """
        let p = DpkgLog.parse(text, file: "l", timeZone: ny)
        #expect(p.records[0].at == ts("2024-11-03T05:30:00Z"))  // EDT
        #expect(p.records[1].at == ts("2024-11-03T06:10:00Z"))  // the repeated hour, EST
        #expect(p.records[2].at == ts("2024-03-10T07:30:00Z"))  // skipped hour, read as EST
    }
}
