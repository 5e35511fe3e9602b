import Foundation
import Synchronization
import Testing
import TidemarkHosts
import TidemarkCore
import TidemarkTestSupport

// Every expected value in this file was produced by the real tools (rpm 4.18.0 via lua
// `rpm.vercmp`, dpkg 1.21.23 via `dpkg --compare-versions`), and the oracle tests below ask them
// again on every run, so the Swift code is held to the tools, not to our reading of them.

// MARK: - rpm

@Suite struct RPMVersionTests {
    /// rpmvercmp on plain version strings (no `-`, no leading `digits:`), so `rpm.vercmp`
    /// compares exactly these strings: (a, b, rpm's answer).
    static let vercmpCases: [(String, String, Int)] = [
        ("1.0~rc1", "1.0", -1),        // ~ sorts before the end
        ("1.0^git1", "1.0", 1),        // ^ sorts after the end...
        ("1.0^git1", "1.0.1", -1),     // ...but before a further segment
        ("1.0^", "1.0~", 1),
        ("1.0^", "1.0", 1),
        ("1.0", "1.0^", -1),
        ("1.0^git1", "1.0^git2", -1),
        ("1.0^git1~pre", "1.0^git1", -1),
        ("1.0~rc1^git1", "1.0~rc1", 1),
        ("1~^", "1~", 1),
        ("1.0~~", "1.0~", -1),
        ("1.01", "1.1", 0),            // leading zeros do not count
        ("0001", "1", 0),
        ("2.0", "10", -1),
        ("12345678901234567890123", "12345678901234567890124", -1),  // no integer overflow
        ("1.0a", "1.0.1", -1),         // numeric beats alpha
        ("a", "1", -1),
        ("1.0", "1.0a", -1),
        ("B", "a", -1),                // strcmp: uppercase first
        ("abc", "abd", -1),
        ("1..0", "1.0", 0),            // separators only delimit
        ("1_0", "1.0", 0),
        ("1.0", "1.0.", 0),            // trailing separators do not count
        ("1e", "1.e", 0),
        ("1.0é", "1.0", 0),            // non-ASCII bytes are separators
        ("1.0", "1", 1),
    ]

    /// Full EVR strings, compared by `rpm.vercmp` through rpmverParse + rpmverCmp.
    static let evrCases: [(String, String, Int)] = [
        ("1:1.0", "2.0", 1),
        ("0:1.0", "1.0", 0),           // missing epoch is 0
        ("00:1", "0:1", 0),
        (":1.0", "0:1.0", 0),          // empty epoch is 0
        ("1.0-1", "1.0", 1),           // any release beats none...
        ("1.0-~1", "1.0", 1),          // ...even one below "" for rpmvercmp
        ("1.0-0", "1.0", 1),
        ("1:1", "1:1-0", -1),
        ("1.0-", "1.0", 1),            // an empty release is still a release
        ("abc:1", "1", -1),            // non-digit "epoch" is part of the version
        ("1:2:3", "1:2.3", 0),         // only the first colon ends the epoch
        ("1.0-1.fc38", "1.0-1.fc39", -1),
        ("1.0-1.el9", "1.0-1.1.el9", -1),
        ("99999999999999999999:1", "2:1", 1),  // epochs compare as digit strings
        ("-1", "0", -1),               // version "" with release "1"
        ("1-2-3", "1.2-3", 0),         // release after the last dash
    ]

    @Test func vercmpMatchesRPM() {
        for (a, b, want) in Self.vercmpCases {
            #expect(RPMVersion.compare(a, b) == want, "rpmvercmp(\(a), \(b))")
            #expect(RPMVersion.compare(b, a) == -want, "rpmvercmp(\(b), \(a))")
            // Without '-' or an epoch, the EVR comparison is plain rpmvercmp.
            #expect(RPMVersion.compareEVRStrings(a, b) == want, "rpm.vercmp(\(a), \(b))")
        }
    }

    @Test func evrStringsMatchRPM() {
        for (a, b, want) in Self.evrCases {
            #expect(RPMVersion.compareEVRStrings(a, b) == want, "rpm.vercmp(\(a), \(b))")
            #expect(RPMVersion.compareEVRStrings(b, a) == -want, "rpm.vercmp(\(b), \(a))")
        }
    }

