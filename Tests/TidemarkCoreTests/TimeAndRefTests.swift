import Testing
import TidemarkCore

@Suite struct TimeAndRefTests {
    @Test func parsesISO8601Forms() throws {
        #expect(Timestamp.parseISO8601("2025-01-21T10:00:00Z")?.seconds == 1_737_453_600)
        #expect(Timestamp.parseISO8601("2025-01-21T11:00:00+01:00")?.seconds == 1_737_453_600)
        #expect(Timestamp.parseISO8601("2025-01-21T11:00:00+0100")?.seconds == 1_737_453_600)
        #expect(Timestamp.parseISO8601("2025-01-21 10:00")?.seconds == 1_737_453_600)
        #expect(Timestamp.parseISO8601("2025-01-21T10:00:00.250Z")?.seconds == 1_737_453_600)
        #expect(Timestamp.parseISO8601("2025-01-21")?.seconds == 1_737_417_600)
        #expect(Timestamp.parseISO8601("1970-01-01T00:00:00Z")?.seconds == 0)
        for bad in ["2025-02-30", "2025-13-01", "2025-01-21T25:00", "yesterday", "2025-1-2", "2025-01-21T10:00:00Zjunk", ""] {
            #expect(Timestamp.parseISO8601(bad) == nil, "\(bad)")
        }
    }

    @Test func formatsAndRoundTripsAcrossCenturies() {
        for s: Int64 in [0, 1, 86_399, 86_400, 951_782_400, 1_737_453_600, 4_102_444_800, -86_400] {
            let t = Timestamp(seconds: s)
            #expect(Timestamp.parseISO8601(t.iso8601) == t, "\(s) -> \(t.iso8601)")
        }
        #expect(Timestamp(seconds: 951_782_400).iso8601 == "2000-02-29T00:00:00Z")
    }

    @Test func relativeTimes() throws {
        let now = Timestamp(seconds: 1_000_000)
        #expect(try TimeSpec.parse("-2h").resolve(now: now).seconds == 1_000_000 - 7200)
        #expect(try TimeSpec.parse("-3d").resolve(now: now).seconds == 1_000_000 - 3 * 86400)
        #expect(try TimeSpec.parse("-30m").resolve(now: now).seconds == 1_000_000 - 1800)
        #expect(try TimeSpec.parse("-1w").resolve(now: now).seconds == 1_000_000 - 604_800)
        #expect(try TimeSpec.parse("now").resolve(now: now) == now)
        #expect(throws: TidemarkError.self) { try TimeSpec.parse("-2y") }
        #expect(throws: TidemarkError.self) { try TimeSpec.parse("2h") }
    }

    @Test func refs() throws {
        #expect(try Ref.parse("worker14") == .host("worker14"))
        #expect(try Ref.parse("worker14@2025-01-21") == .hostAt("worker14", .absolute(Timestamp(seconds: 1_737_417_600))))
        #expect(try Ref.parse("worker14@-2h") == .hostAt("worker14", .ago(7200)))
        #expect(try Ref.parse("state:3FA2b1") == .state(prefix: "3fa2b1"))
        #expect(try Ref.parse("file:/tmp/worker_packages.txt") == .file(path: "/tmp/worker_packages.txt"))
        for bad in ["", "@-2h", "state:xyz", "state:12", "file:", "worker14@tuesday"] {
            #expect(throws: TidemarkError.self, "\(bad)") { try Ref.parse(bad) }
        }
    }

    @Test func hostNames() throws {
        try Observation.validateHostName("openqaworker14.qa.suse.cz")
        for bad in ["", "a b", "a@b", "a/b", "tab\there"] {
            #expect(throws: TidemarkError.self) { try Observation.validateHostName(bad) }
        }
    }
}

/// Times beyond what Tidemark accepts are refused or clamped, never a trap (a trap ends the server).
@Suite struct ExtremeTimeTests {
    @Test func hugeRelativeTimesAreRefusedAndEveryTimePrints() throws {
        for text in ["-9999999999999999w", "-999999999999999999s", "-+5w", "- 5w"] {
            #expect(throws: TidemarkError.self, "\(text)") { try TimeSpec.parse(text) }
        }
        let far = try TimeSpec.parse("-500000w")  // about 9,600 years: accepted, clamped to the year 1
        #expect(far.resolve(now: Timestamp(seconds: 1_800_000_000)).seconds == Timestamp.supported.lowerBound)
        #expect(Timestamp(seconds: Timestamp.supported.lowerBound).iso8601 == "0001-01-01T00:00:00Z")
        #expect(Timestamp(seconds: -70_000_000_000).iso8601.hasPrefix("-"), "before the year 1 it still prints")
        #expect(Timestamp(seconds: Timestamp.supported.upperBound).iso8601 == "9999-12-31T23:59:59Z")
    }
}
