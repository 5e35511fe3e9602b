import Foundation
import Testing
import TidemarkCore

@Suite struct StateAndDiffTests {
    func rpm(_ name: String, _ v: String, _ r: String = "1", arch: String = "x86_64", digest: String? = "d", source: String? = nil) -> Package {
        Package(format: .rpm, name: name, evr: EVR(version: v, release: r), arch: arch, digest: digest.map { "\($0)-\(name)-\(v)-\(r)" }, source: source)
    }

    @Test func stateIdIgnoresOrderAndDuplicatesButNotBinaries() {
        let a = rpm("a", "1"), b = rpm("b", "2")
        #expect(PackageState([a, b]).id == PackageState([b, a, b]).id)
        #expect(PackageState([a, b]).count == 2)
        var rebuilt = b
        rebuilt.digest = "other"
        #expect(PackageState([a, b]).id != PackageState([a, rebuilt]).id)
        #expect(PackageState([a]).id.hex.count == 64)
    }

    @Test func identityKeyFollowsEveryMutation() {
        var p = rpm("a", "1")
        let before = p.identityKey
        p.vendor = "openSUSE"
        #expect(p.identityKey != before)
        p.vendor = nil
        #expect(p.identityKey == before)
        p.evr = EVR(version: "2", release: "1")
        #expect(p.identityKey.contains("\t2\t"))
    }

    @Test func diffKinds() {
        let from = [rpm("up", "1.0"), rpm("down", "2.0"), rpm("gone", "1"), rpm("same", "1"), rpm("rebuilt", "1", digest: "x"), rpm("unknown-digest", "1")]
        let to = [rpm("up", "1.0", "2"), rpm("down", "1.9"), rpm("new", "1"), rpm("same", "1"), rpm("rebuilt", "1", digest: "y"), rpm("unknown-digest", "1", digest: nil)]
        let changes = StateDiff.diff(from: from, to: to).map(\.change)
        let kinds = Dictionary(uniqueKeysWithValues: changes.map { ($0.name, $0.kind) })
        #expect(kinds == ["up": .upgraded, "down": .downgraded, "gone": .removed, "new": .added, "rebuilt": .changed])
        let up = changes.first { $0.name == "up" }!
        #expect(up.from == "1.0-1" && up.to == "1.0-2")
        let gone = changes.first { $0.name == "gone" }!
        #expect(gone.from == "1-1" && gone.to == nil)
    }

    @Test func diffUsesVersionOrderNotStringOrder() {
        let changes = StateDiff.diff(from: [rpm("p", "1.10")], to: [rpm("p", "1.9")]).map(\.change)
        #expect(changes.map(\.kind) == [.downgraded])
        let tilde = StateDiff.diff(from: [rpm("p", "1.0~rc1")], to: [rpm("p", "1.0")]).map(\.change)
        #expect(tilde.map(\.kind) == [.upgraded])
    }

    @Test func multiversionKernelsPairSensibly() {
        let from = [rpm("kernel-default", "6.1"), rpm("kernel-default", "6.2")]
        let to = [rpm("kernel-default", "6.2"), rpm("kernel-default", "6.3")]
        let changes = StateDiff.diff(from: from, to: to).map(\.change)
        #expect(changes.count == 1)
        #expect(changes[0].kind == .upgraded && changes[0].from == "6.1-1" && changes[0].to == "6.3-1")
    }

    @Test func groupsBySourcePackage() {
        let from = [rpm("libfoo1", "1", source: "foo-1-1.src.rpm"), rpm("foo-devel", "1", source: "foo-1-1.src.rpm"), rpm("bar", "1")]
        let to = [rpm("libfoo1", "2", source: "foo-2-1.src.rpm"), rpm("foo-devel", "2", source: "foo-2-1.src.rpm"), rpm("bar", "2")]
        let changes = StateDiff.diff(from: from, to: to).map(\.change)
        #expect(changes.map(\.source) == ["bar", "foo", "foo"])
        #expect(changes.map(\.name) == ["bar", "foo-devel", "libfoo1"])
    }

    @Test func sourceNames() {
        #expect(rpm("x", "1", source: "perl-Mojo-IOLoop-ReadWriteProcess-0.34-1.1.src.rpm").sourceName == "perl-Mojo-IOLoop-ReadWriteProcess")
        #expect(rpm("x", "1", source: nil).sourceName == "x")
        let deb = Package(format: .deb, name: "libc6", evr: EVR(version: "2.36", release: "9"), arch: "amd64", source: "glibc (2.36-9)")
        #expect(deb.sourceName == "glibc")
    }