    @Test func parseEVRFollowsRpmverParse() {
        #expect(RPMVersion.parseEVR("2:1.0-3.fc39") == EVR(epoch: 2, version: "1.0", release: "3.fc39"))
        #expect(RPMVersion.parseEVR("1.0") == EVR(epoch: 0, version: "1.0", release: ""))
        #expect(RPMVersion.parseEVR(":1.0") == EVR(epoch: 0, version: "1.0", release: ""))
        #expect(RPMVersion.parseEVR("abc:1-2") == EVR(epoch: 0, version: "abc:1", release: "2"))
        #expect(RPMVersion.parseEVR("1:2:3") == EVR(epoch: 1, version: "2:3", release: ""))
        #expect(RPMVersion.parseEVR("1-2-3") == EVR(epoch: 0, version: "1-2", release: "3"))
        #expect(RPMVersion.parseEVR("007:1") == EVR(epoch: 7, version: "1", release: ""))
        // Documented approximations of EVR: saturated epoch, empty release read as none.
        #expect(RPMVersion.parseEVR("99999999999999999999:1").epoch == Int.max)
        #expect(RPMVersion.parseEVR("1.0-") == EVR(epoch: 0, version: "1.0", release: ""))
    }

    @Test func compareEVRAgreesWithStringsWhereRepresentable() {
        for (a, b, want) in Self.evrCases + Self.vercmpCases
        where !a.hasSuffix("-") && !b.hasSuffix("-") && !a.hasPrefix("999") {
            #expect(RPMVersion.compareEVR(RPMVersion.parseEVR(a), RPMVersion.parseEVR(b)) == want,
                    "compareEVR(\(a), \(b))")
        }
        #expect(EVR.compare(EVR(version: "1.0", release: "1"), EVR(version: "1.0~rc1", release: "5"),
                            format: .rpm) == 1)
    }

    /// Compares >= 10,000 generated pairs with the real rpm, in one `rpm --eval` process.
    @Test func oracleAgreesWithRealRPM() throws {
        let rpm = try #require(Subprocess.which("rpm"), "rpm must be installed for this test")
        var generator = RPMPairGenerator(seed: 0x7469_6465_6D61_726B)
        let pairs = generator.pairs(count: 12_000)
        let clock = ContinuousClock(), start = clock.now

        let tmp = try TemporaryDirectory("rpm-oracle")
        let input = tmp.path("pairs.txt"), script = tmp.path("vercmp.lua")
        try FileSystem.write(pairs.map { "\($0.0) \($0.1)" }.joined(separator: "\n"), to: input)
        // rpm's lua print() appends to a buffer without newlines, so print once at the end.
        try FileSystem.write("""
            local out = {}
            for line in io.lines("\(input)") do
              local a, b = line:match("^(%S+) (%S+)$")
              out[#out + 1] = tostring(rpm.vercmp(a, b))
            end
            print(table.concat(out, "\\n"))
            """, to: script)
        let result = try Subprocess.run(rpm, ["--eval", "%{lua: dofile(\"\(script)\")}"])
        try #require(result.status == 0, "rpm failed: \(result.stderrText)")
        let answers = result.stdoutText.split(separator: "\n").map { Int($0) }
        try #require(answers.count == pairs.count, "rpm gave \(answers.count) answers for \(pairs.count) pairs")

        var mismatches: [String] = []
        var plainChecked = 0, evrChecked = 0
        for ((a, b), answer) in zip(pairs, answers) {
            let want = try #require(answer, "rpm printed something that is not a number")
            let got = RPMVersion.compareEVRStrings(a, b)
            if got != want { mismatches.append("rpm.vercmp(\(a), \(b)) = \(want), Swift \(got)") }
            // Plain rpmvercmp where rpmverParse sees neither epoch nor release.
            if isPlainRPMVersion(a) && isPlainRPMVersion(b) {
                plainChecked += 1
                let plain = RPMVersion.compare(a, b)
                if plain != want { mismatches.append("rpmvercmp(\(a), \(b)) = \(want), Swift \(plain)") }
            }
            // Through EVR, where EVR can represent the string exactly.
            if evrRepresentable(a) && evrRepresentable(b) {
                evrChecked += 1
                let viaEVR = RPMVersion.compareEVR(RPMVersion.parseEVR(a), RPMVersion.parseEVR(b))
                if viaEVR != want { mismatches.append("compareEVR(\(a), \(b)) = \(want), Swift \(viaEVR)") }
            }
        }
        let counts = Dictionary(grouping: answers.compactMap { $0 }, by: { $0 }).mapValues(\.count)
        print("rpm oracle: \(pairs.count) pairs (\(plainChecked) also as plain rpmvercmp, \(evrChecked) via EVR), "
              + "answers \(counts.sorted { $0.key < $1.key }), \(clock.now - start)")
        #expect(pairs.count >= 10_000)
        #expect(plainChecked >= 1_000 && evrChecked >= 5_000)
        #expect(counts.count == 3, "the generator should produce all three answers")
        #expect(mismatches.count == 0, "\(mismatches.count) mismatches, first: \(mismatches.prefix(10).joined(separator: "; "))")
    }

    /// No `-` and no leading digits followed by `:` — rpmverParse leaves the string whole.
    private func isPlainRPMVersion(_ s: String) -> Bool {
        !s.contains("-") && s.drop(while: { $0.isASCII && $0.isNumber }).first != ":"
    }

    /// EVR cannot hold an empty release after a trailing `-`, nor an epoch beyond Int.
    private func evrRepresentable(_ s: String) -> Bool {
        let digits = s.prefix(while: { $0.isASCII && $0.isNumber })
        let hasEpoch = s.dropFirst(digits.count).first == ":"
        return !s.hasSuffix("-") && (!hasEpoch || digits.drop(while: { $0 == "0" }).count <= 18)
    }
}

