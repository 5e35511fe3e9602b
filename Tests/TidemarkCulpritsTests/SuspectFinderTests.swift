import Foundation
import Testing
import TidemarkCore
import TidemarkCulprits
import TidemarkStore
import TidemarkTestSupport

/// Suspects from a real store: observations as the agents record them, signals as an import
/// records them, and the ranking the operator reads.
@Suite struct SuspectFinderTests {
    static let t0: Int64 = 1_737_450_000  // 2025-01-21T09:00:00Z
    static func at(_ hours: Double) -> Int64 { t0 + Int64(hours * 3600) }

    static func pkg(_ name: String, _ version: String) -> Package {
        Package(format: .rpm, name: name, evr: EVR(version: version, release: "1.1"), arch: "noarch", digest: "md5-\(name)-\(version)", source: "\(name)-\(version)-1.1.src.rpm")
    }

    /// A fleet of hosts with packages p1…p6 at 1.0, each changed at the given hours.
    struct Fleet {
        var observations: [Observation] = []
        var signals: [Signal] = []
        var current: [String: [String: String]] = [:]

        mutating func host(_ name: String, at hours: Double = 0) {
            current[name] = Dictionary(uniqueKeysWithValues: (1...6).map { ("p\($0)", "1.0") })
            record(name, hours)
        }

        mutating func update(_ name: String, _ packages: [String], at hours: Double) {
            for p in packages { current[name]![p] = "2.0" }
            record(name, hours)
        }

        mutating func record(_ name: String, _ hours: Double) {
            let packages = current[name]!.map { SuspectFinderTests.pkg($0.key, $0.value) }
            observations.append(Observation(host: name, at: Timestamp(seconds: SuspectFinderTests.at(hours)), state: PackageState(packages), source: .snapshot))
        }

        mutating func signal(_ name: String, _ status: Signal.Status, at hours: Double, reason: String? = nil) {
            signals.append(Signal(host: name, at: Timestamp(seconds: SuspectFinderTests.at(hours)), status: status, reason: reason, source: "test", externalID: "test:\(signals.count)"))
        }
    }

    static let reason = "setup failure: isotovideo can not be started"

    static func report(_ fleet: Fleet, reason: String? = nil, window: Int64 = 48 * 3600, at hours: Double = 10, test: String? = nil) async throws -> SuspectReport {
        let dir = try TemporaryDirectory("suspects")
        defer { dir.remove() }
        let store = try await SQLHistoryStore.openSQLite(path: dir.path("store.sqlite"))
        do {
            for o in fleet.observations.sorted(by: { $0.at < $1.at }) { _ = try await store.record([o]) }
            let culprits = SQLCulpritStore(backend: store.backend)
            _ = try await culprits.recordSignals(fleet.signals, now: Timestamp(seconds: at(hours)))
            let r = try await SuspectFinder(history: store, culprits: culprits).report(
                reason: try reason.map { try NSRegularExpression(pattern: $0) }, window: window, at: Timestamp(seconds: at(hours)), test: test)
            try await store.close()
            return r
        } catch {
            try? await store.close()
            throw error
        }
    }

