import Foundation
import Testing
import TidemarkCore
import TidemarkHosts
import TidemarkRPM
import TidemarkTestSupport

/// RPMHeader against real headers: the main header of `.rpm` files rpmbuild wrote, and the
/// installed headers rpm stored in `rpmdb.sqlite`; `rpm --qf` is the oracle for every value.
@Suite struct RPMHeaderTests {
    static let F = "\u{1F}"

    /// A package with everything the reader must get right (epoch, vendor, disturl, changelog
    /// with a `%` and several lines, a subpackage, files).
    static func spec(arch: String = "noarch") -> RPMSpec {
        RPMSpec(
            name: "hdrtest", epoch: 7, version: "2.5~rc1", release: "3.1", arch: arch, summary: "Header test 100% real",
            vendor: "Tidemark Test Vendor", disturl: "obs://build.example.org/devel:openQA/openSUSE_Tumbleweed/0123abcd-hdrtest",
            provides: ["hdrtest-capability = 1"],
            files: [PackageFile("/usr/share/hdrtest/a.txt", contents: "a\n"), PackageFile("/etc/hdrtest.conf", contents: "x=1\n", isConfig: true)],
            changelog: [
                ChangelogEntry(time: 1_736_158_272, author: "Alice Example <alice@example.org> - 2.5~rc1-3.1", text: "- fix 100% of it\n- second line"),
                ChangelogEntry(time: 1_735_905_600, author: "Bob <bob@example.org>", text: "- initial"),
            ],
            subpackages: [RPMSubpackage(name: "hdrtest-data", files: [PackageFile("/usr/share/hdrtest/data", contents: "d")], noarch: true)],
            buildTime: 1_700_000_000)
    }

    /// Lead (96 bytes), signature header, padding to 8, main header: returns both headers.
    static func headers(ofRPM path: String) throws -> (signature: RPMHeader, main: RPMHeader) {
        let bytes = try FileSystem.read(path)
        try #require(bytes.count > 96 && bytes[0..<4] == [0xed, 0xab, 0xee, 0xdb][...])
        let sig = try RPMHeader(blob: bytes[96...], hasMagic: true)
        let mainStart = (96 + sig.size + 7) & ~7
        let main = try RPMHeader(blob: bytes[mainStart...], hasMagic: true)
        return (sig, main)
    }

    static func qf(_ tags: [String]) -> String { tags.map { "%{\($0)}" }.joined(separator: F) }

    @Test func mainHeaderOfBuiltRPMsMatchesRpmQuery() throws {
        let tmp = try TemporaryDirectory("hdr-rpm")
        defer { tmp.remove() }
        let builder = try RPMBuilder(directory: tmp.path("build"))
        let rpms = try builder.build(Self.spec(arch: "x86_64"))
        #expect(rpms.count == 2)
        let tags = ["NAME", "EPOCH", "VERSION", "RELEASE", "ARCH", "SUMMARY", "VENDOR", "DISTURL", "SOURCERPM", "BUILDTIME", "BUILDHOST", "LICENSE", "SIGMD5", "SHA1HEADER", "SHA256HEADER"]
        for rpm in rpms {
            let out = try Subprocess.check("rpm", ["-qp", "--qf", Self.qf(tags), rpm]).stdoutText
            let want = out.split(separator: Character(Self.F), omittingEmptySubsequences: false).map(String.init)
            let (sig, h) = try Self.headers(ofRPM: rpm)
            #expect(try h.string(.name) == want[0])
            #expect(try h.int32(.epoch).map(String.init) == want[1])
            #expect(try h.string(.version) == want[2])
            #expect(try h.string(.release) == want[3])
            #expect(try h.string(.arch) == want[4])
            #expect(try h.string(.summary) == want[5])  // I18NSTRING
            #expect(try h.string(.vendor) == want[6])
            #expect(try h.string(.disturl) == want[7])
            #expect(try h.string(.sourceRPM) == want[8])
            #expect(try h.int64(.buildTime).map(String.init) == want[9])
            #expect(try h.int64(.buildTime) == 1_700_000_000)
            #expect(try h.string(.buildHost) == want[10])
            #expect(try h.string(.license) == want[11])
            // In an .rpm file the digests live in the signature header under signature tag
            // numbers (MD5 = 1004, SHA1 = 269, SHA256 = 273); rpm maps them to SIGMD5 & co.
            #expect(try sig.hex(RPMTag(1004)) == want[12])
            #expect(try sig.string(RPMTag(269)) == want[13])
            #expect(try sig.string(RPMTag(273)) == want[14])
            #expect(h.contains(.sigMD5) == false)
        }
        // changelog arrays
        let main = try #require(rpms.first { $0.contains("/hdrtest-2.5") })
        let h = try Self.headers(ofRPM: main).main
        let log = try Subprocess.check("rpm", ["-qp", "--qf", "[%{CHANGELOGTIME}\u{1D}%{CHANGELOGNAME}\u{1D}%{CHANGELOGTEXT}\u{1C}]", main]).stdoutText
        let entries = log.split(separator: "\u{1C}").map { $0.split(separator: "\u{1D}", omittingEmptySubsequences: false).map(String.init) }
        #expect(try h.int32Array(.changelogTime)?.map(String.init) == entries.map { $0[0] })
        #expect(try h.stringArray(.changelogName) == entries.map { $0[1] })
        #expect(try h.stringArray(.changelogText) == entries.map { $0[2] })
        #expect(try h.int32Array(.changelogTime) == [1_736_158_272, 1_735_905_600])
        #expect(try h.stringArray(.changelogText)?.first == "- fix 100% of it\n- second line")
        // PROVIDENAME (1047) is a STRING_ARRAY; string() gives its first element
        let provides = try Subprocess.check("rpm", ["-qp", "--qf", "[%{PROVIDENAME}\n]", main]).stdoutText.split(separator: "\n").map(String.init)
        #expect(try h.stringArray(RPMTag(1047)) == provides)
        #expect(try h.string(RPMTag(1047)) == provides.first)
    }