// MARK: - dpkg

@Suite struct DebianVersionTests {
    /// (a, b, dpkg's answer) — all valid for dpkg, some only with a warning.
    static let cases: [(String, String, Int)] = [
        ("1.0~rc1", "1.0", -1),        // ~ sorts before the end
        ("1.0~", "1.0", -1),
        ("1.0~~", "1.0~", -1),
        ("~~", "~", -1),
        ("~", "0", -1),
        ("1.0", "1.0a", -1),           // end before letters
        ("1.0a", "1.0+b1", -1),        // letters before other characters
        ("1.0a", "1.0.1", -1),
        ("1.0", "1.0.0", -1),
        ("a", "1", 1),                 // a letter beats a digit run's start
        ("1..0", "1.0", 1),            // unlike rpm, separators count
        ("1.01", "1.1", 0),            // digits compare numerically
        ("0.9", "00.9", 0),
        ("1.0-1", "1.0", 1),
        ("1.0-0", "1.0", 0),           // no revision == revision 0
        ("1.0-1", "1.0-1.1", -1),
        ("1:1.0", "2.0", 1),           // epoch first
        ("00:1", "0:1", 0),
        ("+1:2.0", "1:2.0", 0),        // strtol accepts a sign
        ("1:2:3", "2:3", -1),          // epoch 1, upstream "2:3"
        ("2.30-1ubuntu1", "2.30-1", 1),
        ("2.30-1ubuntu1", "2.30-1+deb12u1", -1),
        ("1.2.3-4", "1.2.3-4~bpo11+1", 1),
        ("7.88.1-10+deb12u5", "7.88.1-10+deb12u12", -1),
        ("1.0+dfsg-1", "1.0-1", 1),
        ("1.0é", "1.0a", 1),           // non-ASCII: after letters...
        ("1.0é", "1.0+", -1),          // ...before ASCII punctuation
        ("a1", "b", -1),
        (" 1.0\t", "1.0", 0),          // surrounding blanks are trimmed
        ("\n1:2", "1:2", 0),           // strtol skips the newline before the epoch
    ]

    @Test func compareMatchesDpkg() throws {
        for (a, b, want) in Self.cases {
            #expect(DebianVersion.compare(a, b) == want, "dpkg(\(a), \(b))")
            #expect(DebianVersion.compare(b, a) == -want, "dpkg(\(b), \(a))")
            let x = try #require(DebianVersion.parse(a)), y = try #require(DebianVersion.parse(b))
            #expect(EVR.compare(x, y, format: .deb) == want, "EVR.compare(\(a), \(b))")
        }
    }

