import Foundation
import Testing
import TidemarkCore
import TidemarkHosts
import TidemarkTestSupport

@Suite struct ZyppHistoryTests {
    let utc = TimeZone(identifier: "UTC")!
    let berlin = TimeZone(identifier: "Europe/Berlin")!

    func ts(_ s: String) -> Timestamp { Timestamp.parseISO8601(s)! }

    /// Lines as libzypp writes them (taken from a real `zypper --root` run, plus the rarer records).
    let sample = """
        2026-11-24 19:51:27|radd   |r1|file:/tmp/exp-logs/repo|
        2026-11-24 19:51:27|command|root@vm|'zypper' '-n' '--root' '/tmp/r' 'in' 'foo-1.0'|
        # 2026-11-24 19:51:27 foo-1.0-1.noarch.rpm installed ok
        # Additional rpm output:
        #
        2026-11-24 19:51:27|install|foo|1.0-1|noarch|root@vm|r1|c1ef702c9a8869775a4a0c757bacce9bbad4a4baaf7dce8001f99a1eef4466cb|
        2026-11-24 19:51:28|command|root@vm|'zypper' '-n' 'up'|
        2026-11-24 19:51:28|install|foo|2:2.0-1.1|noarch||r1|6bd611c5|
        2026-11-24 19:51:29|command|root@vm|'zypper' '-n' 'rm' 'foo'|
        2026-11-24 19:51:29|remove |foo|2:2.0-1.1|noarch|root@vm|
        2026-11-24 19:51:30|rremove|r1|
        2026-11-24 19:51:31|install|pipe\\|name|1-1|x86_64|1234:PackageKit|r\\|2|abc|note \\| here

        """

    @Test func parsesRealRecords() {
        let p = ZyppHistory.parse(sample, file: "history", timeZone: utc)
        #expect(p.issues.isEmpty)
        #expect(p.lines == 12)
        #expect(p.records.count == 9)
        #expect(p.records[0].event == .repoAdd(alias: "r1", url: "file:/tmp/exp-logs/repo"))
        #expect(p.records[0].at == ts("2026-11-24T19:51:27Z"))
        #expect(p.records[1].event == .command(user: "root@vm", argv: ["zypper", "-n", "--root", "/tmp/r", "in", "foo-1.0"]))
        guard case .install(let foo1) = p.records[2].event else { Issue.record("not an install"); return }
        #expect(foo1.name == "foo" && foo1.evr == EVR(version: "1.0", release: "1") && foo1.arch == "noarch")
        #expect(foo1.requestedBy == "root@vm" && foo1.repoAlias == "r1" && foo1.checksum?.hasPrefix("c1ef70") == true)
        #expect(p.records[2].line == 6)
        guard case .install(let foo2) = p.records[4].event else { Issue.record("not an install"); return }
        #expect(foo2.evr == EVR(epoch: 2, version: "2.0", release: "1.1"))
        #expect(foo2.requestedBy == nil)  // pulled in by the solver
        guard case .remove(let rm) = p.records[6].event else { Issue.record("padded 'remove ' not read"); return }
        #expect(rm.name == "foo" && rm.requestedBy == "root@vm")
        #expect(p.records[7].event == .repoRemove(alias: "r1"))
        guard case .install(let piped) = p.records[8].event else { Issue.record("escaped record not read"); return }
        #expect(piped.name == "pipe|name" && piped.repoAlias == "r|2" && piped.userData == "note | here")
        #expect(piped.requestedBy == "1234:PackageKit")
    }

    @Test func malformedLinesAreReportedWithFileAndLineAndSkipped() {
        let text = """
            2025-01-21 10:00:00|install|ok|1-1|x86_64||repo|sum|
            2025-01-21 10:00:01|install|short|1-1|x86_64
            2025-13-21 10:00:02|install|badtime|1-1|x86_64||repo|sum|
            2025-01-21 10:00:03|install|badevr|1.0|x86_64||repo|sum|
            2025-01-21 10:00:04|install|badepoch|x:1-1|x86_64||repo|sum|
            2025-01-21 10:00:05|frobnicate|x|
            just some text
            2025-01-21 10:00:06|remove |ok|1-1|x86_64||
            """
        let p = ZyppHistory.parse(text, file: "/var/log/zypp/history", timeZone: utc)
        #expect(p.records.count == 2)
        #expect(p.issues.map(\.line) == [2, 3, 4, 5, 6, 7])
        #expect(p.issues.allSatisfy { $0.file == "/var/log/zypp/history" })
        #expect(p.issues[0].message.contains("fields"))
        #expect(p.issues[1].message.contains("bad time"))
        #expect(p.issues[2].message.contains("bad version"))
        #expect(p.issues[4].message.contains("unknown action"))
        #expect(p.issues[0].description.hasPrefix("/var/log/zypp/history:2: "))
    }