    /// Installed headers: rpm merges the signature digests into the main header under
    /// SIGMD5 = PKGID = 261, SHA1HEADER = HDRID = 269, SHA256HEADER = 273.
    @Test func installedHeadersMatchRpmQueryAll() throws {
        let tmp = try TemporaryDirectory("hdr-db")
        defer { tmp.remove() }
        let builder = try RPMBuilder(directory: tmp.path("build"))
        let rpms = try builder.build(Self.spec()) + builder.build(RPMSpec(name: "plain", version: "1", release: "0"))
        let root = try RPMRoot(path: tmp.path("root"))
        try root.rpmInstall(rpms)
        try root.importKey(RPMRoot.systemArmoredKey())
        let tags = ["NAME", "EPOCHNUM", "VERSION", "RELEASE", "ARCH", "VENDOR", "DISTURL", "INSTALLTIME", "INSTALLTID", "SIGMD5", "PKGID", "HDRID", "SHA1HEADER", "SHA256HEADER", "SUMMARY"]
        let lines = try root.rpmQuery(Self.qf(tags) + "\n").split(separator: "\n").map {
            $0.split(separator: Character(Self.F), omittingEmptySubsequences: false).map(String.init)
        }
        let blobs = try root.headerBlobs()
        #expect(blobs.count == 4)
        #expect(lines.count == blobs.count)
        for (want, row) in zip(lines, blobs) {  // both in hnum order
            let h = try RPMHeader(blob: row.blob, hasMagic: false)
            func s(_ v: String?) -> String { v ?? "(none)" }
            #expect(try s(h.string(.name)) == want[0])
            #expect(try String(h.int32(.epoch) ?? 0) == want[1])
            #expect(try s(h.string(.version)) == want[2])
            #expect(try s(h.string(.release)) == want[3])
            #expect(try s(h.string(.arch)) == want[4])
            #expect(try s(h.string(.vendor)) == want[5])
            #expect(try s(h.string(.disturl)) == want[6])
            #expect(try s(h.int64(.installTime).map(String.init)) == want[7])
            #expect(try s(h.int32(.installTID).map(String.init)) == want[8])
            #expect(try s(h.hex(.sigMD5)) == want[9])
            #expect(try s(h.hex(.pkgid)) == want[10])
            #expect(try s(h.string(.hdrid)) == want[11])
            #expect(try s(h.string(.sha1Header)) == want[12])
            #expect(try s(h.string(.sha256Header)) == want[13])
            #expect(try s(h.string(.summary)) == want[14])
            if want[0] != "gpg-pubkey" { #expect(want[9].count == 32) }
        }
        #expect(lines.contains { $0[0] == "gpg-pubkey" && $0[4] == "(none)" })
    }

    static func realBlob() throws -> [UInt8] {
        let tmp = try TemporaryDirectory("hdr-blob")
        defer { tmp.remove() }
        let builder = try RPMBuilder(directory: tmp.path("build"))
        let rpms = try builder.build(Self.spec())
        let root = try RPMRoot(path: tmp.path("root"))
        try root.rpmInstall(rpms)
        return try #require(root.headerBlobs().first { (try? RPMHeader(blob: $0.blob, hasMagic: false).string(.name)) == "hdrtest" }).blob
    }

    @Test func everyTruncationIsRejected() throws {
        let blob = try Self.realBlob()
        let full = try RPMHeader(blob: blob, hasMagic: false)
        #expect(full.size == blob.count)
        for n in 0..<blob.count {
            #expect(throws: TidemarkError.self, "prefix of \(n) bytes") { try RPMHeader(blob: blob[0..<n], hasMagic: false) }
        }
        let withMagic = RPMHeader.magic + blob
        for n in stride(from: 0, to: withMagic.count, by: 7) {
            #expect(throws: TidemarkError.self) { try RPMHeader(blob: withMagic[0..<n], hasMagic: true) }
        }
        let ok = try RPMHeader(blob: withMagic + [1, 2, 3], hasMagic: true)
        #expect(ok.size == withMagic.count)
        #expect(try ok.string(.name) == "hdrtest")
        do {
            _ = try RPMHeader(blob: blob[0..<(blob.count - 1)], hasMagic: false)
        } catch {
            #expect(error.code == .corrupt)
            #expect(error.message.contains("truncated"))
        }
    }

    /// Reads every entry through the accessor that fits its type (what a consumer might do).
    static func touchAll(_ h: RPMHeader) {
        for e in h.entries {
            switch e.type {
            case .string, .i18nString, .stringArray:
                _ = try? h.string(e.tag)
                _ = try? h.stringArray(e.tag)
            case .bin:
                _ = try? h.binary(e.tag)
                _ = try? h.hex(e.tag)
            default:
                _ = try? h.int32(e.tag)
                _ = try? h.int64(e.tag)
                _ = try? h.int32Array(e.tag)
                _ = try? h.int64Array(e.tag)
            }
            _ = try? h.string(e.tag)
            _ = try? h.int64(e.tag)
        }
    }

    @Test func randomCorruptionThrowsOrParsesButNeverCrashes() throws {
        let blob = try Self.realBlob()
        let indexEnd = 8 + Int(blob[0..<4].reduce(0) { $0 << 8 | Int($1) }) * 16
        var rng = SplitMix64(seed: 0x71de_4a11)
        var rejected = 0, parsed = 0
        for round in 0..<3000 {
            var b = blob
            let flips = 1 + rng.below(4)
            for _ in 0..<flips {
                // half of the flips hit the index, where they do the most damage
                let pos = round % 2 == 0 ? rng.below(indexEnd) : rng.below(b.count)
                b[pos] ^= UInt8(1 << rng.below(8))
            }
            if round % 10 == 0 { b = Array(b[0..<rng.below(b.count)]) }
            do {
                let h = try RPMHeader(blob: b, hasMagic: false)
                parsed += 1
                Self.touchAll(h)
                _ = try? RPMTestRecord(h)
            } catch {
                #expect(error.code == .corrupt)
                #expect(error.message.hasPrefix("rpm header: "))
                rejected += 1
            }
        }
        #expect(rejected > 0)
        #expect(parsed > 0)
    }

    @Test func corruptionsAreReportedClearly() throws {
        let blob = try Self.realBlob()
        func message(_ b: [UInt8], magic: Bool = false) -> String {
            do {
                _ = try RPMHeader(blob: b, hasMagic: magic)
                return "parsed"
            } catch { return error.message }
        }
        var b = blob
        b[0] = 0x01  // index count 16M+
        #expect(message(b).contains("index count"))
        b = blob
        b[4] = 0x10  // data length 256M+
        #expect(message(b).contains("data length"))
        b = blob
        b[5] &+= 1  // data length larger than what is there
        #expect(message(b).contains("truncated"))
        b = blob
        b[8 + 16 + 4 + 3] = 42  // second entry: unknown type
        #expect(message(b).contains("index entry 1") && message(b).contains("unknown data type 42"))
        b = blob
        b[8 + 16 + 8] = 0x7f  // second entry: offset far beyond the store
        #expect(message(b).contains("beyond"))
        #expect(message([0x8e, 0xad, 0xe8, 0x02] + blob, magic: true).contains("bad magic"))
        #expect(message([]).contains("need 8"))

        let h = try RPMHeader(blob: blob, hasMagic: false)
        #expect(throws: TidemarkError(.corrupt, "rpm header: tag 1006 (BUILDTIME) has type INT32, expected a string")) {
            try h.string(.buildTime)
        }
        #expect(throws: TidemarkError.self) { try h.int32(.name) }
        #expect(try h.string(RPMTag(99999)) == nil)

        // A string that runs to the end of the data store without its NUL: append one byte
        // "A" to the store and point NAME at it.
        let dl = Int(blob[4..<8].reduce(0) { $0 << 8 | Int($1) })
        var cut = blob + [0x41]
        cut.replaceSubrange(4..<8, with: withUnsafeBytes(of: UInt32(dl + 1).bigEndian, Array.init))
        let nameIndex = try #require(h.entries.firstIndex { $0.tag == .name })
        let p = 8 + nameIndex * 16 + 8
        cut.replaceSubrange(p..<(p + 4), with: withUnsafeBytes(of: UInt32(dl).bigEndian, Array.init))
        let t = try RPMHeader(blob: cut, hasMagic: false)
        #expect(throws: TidemarkError.self) { try t.string(.name) }
        do { _ = try t.string(.name) } catch { #expect(error.message.contains("tag 1000 (NAME): string at data offset \(dl) is not NUL-terminated")) }
    }

    /// Integer widths, I18NSTRING and duplicate tags, on a header written byte by byte.
    @Test func syntheticHeaderTypes() throws {
        var index: [UInt8] = [], data: [UInt8] = []
        func be(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.bigEndian, Array.init) }
        func add(_ tag: UInt32, _ type: UInt32, _ count: UInt32, _ payload: [UInt8], align: Int = 1) {
            while data.count % align != 0 { data.append(0) }
            index += be(tag) + be(type) + be(UInt32(data.count)) + be(count)
            data += payload
        }
        add(1000, 6, 1, Array("first\0".utf8))
        add(2001, 2, 3, [1, 2, 255])
        add(2002, 3, 2, [0x01, 0x02, 0xff, 0xfe], align: 2)
        add(2003, 5, 1, [0, 0, 0, 1, 0, 0, 0, 2], align: 8)
        add(1004, 9, 2, Array("C summary\0de summary\0".utf8))
        add(1000, 6, 1, Array("second\0".utf8))  // a later entry replaces an earlier one
        let blob = be(UInt32(index.count / 16)) + be(UInt32(data.count)) + index + data
        let h = try RPMHeader(blob: blob, hasMagic: false)
        #expect(try h.string(.name) == "second")
        #expect(try h.int32Array(RPMTag(2001)) == [1, 2, 255])
        #expect(try h.int32(RPMTag(2002)) == 0x0102)
        #expect(try h.int32Array(RPMTag(2002)) == [0x0102, 0xfffe])
        #expect(try h.int64(RPMTag(2003)) == 0x1_0000_0002)
        #expect(throws: TidemarkError.self) { try h.int32(RPMTag(2003)) }
        #expect(try h.string(.summary) == "C summary")
        #expect(try h.stringArray(.summary) == ["C summary", "de summary"])
        #expect(try h.binary(RPMTag(2001)) == [1, 2, 255])

        // misaligned INT32 is corrupt
        var bad = blob
        let e = 8 + 2 * 16  // third entry (INT16 at an even offset): make it INT32 at offset 2
        bad.replaceSubrange((e + 4)..<(e + 8), with: be(4))
        bad.replaceSubrange((e + 8)..<(e + 12), with: be(2))
        #expect(throws: TidemarkError.self) { try RPMHeader(blob: bad, hasMagic: false) }
    }
}

/// What RPMDatabase extracts, recomputed here only through the public accessors (so the fuzz
/// test exercises the same paths without depending on TidemarkHosts).
struct RPMTestRecord {
    init(_ h: RPMHeader) throws(TidemarkError) {
        _ = try h.string(.name)
        _ = try h.string(.version)
        _ = try h.string(.release)
        _ = try h.int32(.epoch)
        _ = try h.hex(.sigMD5)
        _ = try h.int32Array(.changelogTime)
        _ = try h.stringArray(.changelogName)
        _ = try h.stringArray(.changelogText)
    }
}