    @Test func parseSplitsLikeDpkg() {
        #expect(DebianVersion.parse("1:2.30-1ubuntu1") == EVR(epoch: 1, version: "2.30", release: "1ubuntu1"))
        #expect(DebianVersion.parse("1.0") == EVR(epoch: 0, version: "1.0", release: ""))
        #expect(DebianVersion.parse("1.0-2-3") == EVR(epoch: 0, version: "1.0-2", release: "3"))
        #expect(DebianVersion.parse("1:2:3") == EVR(epoch: 1, version: "2:3", release: ""))
        #expect(DebianVersion.parse("-0:1") == EVR(epoch: 0, version: "1", release: ""))
        #expect(DebianVersion.parse("2147483647:1")?.epoch == 2_147_483_647)
    }

    /// What `dpkg --compare-versions` rejects with an error (exit 2) vs. accepts, maybe with a warning.
    @Test func parseRejectsExactlyDpkgErrors() {
        let errors = ["1 0", ":1", "1:", "1.0-", "1:-1", "-1", "-1:1", "2147483648:1", "x:1", "+:1",
                      "1.0:2", "0x1:1", "\t"]
        for s in errors { #expect(DebianVersion.parse(s) == nil, "dpkg rejects \(s.debugDescription)") }
        let warnings = ["a1", "1.0_1", "~", "1.0-a_b", "1.0\n", "1.0é"]
        for s in warnings { #expect(DebianVersion.parse(s) != nil, "dpkg accepts \(s.debugDescription)") }
    }

    /// Compares >= 10,000 generated pairs with the real dpkg, two shell processes in parallel.
    @Test func oracleAgreesWithRealDpkg() throws {
        let dpkg = try #require(Subprocess.which("dpkg"), "dpkg must be installed for this test")
        var generator = DebianPairGenerator(seed: 0x6470_6B67_5F6F_7264)
        let pairs = generator.pairs(count: 12_000)
        let clock = ContinuousClock(), start = clock.now

        let tmp = try TemporaryDirectory("dpkg-oracle")
        // Per pair: -1, 0 or 1, or E when dpkg refuses a version (exit 2). `--` lets versions
        // start with '-'; warnings go to /dev/null.
        let script = """
            while read -r a b; do
              if "$0" --compare-versions -- "$a" lt "$b" 2>/dev/null; then echo -1
              else
                rc=$?
                if [ $rc -ne 1 ]; then echo E
                elif "$0" --compare-versions -- "$a" eq "$b" 2>/dev/null; then echo 0
                else echo 1
                fi
              fi
            done < "$1"
            """
        let half = (pairs.count + 1) / 2
        let chunks = [pairs[..<half], pairs[half...]]
        var files: [String] = []
        for (i, chunk) in chunks.enumerated() {
            let file = tmp.path("pairs\(i).txt")
            try FileSystem.write(chunk.map { "\($0.0) \($0.1)\n" }.joined(), to: file)
            files.append(file)
        }
        let results = Mutex([Int: Result<Subprocess.Result, TidemarkError>]())
        let batches = files
        DispatchQueue.concurrentPerform(iterations: batches.count) { i in
            let r = Result { () throws(TidemarkError) in try Subprocess.run("/bin/sh", ["-c", script, dpkg, batches[i]]) }
            results.withLock { $0[i] = r }
        }
        var answers: [Substring] = []
        for i in files.indices {
            let result = try results.withLock { $0[i]! }.get()
            try #require(result.status == 0, "dpkg batch failed: \(result.stderrText)")
            answers += result.stdoutText.split(separator: "\n")
        }
        try #require(answers.count == pairs.count, "dpkg gave \(answers.count) answers for \(pairs.count) pairs")

        var mismatches: [String] = []
        var compared = 0, rejected = 0
        for ((a, b), answer) in zip(pairs, answers) {
            let x = DebianVersion.parse(a), y = DebianVersion.parse(b)
            if answer == "E" {
                rejected += 1
                if x != nil && y != nil { mismatches.append("dpkg rejects \(a) or \(b), Swift parses both") }
                continue
            }
            guard let want = Int(answer) else { mismatches.append("dpkg printed \(answer)"); continue }
            compared += 1
            guard let x, let y else {
                mismatches.append("dpkg accepts \(a) and \(b), Swift rejects one")
                continue
            }
            let got = DebianVersion.compare(a, b), viaEVR = DebianVersion.compare(x, y)
            if got != want || viaEVR != want {
                mismatches.append("dpkg(\(a), \(b)) = \(want), Swift \(got) (via EVR \(viaEVR))")
            }
        }
        print("dpkg oracle: \(pairs.count) pairs, \(compared) compared, \(rejected) rejected by dpkg, \(clock.now - start)")
        #expect(compared >= 10_000)
        #expect(rejected > 0, "the generator should exercise dpkg's errors too")
        #expect(mismatches.count == 0, "\(mismatches.count) mismatches, first: \(mismatches.prefix(10).joined(separator: "; "))")
    }
}

// MARK: - Deterministic pair generators

// SplitMix64 (TidemarkCore) is seedable and the same on every platform and run.
private extension SplitMix64 {
    /// True with probability p/100.
    mutating func percent(_ p: Int) -> Bool { below(100) < p }
    mutating func pick<T>(_ xs: [T]) -> T { xs[below(xs.count)] }
}

/// Builds pairs that stress one scheme: a first string from `make`, then a second that is
/// mostly a near-copy (one character changed, inserted or removed, a telling suffix, a padded
/// digit) so that equal and almost-equal pairs, where the subtle rules decide, are common.
private protocol PairGenerator {
    var rng: SplitMix64 { get set }
    mutating func make() -> String
    /// Characters a mutation may insert or substitute.
    var mutationAlphabet: [Character] { get }
    var suffixes: [String] { get }
}

private extension PairGenerator {
    mutating func pairs(count: Int) -> [(String, String)] {
        var out: [(String, String)] = []
        out.reserveCapacity(count)
        while out.count < count {
            let a = make()
            let b: String
            switch rng.below(100) {
            case 0..<45: b = mutate(a)
            case 45..<55: b = a
            case 55..<62: b = mutate(mutate(a))
            default: b = make()
            }
            guard !a.isEmpty, !b.isEmpty else { continue }
            out.append(rng.percent(50) ? (a, b) : (b, a))
        }
        return out
    }

    mutating func mutate(_ s: String) -> String {
        var chars = Array(s)
        switch rng.below(6) {
        case 0 where !chars.isEmpty: chars[rng.below(chars.count)] = rng.pick(mutationAlphabet)
        case 1: chars.insert(rng.pick(mutationAlphabet), at: rng.below(chars.count + 1))
        case 2 where chars.count > 1: chars.remove(at: rng.below(chars.count))
        case 3: chars += Array(rng.pick(suffixes))
        case 4:
            // Pad a digit with a leading zero, or drop a zero.
            let digits = chars.indices.filter { chars[$0].isNumber }
            if !digits.isEmpty {
                let i = digits[rng.below(digits.count)]
                if chars[i] == "0" && rng.percent(50) { chars.remove(at: i) } else { chars.insert("0", at: i) }
            }
        default:
            // Change a digit or letter into its neighbour of the same kind.
            if !chars.isEmpty {
                let i = rng.below(chars.count)
                if let v = chars[i].asciiValue, chars[i].isLetter || chars[i].isNumber {
                    let n: UInt8 = v == 0x39 || v == 0x5A || v == 0x7A ? v - 1 : v + 1
                    chars[i] = Character(UnicodeScalar(n))
                }
            }
        }
        return String(chars)
    }
}

/// rpm EVR strings: epochs (also empty, zero-padded, huge, non-numeric), versions of digit and
/// letter segments with `.`, `_`, `+`, `~`, `^`, repeated and non-ASCII separators, and
/// releases (also empty or with extra dashes). Never empty and never with whitespace.
private struct RPMPairGenerator: PairGenerator {
    var rng: SplitMix64
    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    let mutationAlphabet: [Character] = Array("0123456789.~^_+aAbzZ:-é")
    let suffixes = ["~", "^", ".0", "0", "a", "~rc1", "^git1", ".", "-1", "_", "-", "~~", "^^", ".a"]

    mutating func make() -> String {
        var s = ""
        switch rng.below(100) {
        case 0..<60: break
        case 60..<70: s = "1:"
        case 70..<76: s = "0:"
        case 76..<80: s = rng.pick(["00:", "01:", "2:", "10:"])
        case 80..<84: s = ":"
        case 84..<88: s = rng.pick(["abc:", "a1:"])
        case 88..<90: s = "123456789012345678901234:"
        default: s = "\(rng.below(4)):"
        }
        s += version()
        switch rng.below(100) {
        case 0..<30: break
        case 30..<94: s += "-" + version()
        case 94..<97: s += "-"
        default: s += "-" + version() + "-" + version()
        }
        return s
    }

    private mutating func version() -> String {
        var s = ""
        if rng.percent(8) { s += rng.pick(["~", "^", ".", "_"]) }
        for i in 0..<(1 + rng.below(4)) {
            if i > 0 {
                s += rng.pick([".", ".", ".", ".", "", "", "_", "+", "~", "^", "..", "~~", "^^", "~^", "é", ":"])
            }
            s += segment()
        }
        if rng.percent(8) { s += rng.pick(["~", "^", ".", "~rc1", "^git2"]) }
        return s
    }

    private mutating func segment() -> String {
        switch rng.below(100) {
        case 0..<55: return (rng.percent(15) ? "0" : "") + "\(rng.below(rng.percent(70) ? 10 : 300))"
        case 55..<58: return "1234567890123456789\(rng.below(100))"
        default: return rng.pick(["a", "b", "z", "A", "Z", "rc", "git", "pre", "fc", "el", "B", "ab"])
        }
    }
}

/// Debian versions: epochs (also signed, zero-padded, the INT_MAX edge and a few invalid),
/// upstream of digit and letter runs with `.`, `+`, `~`, `-`, `:` (and the warned-about `_`,
/// non-ASCII, leading letter), revisions with `.`, `+`, `~`; a few percent invalid on purpose.
private struct DebianPairGenerator: PairGenerator {
    var rng: SplitMix64
    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    let mutationAlphabet: [Character] = Array("0123456789.~+aAbzZ-é")
    let suffixes = ["~", ".0", "0", "a", "~rc1", "+b1", ".", "-1", "-0", "~~", "+", "-1~bpo1"]

    mutating func make() -> String {
        var s = ""
        var hasEpoch = true
        switch rng.below(100) {
        case 0..<70: hasEpoch = false
        case 70..<80: s = "1:"
        case 80..<85: s = "0:"
        case 85..<92: s = rng.pick(["00:", "2:", "10:", "+1:", "-0:", "2147483647:"])
        case 92..<98: s = "\(rng.below(3)):"
        default: s = rng.pick(["2147483648:", "-1:", "x:", ":"])  // dpkg errors
        }
        s += upstream(allowColon: hasEpoch)
        switch rng.below(100) {
        case 0..<40: break
        case 40..<95: s += "-" + revision()
        case 95..<98: s += "-" + revision() + "-" + revision()
        default: s += "-"  // dpkg error: empty revision
        }
        return s
    }

    private mutating func upstream(allowColon: Bool) -> String {
        var s = ""
        switch rng.below(100) {
        case 0..<90: s = number()
        case 90..<95: s = rng.pick(["a", "B", "z"])
        default: s = "~"
        }
        for _ in 0..<rng.below(4) {
            var seps = [".", ".", ".", "", "+", "~", "..", "~~", "-", "+~"]
            if allowColon { seps.append(":") }
            if rng.percent(6) { seps = ["_", "é", "ü"] }  // warnings only
            s += rng.pick(seps) + (rng.percent(60) ? number() : rng.pick(["a", "b", "z", "A", "Z", "rc", "dfsg", "git"]))
        }
        if rng.percent(8) { s += rng.pick(["~", "+", ".", "~rc1", "a"]) }
        return s
    }

    private mutating func revision() -> String {
        var s = rng.percent(85) ? number() : rng.pick(["a", "~", "ubuntu"])
        for _ in 0..<rng.below(3) {
            s += rng.pick([".", "", "+", "~", "+deb", "ubuntu", "~bpo", "."]) + number()
        }
        return s
    }

    private mutating func number() -> String {
        switch rng.below(100) {
        case 0..<12: return "0" + "\(rng.below(10))"
        case 12..<15: return "9876543210987654321\(rng.below(10))"
        default: return "\(rng.below(rng.percent(70) ? 10 : 150))"
        }
    }
}