    @Test func olderRecordsWithoutUserDataFieldAreAccepted() {
        let text = "2015-06-01 08:00:00|install|foo|1-1|x86_64|root@h|repo|sum\n2015-06-01 08:00:01|remove |foo|1-1|x86_64|root@h\n"
        let p = ZyppHistory.parse(text, file: "h", timeZone: utc)
        #expect(p.issues.isEmpty)
        #expect(p.records.count == 2)
    }

    @Test func localTimesBecomeUTCAcrossDST() {
        // Berlin: 2024-03-31 02:00 CET jumps to 03:00 CEST; 2024-10-27 03:00 CEST back to 02:00 CET.
        let text = """
            2024-01-15 12:00:00|install|winter|1-1|x86_64||r|s|
            2024-07-15 12:00:00|install|summer|1-1|x86_64||r|s|
            2024-10-27 02:30:00|install|first-0230|1-1|x86_64||r|s|
            2024-10-27 02:10:00|install|second-0210|1-1|x86_64||r|s|
            2024-03-31 02:30:00|install|skipped-hour|1-1|x86_64||r|s|
            """
        let p = ZyppHistory.parse(text, file: "h", timeZone: berlin)
        #expect(p.issues.isEmpty)
        let at = p.records.map(\.at)
        #expect(at[0] == ts("2024-01-15T11:00:00Z"))
        #expect(at[1] == ts("2024-07-15T10:00:00Z"))
        #expect(at[2] == ts("2024-10-27T00:30:00Z"))  // first 02:30 (CEST)
        #expect(at[3] == ts("2024-10-27T01:10:00Z"))  // 02:10 after it: the repeated hour (CET)
        #expect(at[4] == ts("2024-03-31T01:30:00Z"))  // not a real Berlin time: read with CET
        // A fixed zone given by the operator.
        let fixed = try! TimeZoneDetection.parse("+05:30")
        #expect(ZyppHistory.parse("2024-01-15 12:00:00|rremove|x|\n", file: "h", timeZone: fixed).records[0].at == ts("2024-01-15T06:30:00Z"))
    }

    @Test func transactionsStartAtCommandsAndTakeTheLastPackageTime() {
        let text = """
            2025-01-01 09:00:00|install|installer-a|1-1|x86_64||r|s|
            2025-01-01 09:00:00|install|installer-b|1-1|x86_64||r|s|
            2025-01-01 09:00:05|install|installer-c|1-1|x86_64||r|s|
            2025-01-02 10:00:00|command|root@h|'zypper' 'dup'|
            2025-01-02 10:00:03|install|a|2-1|x86_64||r|s|
            2025-01-02 10:00:09|remove |b|1-1|x86_64||
            2025-01-02 10:00:09|radd   |new|http://x|
            2025-01-03 10:00:00|command|root@h|'zypper' 'ref'|
            2025-01-04 10:00:00|command|root@h|'zypper' 'in' 'late'|
            2025-01-04 10:00:01|install|late|1-1|x86_64|root@h|r|s|
            2025-01-04 12:00:00|install|pk|1-1|x86_64|99:packagekitd|r|s|
            """
        let p = ZyppHistory.parse(text, file: "h", timeZone: utc)
        let tx = ZyppHistory.transactions(p.records)
        // installer-a+b (same second), installer-c, dup, ref, in late, the PackageKit install 2h later
        #expect(tx.count == 6)
        #expect(tx[0].records.count == 2 && tx[0].argv == nil)
        #expect(tx[2].argv == ["zypper", "dup"])
        #expect(tx[2].at == ts("2025-01-02T10:00:09Z"))
        #expect(tx[2].logged.changes.map(\.action) == [.install, .remove])
        #expect(tx[2].logged.origin == "h:4")
        #expect(tx[3].logged.changes.isEmpty && tx[3].at == ts("2025-01-03T10:00:00Z"))
        #expect(tx[5].argv == nil && tx[5].logged.changes.map(\.name) == ["pk"])
    }

    @Test func commandLinesAreUnquoted() {
        let p = ZyppHistory.parse(
            #"2025-01-01 09:00:00|command|root@h|'zypper' 'in' 'a b' 'it'\''s' "dq"|"#, file: "h", timeZone: utc)
        #expect(p.records.first?.event == .command(user: "root@h", argv: ["zypper", "in", "a b", "it's", "dq"]))
    }
}

@Suite struct LogFilesTests {
    func write(_ text: String, _ path: String) throws {
        try FileSystem.write(text, to: path)
    }

