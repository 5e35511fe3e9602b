import Foundation
import Testing
import TidemarkCore
import TidemarkHosts
import TidemarkRPM
import TidemarkTestSupport

/// RPMFile against real packages built by rpmbuild: every field is compared with what the real
/// `rpm -qp` (and createrepo_c) read from the same file, and damaged copies must be rejected
/// with a message that says what is wrong and where.
@Suite struct RPMFileTests {
    static let F = "\u{1F}", R = "\u{1E}", G = "\u{1D}"

    /// A package with everything the reader must get right.
    static func spec(arch: String = "x86_64", payload: String = "w.ufdio") -> RPMSpec {
        var s = RPMSpec(
            name: "filetest", epoch: 4, version: "2.5~rc1", release: "3.1", arch: arch, summary: "File test 100% real",
            vendor: "Tidemark Test Vendor", disturl: "obs://build.example.org/devel:openQA/openSUSE_Tumbleweed/0123abcd-filetest",
            requires: ["libfoo >= 1.2", "bar = 2:3.4-5", "baz < 2", "plain", "/bin/sh", "qux <= 1:7", "quux > 0.1-1.2"],
            provides: ["filetest-capability = 1", "cap(x)(64bit) = 2:1.0", "unversioned-provide"],
            conflicts: ["oldthing < 2", "other"], obsoletes: ["filetest-legacy <= 2.0-1"],
            files: [
                PackageFile("/usr/share/filetest/a.txt", contents: "a\n"),
                PackageFile("/etc/filetest.conf", contents: "x=1\n", isConfig: true),
                PackageFile("/usr/bin/filetest", contents: "#!/bin/sh\necho hi\n", mode: "0755"),
            ],
            changelog: [
                ChangelogEntry(time: 1_736_158_272, author: "Alice Example <alice@example.org> - 2.5~rc1-3.1", text: "- fix 100% of it\n- second line"),
                ChangelogEntry(time: 1_735_905_600, author: "Bob <bob@example.org>", text: "- initial"),
            ],
            subpackages: [RPMSubpackage(name: "filetest-data", requires: ["filetest = 4:2.5~rc1-3.1"], files: [PackageFile("/usr/share/filetest/data", contents: "d")], noarch: true)],
            buildTime: 1_700_000_000)
        s.requiresPre = ["coreutils >= 8.0", "shadow"]
        s.recommends = ["rec-one >= 1", "rec-two"]
        s.suggests = ["sugg = 1.0-1"]
        s.supplements = ["supp-thing"]
        s.enhances = ["enh < 3"]
        s.directories = ["/usr/share/filetest/emptydir"]
        s.ghosts = ["/var/log/filetest.log"]
        s.url = "https://example.org/filetest"
        s.group = "Development/Tools"
        s.packager = "Pat Packager <pat@example.org>"
        s.description = "A package for the file reader tests.\nIt has a second line."
        s.payload = payload
        return s
    }

    /// `rpm -qp --qf FORMAT FILE`.
    static func rpmQuery(_ file: String, _ format: String) throws -> String {
        try Subprocess.check("rpm", ["-qp", "--qf", format, file]).stdoutText
    }

    static func s(_ v: String?) -> String { v ?? "(none)" }
    static func n<T: BinaryInteger>(_ v: T?) -> String { v.map { String($0) } ?? "(none)" }