    @Test func changelogBetweenVersions() {
        let old = [ChangelogEntry(time: 100, author: "a", text: "one")]
        let new = [ChangelogEntry(time: 300, author: "c", text: "three"), ChangelogEntry(time: 200, author: "b", text: "two"), ChangelogEntry(time: 100, author: "a", text: "one")]
        #expect(StateDiff.changelogBetween(old: old, new: new).map(\.text) == ["three", "two"])
        #expect(StateDiff.changelogBetween(old: nil, new: new).count == 3)
    }

    @Test func driftAgainstTheFleetMajority() {
        let common = [rpm("bash", "5"), rpm("perl", "5.36")]
        let hosts: [(host: String, state: StateID, packages: [Package])] = [
            ("w1", PackageState(common).id, common),
            ("w2", PackageState(common).id, common),
            ("w3", PackageState([rpm("bash", "4"), rpm("perl", "5.36"), rpm("debug", "1")]).id, [rpm("bash", "4"), rpm("perl", "5.36"), rpm("debug", "1")]),
        ]
        let d = Drift.compute(hosts: hosts, baseline: nil)
        #expect(d.map(\.host) == ["w1", "w2", "w3"])
        #expect(d[0].differences.isEmpty && d[1].differences.isEmpty)
        #expect(Set(d[2].differences) == [
            DriftResult.Item(name: "bash", arch: "x86_64", evr: "4-1", expected: "5-1"),
            DriftResult.Item(name: "debug", arch: "x86_64", evr: "1-1", expected: nil),
        ])
        let against = Drift.compute(hosts: hosts, baseline: [rpm("bash", "4")])
        #expect(against[0].differences.contains(DriftResult.Item(name: "perl", arch: "x86_64", evr: "5.36-1", expected: nil)))
    }
}

@Suite struct ReplayTimelineTests {
    @Test func replaysNewestFirstVisitsOldestFirst() async {
        func p(_ n: String, _ v: String) -> InstalledPackage {
            InstalledPackage(Package(format: .rpm, name: n, evr: EVR(version: v, release: "1"), arch: "noarch"), installTime: Int64(v.count))
        }
        let states: [(Timestamp, [InstalledPackage])] = [
            (Timestamp(seconds: 30), [p("a", "3"), p("c", "1")]),
            (Timestamp(seconds: 20), [p("a", "2"), p("b", "1")]),
            (Timestamp(seconds: 10), [p("a", "1"), p("b", "1")]),
        ]
        var t = ReplayTimeline()
        for (at, ps) in states { t.visit(at, ps) }
        #expect(t.count == 3)
        var seen: [(Timestamp, Set<InstalledPackage>)] = []
        await t.replay { at, ps in seen.append((at, Set(ps))) }
        #expect(seen.map(\.0) == [10, 20, 30].map { Timestamp(seconds: $0) })
        #expect(seen.map(\.1) == states.reversed().map { Set($0.1) })
    }
}

@Suite struct DiffJSONTests {
    @Test func fromAndToAreNullWhereAbsent() throws {
        let c = PackageChange(name: "a", arch: "noarch", kind: .removed, from: "1-1", to: nil, source: "a")
        let json = String(decoding: try JSONEncoder().encode(c), as: UTF8.self)
        #expect(json.contains("\"to\":null"))
        #expect(!json.contains("changelog"))
        #expect(try JSONDecoder().decode(PackageChange.self, from: Data(json.utf8)) == c)
    }
}

@Suite struct ObservationPayloadTests {
    @Test func fullPayloadRoundTripsAndHeartbeatsCarryOnlyTheId() throws {
        let p = Package(format: .rpm, name: "bash", evr: EVR(epoch: 1, version: "5.2", release: "1.1"), arch: "x86_64", digest: "abc", vendor: "openSUSE")
        let o = Observation(host: "w1", at: Timestamp(seconds: 100), state: PackageState([p]), source: .agent,
                            repositories: [Repository(kind: .zypp, alias: "oss", url: "http://x")], installTimes: [p.identityKey: 90])
        let data = try JSONEncoder().encode(ObservationPayload(o, full: true))
        let back = try JSONDecoder().decode(ObservationPayload.self, from: data)
        #expect(try back.observation() == o)
        let beat = ObservationPayload(o, full: false)
        #expect(beat.isHeartbeat && beat.state == o.state.id)
        #expect(try beat.observation() == nil)
        var forged = back
        forged.state = StateID(hex: String(repeating: "0", count: 64))
        #expect(throws: TidemarkError.self) { try forged.observation() }
    }
}