    /// Staggered updates: p3 reached the failing hosts at different times, each shortly before
    /// its first failure, and no healthy host ever had it; other updates are contradicted by
    /// healthy hosts or miss failing ones.
    @Test func theChangeThatFitsEveryFailureAndNoHealthyHostRanksFirst() async throws {
        var f = Fleet()
        for h in ["w1", "w2", "w3", "w4", "w5", "w6"] { f.host(h) }
        f.update("w1", ["p1", "p2"], at: 1)
        f.update("w1", ["p3"], at: 2)
        f.update("w2", ["p3"], at: 1)
        f.update("w3", ["p1"], at: 1)
        f.update("w3", ["p3", "p4"], at: 3)
        f.update("w4", ["p1", "p2", "p4"], at: 1)
        f.update("w6", ["p2"], at: 2)
        for h in ["w1", "w2", "w3", "w4", "w5", "w6"] { f.signal(h, .healthy, at: 0.5) }
        f.signal("w1", .failing, at: 2.5, reason: Self.reason)
        f.signal("w1", .failing, at: 3.5, reason: Self.reason)
        f.signal("w2", .failing, at: 1.2, reason: Self.reason)
        f.signal("w3", .failing, at: 3.3, reason: Self.reason)
        f.signal("w4", .healthy, at: 2)
        f.signal("w4", .healthy, at: 4)
        f.signal("w5", .healthy, at: 4)
        f.signal("w6", .healthy, at: 3)
        // a failure for another reason on a healthy host: not this incident
        f.signal("w5", .failing, at: 4.5, reason: "test failed: needle not found")

        let r = try await Self.report(f, reason: "isotovideo")
        #expect(r.failing.map(\.host) == ["w1", "w2", "w3"], "w5's other failure does not count")
        let top = try #require(r.suspects.first)
        #expect(top.source == "p3")
        #expect(top.score == 1.0)
        #expect(top.fits.map(\.host) == ["w1", "w2", "w3"] && top.missing.isEmpty && top.contradictions.isEmpty)
        let w2: Int64? = top.fits.first(where: { $0.host == "w2" })?.lag
        #expect(w2 == 720, "12 minutes from the change to w2's first failure")
        #expect(top.tiedWith.isEmpty && r.tie.isEmpty && r.bisect == nil)
        #expect(r.verdict.contains("p3 explains every signal"), "\(r.verdict)")
        let p1 = try #require(r.suspects.first { $0.source == "p1" })
        #expect(p1.missing == ["w2"], "w2 failed without p1")
        #expect(p1.contradictions.map(\.host) == ["w4"], "w4 was healthy with p1")
        #expect(p1.contradictions.first?.healthySignals == 2)
        #expect(p1.score < top.score && p1.rank > 1)
        #expect(r.suspects.first { $0.source == "p2" }?.contradictions.map(\.host) == ["w4", "w6"])

        // without --reason, w5's unrelated failure is a failure too: p3 no longer explains all
        let all = try await Self.report(f)
        #expect(all.failing.map(\.host) == ["w1", "w2", "w3", "w5"])
        #expect(all.suspects.first?.source == "p3" && all.suspects.first?.missing == ["w5"])
    }

    /// Everything changed at once on every failing host: the signals cannot tell the changes
    /// apart, and the report says so and names the bisection that can.
    @Test func changesThatArrivedTogetherTieAndTheBisectCommandIsSuggested() async throws {
        var f = Fleet()
        for h in ["w1", "w2", "w3", "w4"] { f.host(h) }
        for h in ["w1", "w2", "w3"] {
            f.update(h, ["p1", "p2", "p5"], at: 1)
            f.signal(h, .failing, at: 1.5, reason: Self.reason)
        }
        f.signal("w4", .healthy, at: 1.5)
        let r = try await Self.report(f, test: "test ! -e $TIDEMARK_ROOT/BROKEN")
        #expect(Set(r.tie) == ["p1", "p2", "p5"])
        #expect(r.suspects.prefix(3).allSatisfy { $0.score == 1.0 && Set($0.tiedWith + [$0.source]) == ["p1", "p2", "p5"] })
        #expect(r.verdict.contains("3 changes fit the signals equally"), "\(r.verdict)")
        let b = try #require(r.bisect)
        #expect(b.host == "w1" && b.good.seconds == Self.at(0) && b.bad.seconds == Self.at(1.5))
        #expect(b.command == "tidemark bisect start --good w1@\(Timestamp(seconds: Self.at(0)).iso8601) --bad w1@\(Timestamp(seconds: Self.at(1.5)).iso8601) --host w1 --test 'test ! -e $TIDEMARK_ROOT/BROKEN'")
    }

    @Test func changesOutsideTheWindowAndNoFailuresAreSaidPlainly() async throws {
        var f = Fleet()
        f.host("w1")
        f.update("w1", ["p1"], at: 1)
        f.signal("w1", .failing, at: 9, reason: Self.reason)
        let narrow = try await Self.report(f, window: 4 * 3600)
        #expect(narrow.suspects.isEmpty)
        #expect(narrow.verdict.contains("no package changed on the failing hosts in the 4h before their first failure"), "\(narrow.verdict)")
        let wide = try await Self.report(f, window: 12 * 3600)
        #expect(wide.suspects.map(\.source) == ["p1"])

        var quiet = Fleet()
        quiet.host("w1")
        quiet.signal("w1", .healthy, at: 1)
        #expect(try await Self.report(quiet).verdict.contains("no failing signals"))
    }
}