    /// Compares every field of `RPMFile` with `rpm -qp` on the same file.
    static func expectMatchesRPM(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let f = try RPMFile(path: path)
        let scalarTags = [
            "NAME", "EPOCH", "VERSION", "RELEASE", "ARCH", "SOURCERPM", "SUMMARY", "DESCRIPTION", "URL", "LICENSE",
            "VENDOR", "GROUP", "PACKAGER", "BUILDHOST", "DISTURL", "BUILDTIME", "LONGSIZE", "LONGARCHIVESIZE", "SIGMD5",
            "SHA1HEADER", "SHA256HEADER", "PAYLOADDIGEST", "SOURCEPACKAGE", "PAYLOADCOMPRESSOR",
        ]
        let out = try rpmQuery(path, scalarTags.map { "%{\($0)}" }.joined(separator: F))
        let want = out.split(separator: Character(F), omittingEmptySubsequences: false).map(String.init)
        try #require(want.count == scalarTags.count, sourceLocation: sourceLocation)
        let got = [
            s(f.name), n(f.epoch), s(f.version), s(f.release), s(f.arch), s(f.sourceRPM), s(f.summary), s(f.description),
            s(f.url), s(f.license), s(f.vendor), s(f.group), s(f.packager), s(f.buildHost), s(f.distURL), n(f.buildTime),
            n(f.installedSize), n(f.archiveSize), s(f.sigMD5), s(f.sha1Header), s(f.sha256Header), s(f.payloadDigest),
            f.isSourcePackage ? "1" : "(none)", s(f.payloadCompressor),
        ]
        for (i, tag) in scalarTags.enumerated() {
            #expect(got[i] == want[i], "\(tag) of \(path)", sourceLocation: sourceLocation)
        }
        #expect(f.evr == EVR(epoch: f.epoch ?? 0, version: f.version, release: f.release), sourceLocation: sourceLocation)

        // the whole file's SHA-256 and size
        let sha = try Subprocess.check("sha256sum", [path]).stdoutText.prefix(64)
        #expect(f.fileSHA256 == String(sha), sourceLocation: sourceLocation)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(f.packageSize == size, sourceLocation: sourceLocation)

        // dependencies: the raw arrays, and rpm's own rendering (`rpm -qp --requires` & co)
        let kinds: [(RPMDependencyKind, String, String)] = [
            (.provides, "PROVIDE", "--provides"), (.requires, "REQUIRE", "--requires"), (.conflicts, "CONFLICT", "--conflicts"),
            (.obsoletes, "OBSOLETE", "--obsoletes"), (.recommends, "RECOMMEND", "--recommends"), (.suggests, "SUGGEST", "--suggests"),
            (.supplements, "SUPPLEMENT", "--supplements"), (.enhances, "ENHANCE", "--enhances"),
        ]
        for (kind, tag, option) in kinds {
            let raw = try rpmQuery(path, "[%{\(tag)NAME}\(G)%{\(tag)FLAGS}\(G)%{\(tag)VERSION}\(R)]")
            let rows = raw.split(separator: Character(R)).map { $0.split(separator: Character(G), omittingEmptySubsequences: false).map(String.init) }
            let deps = f.dependencies(kind)
            #expect(deps.map(\.name) == rows.map { $0[0] }, "\(kind) names of \(path)", sourceLocation: sourceLocation)
            #expect(deps.map { String($0.flags) } == rows.map { $0[1] }, "\(kind) flags of \(path)", sourceLocation: sourceLocation)
            #expect(deps.map(\.evrString) == rows.map { $0[2] }, "\(kind) versions of \(path)", sourceLocation: sourceLocation)
            let listed = try Subprocess.check("rpm", ["-qp", option, path]).stdoutText.split(separator: "\n").map(String.init)
            #expect(deps.map(render) == listed, "rpm -qp \(option) \(path)", sourceLocation: sourceLocation)
        }

        // files
        let fileRows = try rpmQuery(
            path, "[%{FILENAMES}\(G)%{FILEMODES}\(G)%{FILEFLAGS}\(G)%{FILESIZES}\(G)%{FILEDIGESTS}\(G)%{FILELINKTOS}\(G)%{FILEUSERNAME}\(G)%{FILEGROUPNAME}\(R)]"
        ).split(separator: Character(R)).map { $0.split(separator: Character(G), omittingEmptySubsequences: false).map(String.init) }
        #expect(f.files.count == fileRows.count, sourceLocation: sourceLocation)
        for (e, row) in zip(f.files, fileRows) {
            #expect(
                [e.path, String(e.mode), String(e.flags), n(e.size), e.digest ?? "", e.linkTarget ?? "", s(e.user), s(e.group)] == row,
                sourceLocation: sourceLocation)
        }
        let listed = try Subprocess.check("rpm", ["-qpl", path]).stdoutText.split(separator: "\n").map(String.init)
        if !(listed == ["(contains no files)"] && f.files.isEmpty) {
            #expect(f.files.map(\.path) == listed, sourceLocation: sourceLocation)
        }

        // changelog
        let log = try rpmQuery(path, "[%{CHANGELOGTIME}\(G)%{CHANGELOGNAME}\(G)%{CHANGELOGTEXT}\(R)]")
            .split(separator: Character(R)).map { $0.split(separator: Character(G), omittingEmptySubsequences: false).map(String.init) }
        #expect(f.changelog.map { [String($0.time), $0.author, $0.text] } == log, sourceLocation: sourceLocation)

        // header range: the main header starts after the lead and the padded signature
        let bytes = try FileSystem.read(path)
        let sig = try RPMHeader(blob: bytes[96...], hasMagic: true)
        #expect(f.headerRange.lowerBound == (96 + sig.size + 7) & ~7, sourceLocation: sourceLocation)
        #expect(try RPMHeader(blob: bytes[f.headerRange], hasMagic: true).size == f.headerRange.count, sourceLocation: sourceLocation)