    @Test func rotatedCompressedLogsAreReadOldestFirst() throws {
        let tmp = try TemporaryDirectory("logfiles")
        defer { tmp.remove() }
        let dir = try tmp.makeDirectory("root/var/log/zypp")
        let line = { (d: String, n: String) in "\(d) 10:00:00|install|\(n)|1-1|x86_64||r|s|\n" }
        // Oldest in a numbered .2.xz, then a dated .gz, .bz2, .zst, a plain .1, and the live file.
        try write(line("2024-01-01", "a"), dir + "/history.2")
        try Subprocess.check("xz", [dir + "/history.2"])
        try write(line("2024-02-01", "b"), dir + "/history-20240201")
        try Subprocess.check("gzip", [dir + "/history-20240201"])
        try write(line("2024-03-01", "c"), dir + "/history-20240301")
        try Subprocess.check("bzip2", [dir + "/history-20240301"])
        try write(line("2024-04-01", "d"), dir + "/history-20240401")
        try Subprocess.check("zstd", ["-q", "--rm", dir + "/history-20240401"])
        try write(line("2024-05-01", "e"), dir + "/history.1")
        try write(line("2024-06-01", "f"), dir + "/history")
        try write("not a log", dir + "/history.lock")
        try write("not a log", dir + "/historyfile")

        let files = try LogFiles.zyppHistory(root: tmp.path("root"))
        #expect(files.map { ($0.path as NSString).lastPathComponent } == [
            "history.2.xz", "history-20240201.gz", "history-20240301.bz2", "history-20240401.zst", "history.1", "history",
        ])
        #expect(files.map(\.text) == ["a", "b", "c", "d", "e", "f"].enumerated().map { line("2024-0\($0.offset + 1)-01", $0.element) })
        #expect(try LogFiles.dpkgLog(root: tmp.path("root")).isEmpty)
        #expect(try LogFiles.zyppHistory(root: tmp.path("nonexistent")).isEmpty)
    }

    @Test func corruptCompressedFileIsAnError() throws {
        let tmp = try TemporaryDirectory("logfiles")
        defer { tmp.remove() }
        let dir = try tmp.makeDirectory("root/var/log")
        try FileSystem.write([0x1f, 0x8b, 0x08, 0x00, 0x01, 0x02], to: dir + "/dpkg.log.2.gz")
        #expect(throws: TidemarkError.self) { try LogFiles.dpkgLog(root: tmp.path("root")) }
    }

    @Test func timeZoneDetection() throws {
        let tmp = try TemporaryDirectory("tz")
        defer { tmp.remove() }
        let root = tmp.path
        #expect(TimeZoneDetection.zone(root: root).secondsFromGMT() == 0)  // nothing configured: UTC
        try FileSystem.write("TIMEZONE=\"America/New_York\"\nDEFAULT_TIMEZONE=\"US/Eastern\"\n", to: root + "/etc/sysconfig/clock")
        #expect(TimeZoneDetection.zone(root: root).identifier == "America/New_York")
        try FileSystem.write("Asia/Tokyo\n", to: root + "/etc/timezone")
        #expect(TimeZoneDetection.zone(root: root).identifier == "Asia/Tokyo")
        try FileManager.default.createSymbolicLink(atPath: root + "/etc/localtime", withDestinationPath: "../usr/share/zoneinfo/Europe/Berlin")
        #expect(TimeZoneDetection.zone(root: root).identifier == "Europe/Berlin")
        #expect(TimeZoneDetection.detect(root: root).source.contains("zoneinfo/Europe/Berlin"))
    }

    @Test func userGivenTimeZones() throws {
        #expect(try TimeZoneDetection.parse("Europe/Berlin").identifier == "Europe/Berlin")
        #expect(try TimeZoneDetection.parse("UTC").secondsFromGMT() == 0)
        #expect(try TimeZoneDetection.parse("-0800").secondsFromGMT() == -8 * 3600)
        #expect(try TimeZoneDetection.parse("+01:00").secondsFromGMT() == 3600)
        do {
            _ = try TimeZoneDetection.parse("Mars/Olympus_Mons")
            Issue.record("an unknown zone was accepted")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains("Mars/Olympus_Mons") && error.message.contains("Europe/Berlin"))
        }
        #expect(throws: TidemarkError.self) { try TimeZoneDetection.parse("+25:00") }
    }
}
