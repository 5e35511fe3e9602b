import Foundation
import Testing
import TidemarkCore
import TidemarkTestSupport

/// The hand-written observation codec must read and write exactly the JSON `Codable` does, and
/// refuse bad input with the field's path.
@Suite struct WireCodecTests {
    static let tricky = Package(
        format: .rpm, name: "perl-Ünïcode\"quoted\"", evr: EVR(epoch: 2, version: "1.0~rc1", release: "3.1\\back"), arch: "noarch",
        digest: "abc", vendor: "Vendor/with\nnewline\t\u{1}ctl", source: "x.src.rpm", disturl: "obs://build/𝄞", buildTime: 1_700_000_000, status: nil)
    static let plain = Package(format: .deb, name: "bash", evr: EVR(version: "5.2", release: ""), arch: "amd64", status: "install ok installed")

    static func observation() -> Observation {
        Observation(
            host: "w1", at: Timestamp(seconds: 1_737_453_600), state: PackageState([tricky, plain]), source: .agent,
            repositories: [Repository(kind: .zypp, alias: "oss", name: "Main", url: "http://x/oss", priority: 99)],
            installTimes: [tricky.identityKey: 1_700_000_100],
            changelogs: [tricky.identityKey: [ChangelogEntry(time: 1, author: "a <a@b>", text: "- fix \"it\"")]])
    }

    @Test func writesWhatCodableReadsAndReadsWhatCodableWrites() throws {
        let payload = ObservationPayload(Self.observation(), full: true)
        let fast = payload.json()
        #expect(try JSONDecoder().decode(ObservationPayload.self, from: Data(fast)) == payload)
        #expect(try ObservationPayload(json: fast) == payload)
        let slow = Array(try JSONEncoder().encode(payload))
        #expect(try ObservationPayload(json: slow) == payload)
        let pretty = JSONEncoder()
        pretty.outputFormatting = [.prettyPrinted]
        #expect(try ObservationPayload(json: Array(try pretty.encode(payload))) == payload)
        #expect(try ObservationPayload(json: fast).observation() == Self.observation())

        let beat = ObservationPayload(Self.observation(), full: false)
        #expect(try ObservationPayload(json: beat.json()) == beat)
        #expect(try JSONDecoder().decode(ObservationPayload.self, from: Data(beat.json())) == beat)
    }

    /// A changed state as a delta: both codecs agree, and the observation it gives rebuilds the
    /// full one (base minus removed plus added) with the install times and changelogs of the
    /// packages it adds.
    @Test func deltasRoundTripAndRebuildTheState() throws {
        let old = Package(format: .rpm, name: "bash", evr: EVR(version: "5.1", release: "1"), arch: "x86_64", digest: "d1")
        let baseObservation = Observation(host: "w1", at: Timestamp(seconds: 1_737_450_000), state: PackageState([Self.tricky, old]), source: .agent)
        let base = ObservationPayload(baseObservation, full: true)
        let full = ObservationPayload(Self.observation(), full: true)
        // one of two packages changed: not smaller as a delta
        #expect(full.delta(against: base) == nil)
        let many = (0..<10).map { Package(format: .rpm, name: "p\($0)", evr: EVR(version: "1", release: "1"), arch: "noarch") }
        let bigBase = ObservationPayload(Observation(host: "w1", at: Timestamp(seconds: 1), state: PackageState(many + [Self.tricky, old]), source: .agent), full: true)
        let bigNow = Observation(host: "w1", at: Timestamp(seconds: 2), state: PackageState(many + [Self.tricky, Self.plain]), source: .agent,
                                 installTimes: [Self.plain.identityKey: 7], changelogs: [Self.plain.identityKey: [ChangelogEntry(time: 1, author: "a", text: "b")]])
        let delta = try #require(ObservationPayload(bigNow, full: true).delta(against: bigBase))
        #expect(delta.packages == nil && delta.base == bigBase.state && delta.added?.map(\.package) == [Self.plain] && delta.removed == [old.identityKey])
        #expect(delta.added?.first?.installTime == 7 && delta.changelogs?.keys.sorted() == [Self.plain.identityKey])
        #expect(!delta.isHeartbeat && delta.isDelta)
        #expect(try ObservationPayload(json: delta.json()) == delta)
        #expect(try JSONDecoder().decode(ObservationPayload.self, from: Data(delta.json())) == delta)
        let o = try delta.deltaObservation()
        #expect(o.state.isReference && o.state.id == bigNow.state.id)
        #expect(o.delta == ObservationDelta(base: bigBase.state, added: [Self.plain], removed: [old.identityKey]))
        #expect(o.installTimes == [Self.plain.identityKey: 7])
        // the same package both added and removed, a removal listed twice: refused, naming it
        var twice = delta
        twice.removed = [old.identityKey, old.identityKey]
        #expect(caughtError { _ = try twice.deltaObservation() }?.message.hasPrefix("removed[1]") == true)
        var both = delta
        both.removed = [Self.plain.identityKey]
        #expect(caughtError { _ = try both.deltaObservation() }?.message.hasPrefix("added:") == true)
        // removed must be strings
        let bad = String(decoding: delta.json(), as: UTF8.self).replacingOccurrences(of: "\"removed\":[", with: "\"removed\":[1,")
        #expect(caughtError { _ = try ObservationPayload(json: Array(bad.utf8)) }?.message.hasPrefix("removed[0]") == true)
    }