        // the same bytes in memory give the same result
        let mem = try RPMFile(bytes: bytes, name: "mem.rpm")
        #expect(mem.fileSHA256 == f.fileSHA256 && mem.files == f.files && mem.verifiedDigests == f.verifiedDigests, sourceLocation: sourceLocation)
        #expect(mem.toPackage() == f.toPackage(), sourceLocation: sourceLocation)
    }

    /// A dependency the way `rpm -qp --requires` prints it.
    static func render(_ d: RPMDependency) -> String {
        var op = ""
        if d.flags & RPMDependency.Sense.less != 0 { op += "<" }
        if d.flags & RPMDependency.Sense.greater != 0 { op += ">" }
        if d.flags & RPMDependency.Sense.equal != 0 { op += "=" }
        return op.isEmpty ? d.name : "\(d.name) \(op) \(d.evrString)"
    }

    @Test func everyFieldMatchesRpmQuery() throws {
        let tmp = try TemporaryDirectory("rpmfile-fields")
        defer { tmp.remove() }
        let builder = try RPMBuilder(directory: tmp.path("build"))
        let rpms = try builder.build(Self.spec())
        #expect(rpms.count == 2)
        for rpm in rpms { try Self.expectMatchesRPM(rpm) }

        let main = try RPMFile(path: try #require(rpms.first { $0.hasSuffix(".x86_64.rpm") }))
        #expect(main.epoch == 4 && main.arch == "x86_64" && !main.isSourcePackage)
        #expect(main.payloadIsUncompressed)
        #expect(main.verifiedDigests == ["SIZE", "SHA256HEADER", "SHA1HEADER", "PAYLOADDIGEST (SHA-256)", "PAYLOADDIGESTALT (SHA-256)", "MD5", "PAYLOADSIZE"])
        #expect(main.unverifiedDigests.isEmpty)
        // what the spec asked for is there, typed
        let pre = main.dependencies(.requires).filter(\.isPre).map(\.name)
        #expect(pre == ["coreutils", "shadow"])
        let kinds = Dictionary(uniqueKeysWithValues: main.files.map { ($0.path, $0.kind) })
        #expect(kinds["/usr/share/filetest/emptydir"] == .directory)
        #expect(kinds["/var/log/filetest.log"] == .ghost)
        #expect(kinds["/usr/share/filetest/a.txt"] == .file)
        #expect(main.files.first { $0.path == "/etc/filetest.conf" }?.isConfig == true)
        let bar = try #require(main.dependencies(.requires).first { $0.name == "bar" })
        #expect(bar.comparison == .eq && bar.epoch == "2" && bar.version == "3.4" && bar.release == "5")
        let quux = try #require(main.dependencies(.requires).first { $0.name == "quux" })
        #expect(quux.comparison == .gt && quux.epoch == "0" && quux.version == "0.1" && quux.release == "1.2")
        let plain = try #require(main.dependencies(.requires).first { $0.name == "plain" })
        #expect(plain.comparison == nil && plain.epoch == nil && plain.version == nil && plain.release == nil && !plain.isPre)

        let data = try RPMFile(path: try #require(rpms.first { $0.hasSuffix(".noarch.rpm") }))
        #expect(data.name == "filetest-data" && data.arch == "noarch" && data.epoch == 4)
        #expect(data.sourceRPM == main.sourceRPM)
    }

    @Test func compressedPayloadsAndSourcePackages() throws {
        let tmp = try TemporaryDirectory("rpmfile-compressed")
        defer { tmp.remove() }
        let builder = try RPMBuilder(directory: tmp.path("build"))
        for payload in ["w9.gzdio", "w2.xzdio", "w3.zstdio"] {
            var spec = Self.spec(arch: "noarch", payload: payload)
            spec.name = "filetest-\(payload.dropFirst(3).prefix(2))"
            spec.subpackages = []
            let rpms = try builder.build(spec)
            for rpm in rpms {
                try Self.expectMatchesRPM(rpm)
                let f = try RPMFile(path: rpm)
                #expect(!f.payloadIsUncompressed, "\(payload)")
                #expect(f.verifiedDigests == ["SIZE", "SHA256HEADER", "SHA1HEADER", "PAYLOADDIGEST (SHA-256)", "MD5"], "\(payload)")
                #expect(f.unverifiedDigests == ["PAYLOADDIGESTALT: digest of the uncompressed payload, which is stored compressed"])
            }
        }
        let src = try builder.buildSource(Self.spec())
        try Self.expectMatchesRPM(src)
        let f = try RPMFile(path: src)
        #expect(f.isSourcePackage && f.sourceRPM == nil && f.name == "filetest")
    }

    /// A payload larger than the 1 MiB read chunk: streamed from disk, it must hash the same as in memory.
    @Test func largePayloadIsStreamed() throws {
        let tmp = try TemporaryDirectory("rpmfile-large")
        defer { tmp.remove() }
        var rng = SplitMix64(seed: 99)
        let big = String((0..<3_300_000).map { _ in Character(Unicode.Scalar(UInt8(97 + rng.below(26)))) })
        let rpms = try RPMBuilder(directory: tmp.path("build")).build(
            RPMSpec(name: "bigfile", version: "1", files: [PackageFile("/usr/share/big", contents: big)]))
        let rpm = try #require(rpms.first)
        try Self.expectMatchesRPM(rpm)
        #expect(try RPMFile(path: rpm).packageSize > 3 << 20)
    }

    /// The file and the package an install of it leaves in the rpm database have one identity.
    @Test func packageMatchesTheInstalledOne() throws {
        let tmp = try TemporaryDirectory("rpmfile-installed")
        defer { tmp.remove() }
        let rpms = try RPMBuilder(directory: tmp.path("build")).build(Self.spec())
        let root = try RPMRoot(path: tmp.path("root"))
        try root.rpmInstall(rpms, nodeps: true)
        let installed = try RPMDatabase.read(root: root.path)
        #expect(installed.packages.count == rpms.count)
        for rpm in rpms {
            let f = try RPMFile(path: rpm)
            let p = f.toPackage()
            let match = installed.packages.first { $0.package.name == p.name }
            #expect(match?.package == p, "\(p.nevra)")
            #expect(match?.package.identityKey == p.identityKey)
            #expect(p.digest == f.sigMD5 && p.digest?.count == 32)
            #expect(installed.changelogs[p.identityKey] ?? [] == f.changelog)
        }
    }

    /// What createrepo_c writes for the same files: pkgid, sizes, header range, dependency
    /// entries (flags, epoch/ver/rel split, pre) and file types.
    @Test func createrepoFieldsMatch() throws {
        let tmp = try TemporaryDirectory("rpmfile-createrepo")
        defer { tmp.remove() }
        let builder = try RPMBuilder(directory: tmp.path("build"))
        var rpms = try builder.build(Self.spec())
        rpms += try builder.build(Self.spec(arch: "noarch", payload: "w9.gzdio").renamed("filetest-gz"))
        let repo = try RPMRepository(path: tmp.path("repo"), rpms: rpms)
        let primary = try Self.gunzip(Self.repodataFile(repo.path, "primary"))
        let filelists = try Self.gunzip(Self.repodataFile(repo.path, "filelists"))
        let packages = primary.components(separatedBy: "<package type=\"rpm\">").dropFirst()
        #expect(packages.count == rpms.count)
        for file in repo.files {
            let f = try RPMFile(path: repo.path + "/" + file)
            let xml = try #require(packages.first { $0.contains("<location href=\"\(file)\"/>") }, "\(file) in primary.xml")
            #expect(xml.contains("<checksum type=\"sha256\" pkgid=\"YES\">\(f.fileSHA256)</checksum>"), "\(file) pkgid")
            #expect(
                xml.contains("<size package=\"\(f.packageSize)\" installed=\"\(f.installedSize ?? 0)\" archive=\"\(f.archiveSize ?? 0)\"/>"), "\(file) sizes")
            #expect(xml.contains("<rpm:header-range start=\"\(f.headerRange.lowerBound)\" end=\"\(f.headerRange.upperBound)\"/>"), "\(file) header range")
            #expect(xml.contains("<time file=") && xml.contains("build=\"\(f.buildTime ?? 0)\"/>"), "\(file) build time")
            // every entry createrepo_c wrote is one of ours, split the same way
            for (kind, element) in [(RPMDependencyKind.provides, "provides"), (.requires, "requires"), (.conflicts, "conflicts"), (.obsoletes, "obsoletes"),
                                    (.recommends, "recommends"), (.suggests, "suggests"), (.supplements, "supplements"), (.enhances, "enhances")] {
                let entries = Self.entries(xml, element)
                let ours = f.dependencies(kind).map { d in
                    var a = ["name": d.name]
                    if let c = d.comparison { a["flags"] = c.rawValue }
                    if let e = d.epoch { a["epoch"] = e }
                    if let v = d.version { a["ver"] = v }
                    if let r = d.release { a["rel"] = r }
                    if d.isPre { a["pre"] = "1" }
                    return a
                }
                for e in entries { #expect(ours.contains(e), "\(file) \(element) entry \(e)") }
                if kind != .requires { #expect(entries.count == ours.count, "\(file) \(element)") }  // only requires are filtered
            }
            // file types in filelists.xml
            let fl = try #require(filelists.components(separatedBy: "<package ").first { $0.contains("pkgid=\"\(f.fileSHA256)\"") })
            for e in f.files {
                let type = e.kind == .file ? "" : " type=\"\(e.kind.rawValue)\""
                #expect(fl.contains("<file\(type)>\(e.path)</file>"), "\(file): \(e.path) as \(e.kind)")
            }
        }
    }

    static func repodataFile(_ repo: String, _ kind: String) throws -> String {
        let names = try FileManager.default.contentsOfDirectory(atPath: repo + "/repodata")
        return repo + "/repodata/" + (try #require(names.first { $0.hasSuffix("-\(kind).xml.gz") || $0 == "\(kind).xml.gz" }))
    }

    static func gunzip(_ path: String) throws -> String { try Subprocess.check("gzip", ["-dc", path]).stdoutText }

    /// The attributes of each `<rpm:entry>` inside `<rpm:ELEMENT>`.
    static func entries(_ xml: String, _ element: String) -> [[String: String]] {
        guard let start = xml.range(of: "<rpm:\(element)>"), let end = xml.range(of: "</rpm:\(element)>", range: start.upperBound..<xml.endIndex) else { return [] }
        var out: [[String: String]] = []
        for piece in xml[start.upperBound..<end.lowerBound].components(separatedBy: "<rpm:entry ").dropFirst() {
            var attrs: [String: String] = [:]
            var rest = Substring(piece.prefix { $0 != ">" })
            while let eq = rest.firstIndex(of: "=") {
                let key = rest[..<eq].trimmingCharacters(in: .whitespaces)
                let q1 = rest.index(eq, offsetBy: 2)
                guard let q2 = rest[q1...].firstIndex(of: "\"") else { break }
                attrs[key] = String(rest[q1..<q2]).replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
                    .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
                rest = rest[rest.index(after: q2)...]
            }
            out.append(attrs)
        }
        return out
    }

    // MARK: Damage

    /// The message `RPMFile(bytes:name:)` rejects the bytes with, or "accepted".
    static func rejection(_ bytes: [UInt8], name: String = "t.rpm") -> String {
        do {
            _ = try RPMFile(bytes: bytes, name: name)
            return "accepted"
        } catch {
            #expect(error.code == .corrupt, "\(error.message)")
            #expect(error.message.hasPrefix("\(name): "), "\(error.message)")
            return error.message
        }
    }

    static func builtRPM(_ tmp: TemporaryDirectory) throws -> (path: String, bytes: [UInt8]) {
        let rpms = try RPMBuilder(directory: tmp.path("build")).build(Self.spec())
        let path = try #require(rpms.first { $0.hasSuffix(".x86_64.rpm") })
        return (path, try FileSystem.read(path))
    }

    /// `rpm -K --nosignature` (digests only) on the bytes: rpm's own verdict.
    static func rpmAccepts(_ bytes: [UInt8], _ tmp: TemporaryDirectory) throws -> Bool {
        let p = tmp.path("check.rpm")
        try FileSystem.write(bytes, to: p)
        return try Subprocess.run("rpm", ["-K", "--nosignature", p]).status == 0
    }

    @Test func truncatedFilesAreRejected() throws {
        let tmp = try TemporaryDirectory("rpmfile-trunc")
        defer { tmp.remove() }
        let (path, bytes) = try Self.builtRPM(tmp)
        let f = try RPMFile(path: path)
        let sigEnd = 96 + f.signature.size
        let h = f.headerRange
        #expect(Self.rejection([]).contains("empty file (0 bytes)"))
        #expect(Self.rejection(Array(bytes[0..<50])) == "t.rpm: truncated: the lead needs 96 bytes at offset 0, file has 50")
        #expect(Self.rejection(Array(bytes[0..<100])) == "t.rpm: truncated: the signature header needs 16 bytes at offset 96 for its magic and counts, file has 100")
        #expect(Self.rejection(Array(bytes[0..<(sigEnd - 10)])).hasPrefix("t.rpm: truncated: the signature header needs \(f.signature.size) bytes at offset 96, file has"))
        #expect(Self.rejection(Array(bytes[0..<(h.lowerBound + 10)])).hasPrefix("t.rpm: truncated: the main header needs 16 bytes at offset \(h.lowerBound)"))
        #expect(Self.rejection(Array(bytes[0..<(h.lowerBound + h.count / 2)])).hasPrefix("t.rpm: truncated: the main header needs \(h.count) bytes at offset \(h.lowerBound)"))
        let payloadCut = h.upperBound + (bytes.count - h.upperBound) / 2
        #expect(Self.rejection(Array(bytes[0..<payloadCut])).hasPrefix("t.rpm: truncated: the signature says header and payload take \(bytes.count - h.lowerBound) bytes from offset \(h.lowerBound), file has \(payloadCut - h.lowerBound)"))
        #expect(Self.rejection(Array(bytes[0..<h.upperBound])).contains("truncated"))
        // every prefix is rejected, never accepted, never a trap
        for n in stride(from: 0, to: bytes.count, by: 5) {
            #expect(Self.rejection(Array(bytes[0..<n])) != "accepted", "prefix of \(n) bytes")
        }
        // trailing data too
        #expect(Self.rejection(bytes + [0, 1, 2]).contains("3 bytes of trailing data"))
        // and the same through the file path, with the path in the message
        let cut = tmp.path("cut.rpm")
        try FileSystem.write(bytes[0..<payloadCut], to: cut)
        #expect(caughtError { _ = try RPMFile(path: cut) }?.message.hasPrefix("\(cut): truncated: the signature says") == true)
        #expect(caughtError { _ = try RPMFile(path: tmp.path("missing.rpm")) }?.code == .notFound)
    }

    @Test func flippedBytesAreRejectedWithTheRightMessage() throws {
        let tmp = try TemporaryDirectory("rpmfile-flip")
        defer { tmp.remove() }
        let (path, bytes) = try Self.builtRPM(tmp)
        let f = try RPMFile(path: path)
        #expect(try Self.rpmAccepts(bytes, tmp))
        func flipped(_ at: Int) -> [UInt8] {
            var b = bytes
            b[at] ^= 0x01
            return b
        }
        /// Offset in the file of the data of `tag` in the header starting at `start`.
        func dataOffset(_ h: RPMHeader, _ start: Int, _ tag: RPMTag) throws -> Int {
            let e = try #require(h.entry(tag))
            return start + 16 + h.entryCount * 16 + e.offset
        }

        // a payload byte: the payload digest catches it (and rpm agrees the file is bad)
        let payloadByte = f.payloadOffset + (bytes.count - f.payloadOffset) / 2
        let m1 = Self.rejection(flipped(payloadByte))
        #expect(m1.hasPrefix("t.rpm: payload SHA-256 mismatch: the header says \(f.payloadDigest!), the payload (bytes \(f.payloadOffset)..<\(bytes.count)) hashes to "))
        #expect(try !Self.rpmAccepts(flipped(payloadByte), tmp))

        // a header byte (inside the SUMMARY text): the header digests catch it
        let summaryByte = try dataOffset(f.header, f.headerRange.lowerBound, .summary) + 2
        let m2 = Self.rejection(flipped(summaryByte))
        #expect(m2.hasPrefix("t.rpm: header SHA-256 mismatch: the signature says \(f.sha256Header!), the main header (bytes \(f.headerRange.lowerBound)..<\(f.headerRange.upperBound)) hashes to "))
        #expect(try !Self.rpmAccepts(flipped(summaryByte), tmp))

        // signature values: the stored digest itself changed
        let sha256Byte = try dataOffset(f.signature, 96, RPMFile.SignatureTag.sha256)
        #expect(Self.rejection(flipped(sha256Byte)).hasPrefix("t.rpm: header SHA-256 mismatch: the signature says "))
        let sha1Byte = try dataOffset(f.signature, 96, RPMFile.SignatureTag.sha1)
        #expect(Self.rejection(flipped(sha1Byte)).hasPrefix("t.rpm: header SHA-1 mismatch: the signature says "))
        let md5Byte = try dataOffset(f.signature, 96, RPMFile.SignatureTag.md5)
        #expect(Self.rejection(flipped(md5Byte)).hasPrefix("t.rpm: MD5 mismatch: the signature says "))
        #expect(try !Self.rpmAccepts(flipped(md5Byte), tmp))
        let sizeByte = try dataOffset(f.signature, 96, RPMFile.SignatureTag.size) + 3
        #expect(Self.rejection(flipped(sizeByte)).contains("the signature says header and payload take"))

        // structure: lead magic, lead version, header magic, an index entry's type
        #expect(Self.rejection(flipped(0)).hasPrefix("t.rpm: not an rpm package: starts with ecabeedb"))
        var v = bytes
        v[4] = 9
        #expect(Self.rejection(v) == "t.rpm: unsupported rpm format version 9 in the lead (offset 4); versions 3 and 4 are known")
        #expect(Self.rejection(flipped(96)).hasPrefix("t.rpm: bad signature header magic 8fade801 at offset 96"))
        #expect(Self.rejection(flipped(f.headerRange.lowerBound + 2)).hasPrefix("t.rpm: bad main header magic"))
        let typeByte = f.headerRange.lowerBound + 16 + 16 + 7  // second index entry, low byte of its type
        var t = bytes
        t[typeByte] = 42
        #expect(Self.rejection(t).hasPrefix("t.rpm: main header at offset \(f.headerRange.lowerBound): index entry 1 (tag"))
        #expect(Self.rejection(t).hasSuffix("has unknown data type 42"))
    }

    @Test func notAnRPMAtAll() throws {
        #expect(Self.rejection(Array("hello, world\n".utf8)) == "t.rpm: not an rpm package: starts with 68656c6c, expected the lead magic edabeedb at offset 0")
        #expect(Self.rejection([0x1f, 0x8b]) == "t.rpm: not an rpm package: starts with 1f8b, expected the lead magic edabeedb at offset 0")
        #expect(Self.rejection([0xed, 0xab]) == "t.rpm: truncated: the lead needs 96 bytes at offset 0, file has 2")
        #expect(Self.rejection(Array("!<arch>\ndebian-binary   ".utf8)).contains("not an rpm package"))
        let tmp = try TemporaryDirectory("rpmfile-dir")
        defer { tmp.remove() }
        try FileSystem.makeDirectory(tmp.path("d"))
        #expect(caughtError { _ = try RPMFile(path: tmp.path("d")) }?.code == .invalidArgument)
    }

    // MARK: Files made by hand (for what rpmbuild never writes)

    static func be(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.bigEndian, Array.init) }

    /// A header blob with magic from (tag, type, count, data) entries; data aligned per type.
    static func header(_ entries: [(UInt32, UInt32, UInt32, [UInt8])]) -> [UInt8] {
        var index: [UInt8] = [], data: [UInt8] = []
        for (tag, type, count, payload) in entries {
            let align = [3: 2, 4: 4, 5: 8][Int(type)] ?? 1
            while data.count % align != 0 { data.append(0) }
            index += be(tag) + be(type) + be(UInt32(data.count)) + be(count)
            data += payload
        }
        return RPMHeader.magic + be(UInt32(entries.count)) + be(UInt32(data.count)) + index + data
    }

    /// lead + signature (with the given tags, padded) + main header + payload.
    static func assemble(signature sigEntries: [(UInt32, UInt32, UInt32, [UInt8])], main: [UInt8], payload: [UInt8]) -> [UInt8] {
        var lead = [UInt8](repeating: 0, count: 96)
        lead[0..<4] = [0xed, 0xab, 0xee, 0xdb]
        lead[4] = 3
        lead[79] = 5
        var sig = header(sigEntries)
        while sig.count % 8 != 0 { sig.append(0) }
        return lead + sig + main + payload
    }

    static func str(_ s: String) -> [UInt8] { Array(s.utf8) + [0] }

    @Test func digestsAreRequired() throws {
        let tmp = try TemporaryDirectory("rpmfile-nodigest")
        defer { tmp.remove() }
        let main = Self.header([(1000, 6, 1, Self.str("handmade")), (1001, 6, 1, Self.str("1.0")), (1002, 6, 1, Self.str("1")), (1022, 6, 1, Self.str("noarch"))])
        let payload = Array("not really cpio".utf8)
        let size = UInt32(main.count + payload.count)

        // only a size: nothing vouches for the content
        let bare = Self.assemble(signature: [(1000, 4, 1, Self.be(size))], main: main, payload: payload)
        #expect(Self.rejection(bare) == "t.rpm: no digest to verify: the signature header has no SHA256 (273), SHA1 (269) or MD5 (1004) and the main header no PAYLOADDIGEST (5092)")

        // a header digest only: the payload is not covered
        let headerOnly = Self.assemble(signature: [(269, 6, 1, Self.str(SHA1.hex(main)))], main: main, payload: payload)
        #expect(Self.rejection(headerOnly).hasPrefix("t.rpm: no digest covers the payload"))

        // SHA-1 and MD5, as rpm < 4.14 wrote them: accepted, and rpm agrees
        let md5 = MD5.hash(main + payload)
        let old = Self.assemble(
            signature: [(1000, 4, 1, Self.be(size)), (269, 6, 1, Self.str(SHA1.hex(main))), (1004, 7, 16, md5)], main: main, payload: payload)
        #expect(Self.rejection(old) == "accepted")
        #expect(try Self.rpmAccepts(old, tmp))
        let f = try RPMFile(bytes: old, name: "old.rpm")
        #expect(f.verifiedDigests == ["SIZE", "SHA1HEADER", "MD5"])
        #expect(f.name == "handmade" && f.epoch == nil && f.evr == EVR(epoch: 0, version: "1.0", release: "1"))
        #expect(f.files.isEmpty && f.changelog.isEmpty && f.dependencies(.requires).isEmpty)
        #expect(f.toPackage().digest == hexString(md5))

        // a wrong MD5 over the payload is caught even without a payload digest
        var bad = old
        bad[bad.count - 1] ^= 0x20
        #expect(Self.rejection(bad).hasPrefix("t.rpm: MD5 mismatch: the signature says \(hexString(md5)), header and payload (bytes "))
        #expect(try !Self.rpmAccepts(bad, tmp))

        // inconsistent dependency arrays and file lists are corrupt, with the tags named
        let skewed = Self.header([
            (1000, 6, 1, Self.str("skewed")), (1001, 6, 1, Self.str("1")), (1002, 6, 1, Self.str("1")),
            (1049, 8, 2, Self.str("a") + Self.str("b")), (1048, 4, 1, Self.be(0)), (1050, 8, 2, Self.str("") + Self.str("")),
        ])
        let skewedFile = Self.assemble(
            signature: [(269, 6, 1, Self.str(SHA1.hex(skewed))), (1004, 7, 16, MD5.hash(skewed + payload))], main: skewed, payload: payload)
        #expect(Self.rejection(skewedFile).hasSuffix("tags 1049 (REQUIRENAME), 1048 (REQUIREFLAGS) and 1050 (REQUIREVERSION) have 2, 1 and 2 values (must be equal)"))
        let badDir = Self.header([
            (1000, 6, 1, Self.str("baddir")), (1001, 6, 1, Self.str("1")), (1002, 6, 1, Self.str("1")),
            (1117, 8, 1, Self.str("f")), (1118, 8, 1, Self.str("/usr/")), (1116, 4, 1, Self.be(3)),
        ])
        let badDirFile = Self.assemble(
            signature: [(269, 6, 1, Self.str(SHA1.hex(badDir))), (1004, 7, 16, MD5.hash(badDir + payload))], main: badDir, payload: payload)
        #expect(Self.rejection(badDirFile).hasSuffix("file 0 ('f') has directory index 3, but there are 1 DIRNAMES"))
    }

    @Test func createrepoEVRSplit() {
        func split(_ s: String) -> [String?] {
            let (e, v, r) = RPMDependency.splitEVR(s)
            return [e, v, r]
        }
        #expect(split("") == [nil, nil, nil])
        #expect(split("1.0") == ["0", "1.0", nil])
        #expect(split("1.0-2") == ["0", "1.0", "2"])
        #expect(split("3:1.0-2") == ["3", "1.0", "2"])
        #expect(split("1.0-2-3") == ["0", "1.0", "2-3"])  // first dash, as createrepo_c
        #expect(split("1.0-") == ["0", "1.0", nil])
        #expect(split(":1.0") == ["0", "1.0", nil])
        #expect(split("x:1.0") == [nil, "1.0", nil])  // bad epoch: createrepo_c skips the dependency
        #expect(split(" 7:1") == [" 7", "1", nil])  // strtol skips leading white space
        #expect(split("-1:2") == ["-1", "2", nil])
        #expect(split("1:2:3-4") == ["1", "2:3", "4"])
        #expect(RPMDependency(name: "x", flags: 0, evrString: "x:1", isRequirement: false).hasBadEpoch)
        #expect(RPMDependency.comparison(12 | (1 << 9)) == .ge)
        #expect(RPMDependency.comparison(2 | 4) == nil)
        #expect(RPMDependency(name: "x", flags: 1 << 9, evrString: "", isRequirement: true).isPre)
        #expect(!RPMDependency(name: "x", flags: 1 << 9, evrString: "", isRequirement: false).isPre)
    }

    /// The fuzz target's check, in small: random damage to a real file throws `.corrupt` or
    /// parses, it never traps.
    @Test func randomDamageNeverTraps() throws {
        let tmp = try TemporaryDirectory("rpmfile-random")
        defer { tmp.remove() }
        let (_, bytes) = try Self.builtRPM(tmp)
        var rng = SplitMix64(seed: 0x0f11_e5ed)
        var accepted = 0
        for round in 0..<1500 {
            var b = bytes
            for _ in 0..<(1 + rng.below(4)) {
                let pos = round % 3 == 0 ? rng.below(min(b.count, 600)) : rng.below(b.count)
                b[pos] ^= UInt8(1 << rng.below(8))
            }
            if round % 7 == 0 { b = Array(b[0..<rng.below(b.count)]) }
            if Self.rejection(b) == "accepted" { accepted += 1 }
        }
        // only flips in bytes no digest covers (lead name, padding, reserved space) pass
        #expect(accepted < 1500 / 4)
    }
}

extension RPMSpec {
    fileprivate func renamed(_ name: String) -> RPMSpec {
        var s = self
        s.name = name
        s.subpackages = []
        return s
    }
}