    /// A body assembled from packages encoded one by one is the body `json()` writes.
    @Test func bodyFromEncodedPackages() throws {
        let o = Observation(host: "w1", at: Timestamp(seconds: 1_737_453_600), state: PackageState([Self.tricky, Self.plain]), source: .agent)
        let payload = ObservationPayload(o, full: true)
        let assembled = ObservationPayload.json(
            host: o.host, at: o.at, source: o.source, state: o.state.id, encodedPackages: payload.packages!.map { $0.json() })
        #expect(assembled == payload.json())
        #expect(try ObservationPayload(json: assembled).observation() == o)
    }

    /// Decoding with a cache of package objects gives exactly what decoding without one does:
    /// on the first body (misses), on later bodies that repeat those objects with other install
    /// times (hits, the install time put back), and for bodies the cache must not be fooled by.
    @Test func decodingWithAPackageCacheIsDecodingWithout() throws {
        let cache = WirePackageCache()
        func same(_ body: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws {
            let plain = try ObservationPayload(json: body)
            #expect(try ObservationPayload(json: body, cache: cache) == plain, sourceLocation: sourceLocation)
            #expect(try ObservationPayload(json: body, cache: cache) == plain, sourceLocation: sourceLocation)
        }
        var o = Self.observation()
        o.changelogs = [:]
        try same(ObservationPayload(o, full: true).json())
        #expect(cache.count == 2)
        // The same binaries on another host, installed at other times (and one without a time).
        o.installTimes = [Self.tricky.identityKey: -5, Self.plain.identityKey: 1_800_000_000]
        try same(ObservationPayload(o, full: true).json())
        o.installTimes = [:]
        try same(ObservationPayload(o, full: true).json())
        #expect(cache.count == 2)
        // Other spellings of the same objects are other keys, decoded in full.
        let pretty = JSONEncoder()
        pretty.outputFormatting = [.prettyPrinted, .sortedKeys]
        try same(Array(try pretty.encode(ObservationPayload(Self.observation(), full: true))))
        // A repeated key: the last one counts, with or without the cache.
        let twice = #"{"host":"h","at":0,"source":"agent","state":"s","packages":[{"format":"rpm","name":"a","evr":{"epoch":0,"version":"1","release":"1"},"arch":"x","installTime":5,"installTime":7}]}"#
        try same(Array(twice.utf8))
        #expect(try ObservationPayload(json: Array(twice.utf8), cache: cache).packages?.first?.installTime == 7)
        // Install times the decoder reads differently or refuses: -0, a leading zero.
        let one = #"{"format":"rpm","name":"a","evr":{"epoch":0,"version":"1","release":"1"},"arch":"x""#
        func body(_ object: String) -> [UInt8] { Array(#"{"host":"h","at":0,"source":"agent","state":"s","packages":[\#(object)]}"#.utf8) }
        try same(body(one + "}"))
        try same(body(one + #","installTime":-0}"#))
        #expect(try ObservationPayload(json: body(one + #","installTime":-0}"#), cache: cache).packages?.first?.installTime == 0)
        #expect(throws: TidemarkError.self) { try ObservationPayload(json: body(one + #","installTime":007}"#), cache: cache) }
        #expect(throws: TidemarkError.self) { try ObservationPayload(json: body(one + #","installTime":99999999999999999999}"#), cache: cache) }
        // A cached object followed by broken JSON: the same error.
        let bare = Observation(host: "w1", at: Timestamp(seconds: 1_737_453_600), state: PackageState([Self.tricky, Self.plain]), source: .agent)
        let good = ObservationPayload(bare, full: true).json()
        #expect(good.suffix(2) == Array("]}".utf8))
        let broken = Array(good.dropLast(2)) + Array(#",{"format":"rpm","name":}]}"#.utf8)
        #expect(throws: TidemarkError.self) { try ObservationPayload(json: broken, cache: cache) }
        let plainError = #expect(throws: TidemarkError.self) { try ObservationPayload(json: broken) }
        let cachedError = #expect(throws: TidemarkError.self) { try ObservationPayload(json: broken, cache: cache) }
        #expect(plainError?.message == cachedError?.message)
        // Unterminated inside a package object: no structural end, decoded (and refused) in full.
        let cut = Array(good.prefix(good.count - 40))
        #expect(throws: TidemarkError.self) { try ObservationPayload(json: cut, cache: cache) }
    }

    @Test func escapesAndUnknownFields() throws {
        let body = #"""
            {"extra": {"nested": [1, 2.5e3, true, null, "s"]}, "host": "w\u0031", "at": 1737453600, "source": "agent",
             "state": "\u00e9", "packages": [{"format": "rpm", "name": "a\ud834\udd1eb\/c", "evr": {"epoch": 0, "version": "1", "release": "2", "x": {}},
             "arch": "x86_64", "digest": null, "future": [ ]}]}
            """#
        let p = try ObservationPayload(json: Array(body.utf8))
        #expect(p.host == "w1" && p.at.seconds == 1_737_453_600 && p.state.hex == "é")
        #expect(p.packages?.first?.package.name == "a𝄞b/c")
        #expect(p.packages?.first?.package.digest == nil)
    }

    @Test(arguments: [
        (#"{"host": 1, "at": 0, "source": "agent", "state": "s"}"#, "host: expected a string, found a number"),
        (#"{"at": 0, "source": "agent", "state": "s"}"#, "host: required field is missing"),
        (#"{"host": "h", "at": "yesterday", "source": "agent", "state": "s"}"#, "at: not an ISO 8601 time"),
        (#"{"host": "h", "at": 0, "source": "robot", "state": "s"}"#, "source: 'robot' is not one of"),
        (#"{"host": "h", "at": 0.5, "source": "agent", "state": "s"}"#, "at: expected an integer, found 0.5"),
        (#"{"host": "h", "at": 007, "source": "agent", "state": "s"}"#, "a number with a leading zero"),
        (#"{"host": "h", "at": 99999999999999999999, "source": "agent", "state": "s"}"#, "is not a 64-bit integer"),
        (#"{"host": "h", "at": 0, "source": "agent", "state": "s", "packages": {}}"#, "packages: expected an array, found an object"),
        (#"{"host": "h", "at": 0, "source": "agent", "state": "s", "packages": [{"format": "rpm", "name": "a", "evr": {"epoch": 0, "version": 5.2, "release": "1"}, "arch": "x"}]}"#,
         "packages[0].evr.version: expected a string, found a number"),
        (#"{"host": "h", "at": 0, "source": "agent", "state": "s", "packages": [{"format": "rpm", "name": "a", "evr": {"epoch": 0, "version": "1", "release": "1"}}]}"#,
         "packages[0].arch: required field is missing"),
        (#"{"host": "h", "at": 0, "source": "agent", "state": "s", "repositories": [{"kind": "zypp"}]}"#, "repositories[0].alias: required field is missing"),
        (#"{"host": "h", "at": 0, "source": "agent", "state": "s", "repositories": [{"kind": "zypp", "alias": 1, "url": "u", "enabled": true}]}"#, "repositories[0].alias"),
        (#"{"host": "#, "body is not valid JSON: unexpected end of input"),
        (#"{"host": "h" "at": 0}"#, "body is not valid JSON: expected ',' or '}' at byte 13"),
        (#"{"host": "h\x"}"#, "invalid escape"),
        (#"{"host": "h\ud800"}"#, "unpaired surrogate"),
        (#"{"host": "h"} x"#, "after the document"),
        ("[1]", "body: expected an object, found an array"),
        ("", "unexpected end of input"),
    ])
    func refusesBadInputNamingTheField(body: String, message: String) {
        #expect {
            _ = try ObservationPayload(json: Array(body.utf8))
        } throws: { error in
            guard let e = error as? TidemarkError else { return false }
            return e.code == .invalidInput && e.message.contains(message)
        }
    }

    @Test func refusesInvalidUTF8AndControlCharacters() {
        let bad: [[UInt8]] = [
            Array(#"{"host": ""#.utf8) + [0xff, 0xfe] + Array(#"", "at": 0, "source": "agent", "state": "s"}"#.utf8),
            Array(#"{"host": "a"#.utf8) + [0x0a] + Array(#"b", "at": 0, "source": "agent", "state": "s"}"#.utf8),
        ]
        for b in bad {
            #expect(throws: TidemarkError.self) { _ = try ObservationPayload(json: b) }
        }
    }
}
