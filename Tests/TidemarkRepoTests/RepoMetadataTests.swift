import Foundation
import Testing
import TidemarkCore
import TidemarkHosts
import TidemarkRPM
@testable import TidemarkRepo
import TidemarkTestSupport

/// The generator against the real createrepo_c on the same files, and real zypper installing
/// from what it generates.
@Suite struct RepoMetadataTests {
    /// Same files, same revision: every byte of repodata/ is createrepo_c's, repomd.xml and the
    /// gzip files included when compressing at createrepo_c's level 6 (same zlib, same header).
    /// At the default level only the .gz bytes (and so their names and checksums) differ.
    @Test func repodataEqualsCreaterepoC() throws {
        let tmp = try TemporaryDirectory("repo-vs-createrepo")
        defer { tmp.remove() }
        let rpms = try RepoFixtures.buildVaried(tmp)
        let dir = tmp.path("repo")
        try RepoFixtures.flatRepository(dir, rpms)
        try RepoFixtures.createrepo(dir)

        let packages = try RepoFixtures.repoPackages(dir)
        #expect(packages.count == 5)  // alpha, alpha-doc, beta, beta.src, gamma
        let md = RepoMetadata.assemble(packages, revision: String(RepoFixtures.revision), timestamp: RepoFixtures.revision, gzipLevel: 6)

        // Uncompressed first: the clearest message when a fragment differs.
        for r in md.records {
            let theirs = try gunzip(FileSystem.read(RepoFixtures.repodataFile(dir, r.type)))
            let ours = try gunzip(try #require(md.files[r.href]))
            let same = ours == theirs
            #expect(same, "\(r.type).xml: \(RepoFixtures.difference(ours, theirs))")
        }
        // Then the files themselves.
        for (path, bytes) in md.files {
            let theirs = (try? FileSystem.read(dir + "/" + path)) ?? []
            let same = bytes == theirs
            #expect(same, "\(path): \(theirs.isEmpty ? "createrepo_c wrote no such file" : RepoFixtures.difference(bytes, theirs))")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: dir + "/repodata").sorted()
        #expect(names == md.files.keys.map { ($0 as NSString).lastPathComponent }.sorted())

        // The default level: the same documents.
        let fast = RepoMetadata.assemble(packages, revision: RepoFixtures.revision)
        #expect(fast.records.map(\.openChecksum) == md.records.map(\.openChecksum))
        #expect(fast.records.map(\.openSize) == md.records.map(\.openSize))
    }

    /// The same comparison, as data: every package read back from both repositories by a
    /// field-by-field reading of primary, filelists and other (every rpm:entry attribute,
    /// file types, changelogs), so a difference names the package and the field.
    @Test func packageAndDependencyDataMatchCreaterepoC() throws {
        let tmp = try TemporaryDirectory("repo-data-vs-createrepo")
        defer { tmp.remove() }
        let rpms = try RepoFixtures.buildVaried(tmp)
        let dir = tmp.path("repo")
        try RepoFixtures.flatRepository(dir, rpms)
        try RepoFixtures.createrepo(dir)
        let ours = RepoMetadata.assemble(try RepoFixtures.repoPackages(dir), revision: RepoFixtures.revision)

        for type in ["primary", "filelists", "other"] {
            let theirs = try Flat.packages(gunzip(FileSystem.read(RepoFixtures.repodataFile(dir, type))))
            let mine = try Flat.packages(gunzip(try #require(ours.records.first { $0.type == type }.flatMap { ours.files[$0.href] })))
            #expect(mine.count == theirs.count, "\(type): package count")
            for (a, b) in zip(mine, theirs) {
                #expect(a.key == b.key, "\(type): package order")
                for (field, value) in b.fields {
                    #expect(a.fields[field] == value, "\(type) \(b.key): \(field)")
                }
                #expect(Set(a.fields.keys) == Set(b.fields.keys), "\(type) \(b.key): fields")
            }
        }

        // Spot checks of the rules createrepo_c applies, on our output.
        let alpha = try #require(try RepoFixtures.repoPackages(dir).first { $0.name == "alpha" })
        let primary = String(decoding: alpha.primary, as: UTF8.self)
        func has(_ s: String) -> Bool { primary.contains(s) }
        #expect(!has("rpmlib("))
        #expect(!has("name=\"/etc/alpha.conf\"/>"))  // own primary file: not required
        #expect(!has("name=\"/usr/bin/alpha\"/>"))
        #expect(has("<rpm:entry name=\"/usr/share/alpha/data.txt\"/>"))  // own, but not a primary file
        #expect(!has("<rpm:entry name=\"alpha-cap\" flags=\"EQ\" epoch=\"0\" ver=\"1\"/>\n    </rpm:requires>"))
        #expect(has("<rpm:entry name=\"shadow\" pre=\"1\"/>"))
        #expect(primary.components(separatedBy: "libc.so.6").count == 2)  // only the highest
        #expect(has("<rpm:entry name=\"libc.so.6(GLIBC_2.17)(64bit)\"/>\n    </rpm:requires>"))  // and last
        #expect(has("<rpm:entry name=\"&#xFC;n&#xEF;-dep\" flags=\"LT\" epoch=\"0\" ver=\"3\"/>"))
        #expect(has("<summary>Alpha &lt;tools&gt; &amp; \"more\" — ünïcödé ☃\ttabbed</summary>"))
        #expect(has("<file>/opt/alphabin/tool</file>"))  // "bin/" anywhere
        #expect(has("<file type=\"dir\">/usr/bin/alpha-plugins</file>"))
        #expect(has("<file type=\"ghost\">/etc/alpha.generated</file>"))
        #expect(!has("/usr/share/alpha/data.txt</file>"))
        let other = String(decoding: alpha.other, as: UTF8.self)
        #expect(other.components(separatedBy: "<changelog ").count == 11)  // the newest ten
    }

    /// zypper installs a package and its dependency from a repository Tidemark generated, with
    /// the files in a `Packages/<arch>/` layout of its own.
    @Test func zypperInstallsFromGeneratedRepository() throws {
        let tmp = try TemporaryDirectory("repo-zypper")
        defer { tmp.remove() }
        let builder = try RPMBuilder(directory: tmp.path("build"))
        var rpms = try builder.build(
            RPMSpec(
                name: "tm-app", version: "1.0", release: "1", arch: "x86_64", summary: "App <needs> lib & more",
                requires: ["tm-lib >= 1.2", "/usr/bin/tm-lib-tool"],
                files: [PackageFile("/usr/bin/tm-app", contents: "#!/bin/sh\n", mode: "0755")]))
        rpms += try builder.build(
            RPMSpec(
                name: "tm-lib", epoch: 1, version: "1.2", release: "3", summary: "Lib",
                files: [PackageFile("/usr/bin/tm-lib-tool", contents: "#!/bin/sh\n", mode: "0755")]))
        rpms += try builder.build(RPMSpec(name: "tm-lib", epoch: 1, version: "1.1", release: "1", summary: "Older lib"))
        rpms += try builder.build(RPMSpec(name: "tm-unrelated", version: "9", summary: "Not installed"))

        let repo = tmp.path("repo")
        var packages: [RepoPackage] = []
        for path in rpms {
            let f = try RPMFile(path: path)
            let href = "Packages/\(f.arch)/" + (path as NSString).lastPathComponent
            try FileSystem.makeDirectory(repo + "/Packages/\(f.arch)")
            try FileSystem.copy(path, to: repo + "/" + href)
            packages.append(try RepoPackage(file: f, href: href, mtime: RepoFixtures.mtime(path)))
        }
        try RepoMetadata.assemble(packages, revision: 1_700_000_000).write(toRepository: repo)

        let root = try RPMRoot(path: tmp.path("root"))
        try root.addRepo(alias: "tidemark", url: "file://" + repo)
        try root.refresh()
        try root.install(["tm-app"])
        let installed = try root.rpmQA().map { "\($0.package.name)-\($0.package.evr.version)-\($0.package.evr.release)" }.sorted()
        #expect(installed == ["tm-app-1.0-1", "tm-lib-1.2-3"])

        // A second generation with one more package: zypper sees the new revision.
        rpms = try builder.build(RPMSpec(name: "tm-extra", version: "2", summary: "Added later"))
        let f = try RPMFile(path: rpms[0])
        let href = "Packages/noarch/" + (rpms[0] as NSString).lastPathComponent
        try FileSystem.copy(rpms[0], to: repo + "/" + href)
        packages.append(try RepoPackage(file: f, href: href, mtime: 1_700_000_500))
        try RepoMetadata.assemble(packages, revision: 1_700_000_001).write(toRepository: repo)
        #expect(try FileManager.default.contentsOfDirectory(atPath: repo + "/repodata").count == 4)  // stale files removed
        try root.refresh()
        try root.install(["tm-extra"])
        #expect(try root.rpmQA().contains { $0.package.name == "tm-extra" })
    }

    /// repomd.xml's checksums and sizes are those of the files written to disk, compressed
    /// and uncompressed, as checked by sha256sum and gzip.
    @Test func repomdChecksumsMatchFilesOnDisk() throws {
        let tmp = try TemporaryDirectory("repo-checksums")
        defer { tmp.remove() }
        let rpms = try RepoFixtures.buildVaried(tmp)
        let dir = tmp.path("repo")
        try RepoFixtures.flatRepository(dir, rpms)
        let md = RepoMetadata.assemble(try RepoFixtures.repoPackages(dir), revision: "tidemark-1", timestamp: 1_700_000_777)
        try md.write(toRepository: dir)
        let repomd = try FileSystem.read(dir + "/repodata/repomd.xml")
        let written = repomd == md.repomd
        #expect(written)
        let parsed = try RepoMDReader.parseRepoMD(repomd)
        #expect(parsed.revision == "tidemark-1")
        #expect(parsed.records.map(\.type) == ["primary", "filelists", "other"])
        for r in parsed.records {
            let path = dir + "/" + r.href
            #expect(r.href == "repodata/\(r.checksum ?? "")-\(r.type).xml.gz")
            let sum = try Subprocess.check("sha256sum", [path]).stdoutText.prefix(64)
            #expect(r.checksumType == "sha256" && r.checksum == String(sum), "\(r.type) checksum")
            let open = try Subprocess.check("sh", ["-c", "gzip -dc '\(path)' | sha256sum"]).stdoutText.prefix(64)
            #expect(r.openChecksumType == "sha256" && r.openChecksum == String(open), "\(r.type) open-checksum")
            let openSize = try Subprocess.check("sh", ["-c", "gzip -dc '\(path)' | wc -c"]).stdoutText.trimmed
            #expect(r.openSize.map(String.init) == openSize, "\(r.type) open-size")
            let attrs = try FileManager.default.attributesOfItem(atPath: path)
            #expect(r.size == (attrs[.size] as? Int), "\(r.type) size")
            #expect(r.timestamp == 1_700_000_777)
        }
    }

    /// The same packages in any order, twice: the same bytes; a different revision changes
    /// only repomd.xml.
    @Test func outputIsDeterministic() throws {
        let tmp = try TemporaryDirectory("repo-deterministic")
        defer { tmp.remove() }
        let dir = tmp.path("repo")
        try RepoFixtures.flatRepository(dir, try RepoFixtures.buildVaried(tmp))
        let packages = try RepoFixtures.repoPackages(dir)
        let a = RepoMetadata.assemble(packages, revision: 42)
        let b = RepoMetadata.assemble(packages.reversed(), revision: 42)
        let c = RepoMetadata.assemble(packages + packages, revision: 42)  // duplicates written once
        let orderIndependent = a.files == b.files, duplicatesIgnored = a.files == c.files
        #expect(orderIndependent)
        #expect(duplicatesIgnored)
        let d = RepoMetadata.assemble(packages, revision: 43)
        #expect(a.records.map(\.checksum) == d.records.map(\.checksum))
        let revisionChanges = a.repomd != d.repomd
        #expect(revisionChanges)
        // Fragments survive a round trip through Codable (how a store might keep them).
        let json = try JSONEncoder().encode(packages)
        let decoded = try JSONDecoder().decode([RepoPackage].self, from: json) == packages
        #expect(decoded)
    }

    /// Moving a package to another href (or behind an xml:base) gives the fragments a fresh
    /// read of the file at that location would give.
    @Test func relocatedEqualsFreshFragments() throws {
        let tmp = try TemporaryDirectory("repo-relocate")
        defer { tmp.remove() }
        let rpms = try RepoFixtures.buildVaried(tmp)
        for path in rpms {
            let f = try RPMFile(path: path)
            let here = try RepoPackage(file: f, href: "a.rpm", mtime: 1)
            for (href, base) in [("Packages/x/ü&<b>.rpm", nil), ("c.rpm", "https://archive.example.org/x?a=1&b=2")] as [(String, String?)] {
                let fresh = try RepoPackage(file: f, href: href, base: base, mtime: 1)
                #expect(here.relocated(href: href, base: base) == fresh, "\(path) -> \(href)")
            }
        }
    }

    /// An empty repository is what createrepo_c writes for an empty directory.
    @Test func emptyRepositoryEqualsCreaterepoC() throws {
        let tmp = try TemporaryDirectory("repo-empty")
        defer { tmp.remove() }
        let dir = try tmp.makeDirectory("repo")
        try RepoFixtures.createrepo(dir)
        let md = RepoMetadata.assemble([], revision: String(RepoFixtures.revision), timestamp: RepoFixtures.revision, gzipLevel: 6)
        for (path, bytes) in md.files {
            #expect(bytes == (try FileSystem.read(dir + "/" + path)), "\(path)")
        }
    }

    /// createrepo_c's ordering: by file name, then directory, bytewise.
    @Test func packagesAreSortedLikeCreaterepoC() {
        func pkg(_ href: String) -> RepoPackage {
            RepoPackage(
                name: href, arch: "noarch", epoch: "0", version: "1", release: "1", pkgid: href, href: href, packageSize: 1, primary: [],
                filelists: [], other: [])
        }
        let hrefs = ["b/a.rpm", "a/b.rpm", "a/a.rpm", "Z.rpm", "a.rpm", "c/B.rpm"]
        #expect(RepoMetadata.sortedForRepository(hrefs.map(pkg)).map(\.href) == ["c/B.rpm", "Z.rpm", "a.rpm", "a/a.rpm", "b/a.rpm", "a/b.rpm"])
    }

    /// libxml2's escaping, which createrepo_c's output follows.
    @Test func escapingFollowsLibxml2() {
        func text(_ s: String) -> String {
            var o: [UInt8] = []
            XMLEscape.text(s, into: &o)
            return String(decoding: o, as: UTF8.self)
        }
        func attr(_ s: String) -> String {
            var o: [UInt8] = []
            XMLEscape.attribute(s, into: &o)
            return String(decoding: o, as: UTF8.self)
        }
        #expect(text("a<b>&c\"d'e\tf\ng\rh ü☃😀") == "a&lt;b&gt;&amp;c\"d'e\tf\ng&#13;h ü☃😀")
        #expect(attr("a<b>&c\"d'e\tf\ng\rh ü☃😀") == "a&lt;b&gt;&amp;c&quot;d'e&#9;f&#10;g&#13;h &#xFC;&#x2603;&#x1F600;")
        #expect(attr("plain") == "plain")
        var o: [UInt8] = []
        XMLEscape.decimal(Int64(-1_234_567_890_123), into: &o)
        XMLEscape.decimal(0, into: &o)
        XMLEscape.decimal(UInt64.max, into: &o)
        #expect(String(decoding: o, as: UTF8.self) == "-1234567890123018446744073709551615")
    }

    /// createrepo_c's helpers, on the cases its comments name.
    @Test func createrepoRules() {
        #expect(RepoPackageModel.isPrimary("/etc/foo"))
        #expect(!RepoPackageModel.isPrimary("/etc"))
        #expect(RepoPackageModel.isPrimary("/usr/lib/sendmail"))
        #expect(RepoPackageModel.isPrimary("/opt/xbin/y"))
        #expect(RepoPackageModel.isPrimary("/usr/bbin/y"))
        #expect(!RepoPackageModel.isPrimary("/usr/bin"))
        #expect(!RepoPackageModel.isPrimary("/usr/share/bi/n/"))
        #expect(RepoPackageModel.compareLibc("libc.so.6()(64bit)", "libc.so.6(GLIBC_2.4)(64bit)") == 2)
        #expect(RepoPackageModel.compareLibc("libc.so.6(GLIBC_2.17)(64bit)", "libc.so.6(GLIBC_2.4)(64bit)") == 1)
        #expect(RepoPackageModel.compareLibc("libc.so.6(GLIBC_2.3.4)(64bit)", "libc.so.6(GLIBC_2.4)") == 2)
        #expect(RepoPackageModel.compareLibc("libc.so.6", "libc.so.6(GLIBC_2.4)") == 2)
        #expect(RepoPackageModel.compareLibc("libc.so.6(x)", "libc.so.6(y)") == 0)
        #expect(RepoPackageModel.trimAuthor("Bob <b@x>   ") == "Bob <b@x>")
        #expect(RepoPackageModel.trimAuthor(" ") == " ")
        #expect(RepoPackageModel.trimAuthor("a\t ") == "a\t")
    }
}

/// Fragments of the size real packages have (a dozen dependencies, a few dozen files, three
/// changelog entries), without building RPMs.
enum Fabricated {
    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    /// Like RPMBuilder.buildMany's: empty noarch packages (about 1.2 kB of XML each).
    static func tiny(_ n: Int) -> [RepoPackage] {
        var rng = SplitMix64(seed: 9)
        return (0..<n).map { i in
            let name = "bench-" + String(repeating: "0", count: max(0, 5 - String(i).count)) + String(i)
            let pkgid = (0..<4).map { _ in String(rng.next(), radix: 16) }.joined()
            let primary = "<package type=\"rpm\">\n  <name>\(name)</name>\n  <arch>noarch</arch>\n  <version epoch=\"0\" ver=\"1.0\" rel=\"1\"/>\n  <checksum type=\"sha256\" pkgid=\"YES\">\(pkgid)</checksum>\n  <summary>s</summary>\n  <description>s</description>\n  <packager></packager>\n  <url></url>\n  <time file=\"1795946831\" build=\"1795946831\"/>\n  <size package=\"5565\" installed=\"0\" archive=\"124\"/>\n  <location href=\"\(name)-1.0-1.noarch.rpm\"/>\n  <format>\n    <rpm:license>MIT</rpm:license>\n    <rpm:vendor></rpm:vendor>\n    <rpm:group>Unspecified</rpm:group>\n    <rpm:buildhost>vm</rpm:buildhost>\n    <rpm:sourcerpm>bench-1.0-1.src.rpm</rpm:sourcerpm>\n    <rpm:header-range start=\"4504\" end=\"5441\"/>\n    <rpm:provides>\n      <rpm:entry name=\"\(name)\" flags=\"EQ\" epoch=\"0\" ver=\"1.0\" rel=\"1\"/>\n    </rpm:provides>\n  </format>\n</package>\n"
            let short = "<package pkgid=\"\(pkgid)\" name=\"\(name)\" arch=\"noarch\">\n  <version epoch=\"0\" ver=\"1.0\" rel=\"1\"/>\n</package>\n"
            return RepoPackage(
                name: name, arch: "noarch", epoch: "0", version: "1.0", release: "1", pkgid: pkgid, href: "\(name)-1.0-1.noarch.rpm",
                packageSize: 5565, primary: Array(primary.utf8), filelists: Array(short.utf8), other: Array(short.utf8))
        }
    }

    static func packages(_ n: Int) -> [RepoPackage] {
        var rng = SplitMix64(seed: 7)
        return (0..<n).map { i in
            let name = "pkg-\(i)"
            let pkgid = (0..<4).map { _ in String(rng.next(), radix: 16) }.joined()
            var primary = "<package type=\"rpm\">\n  <name>\(name)</name>\n  <arch>x86_64</arch>\n  <version epoch=\"0\" ver=\"1.\(i % 97)\" rel=\"\(i % 13).1\"/>\n  <checksum type=\"sha256\" pkgid=\"YES\">\(pkgid)</checksum>\n  <summary>Summary of package \(i)</summary>\n  <description>A description of package \(i), which does something useful.\nIt spans two lines.</description>\n  <packager>https://bugs.example.org</packager>\n  <url>https://example.org/\(name)</url>\n  <time file=\"1700000000\" build=\"16990\(i)\"/>\n  <size package=\"\(60000 + i)\" installed=\"\(i * 31)\" archive=\"\(i * 37)\"/>\n  <location href=\"Packages/x86_64/\(name)-1.0-1.x86_64.rpm\"/>\n  <format>\n    <rpm:license>MIT</rpm:license>\n    <rpm:vendor>openSUSE</rpm:vendor>\n    <rpm:group>System/Libraries</rpm:group>\n    <rpm:buildhost>build\(i % 50)</rpm:buildhost>\n    <rpm:sourcerpm>\(name)-1.0-1.src.rpm</rpm:sourcerpm>\n    <rpm:header-range start=\"4504\" end=\"\(9000 + i)\"/>\n    <rpm:provides>\n"
            for k in 0..<4 { primary += "      <rpm:entry name=\"lib\(name)-\(k).so.1()(64bit)\"/>\n" }
            primary += "      <rpm:entry name=\"\(name)\" flags=\"EQ\" epoch=\"0\" ver=\"1.0\" rel=\"1\"/>\n    </rpm:provides>\n    <rpm:requires>\n"
            for k in 0..<8 { primary += "      <rpm:entry name=\"libdep\((i + k * 7) % n).so.\(k)()(64bit)\"/>\n" }
            primary += "      <rpm:entry name=\"/bin/sh\" pre=\"1\"/>\n    </rpm:requires>\n    <file>/usr/bin/\(name)</file>\n  </format>\n</package>\n"
            var filelists = "<package pkgid=\"\(pkgid)\" name=\"\(name)\" arch=\"x86_64\">\n  <version epoch=\"0\" ver=\"1.0\" rel=\"1\"/>\n"
            filelists += "  <file>/usr/bin/\(name)</file>\n  <file type=\"dir\">/usr/share/\(name)</file>\n"
            for k in 0..<30 { filelists += "  <file>/usr/share/\(name)/file-\(k).dat</file>\n" }
            filelists += "</package>\n"
            var other = "<package pkgid=\"\(pkgid)\" name=\"\(name)\" arch=\"x86_64\">\n  <version epoch=\"0\" ver=\"1.0\" rel=\"1\"/>\n"
            for k in 0..<3 {
                other += "  <changelog author=\"Maintainer \(k) &lt;m\(k)@example.org&gt;\" date=\"\(1_600_000_000 + k * 86400)\">- Update to version 1.\(k)\n  * fixes bug #\(i * 10 + k)\n  * improves performance</changelog>\n"
            }
            other += "</package>\n"
            return RepoPackage(
                name: name, arch: "x86_64", epoch: "0", version: "1.0", release: "1", pkgid: pkgid,
                href: "Packages/x86_64/\(name)-1.0-1.x86_64.rpm", packageSize: 60000 + i,
                primary: Array(primary.utf8), filelists: Array(filelists.utf8), other: Array(other.utf8))
        }
    }
}

/// A field-by-field reading of one metadata file, for comparisons that name what differs:
/// each `<package>` becomes a flat map of "path" → value, where repeated elements are numbered
/// (`format/rpm:requires/rpm:entry[3]@flags`).
enum Flat {
    struct Package {
        var key: String
        var fields: [String: String]
    }

    static func packages(_ xml: [UInt8]) throws -> [Package] {
        var s = XMLScanner(bytes: xml, file: "metadata")
        var out: [Package] = []
        var path: [String] = []
        var counters: [[String: Int]] = [[:]]
        var current: [String: String] = [:]
        while let e = try s.next() {
            switch e {
            case .start(let r):
                let name = s.string(r)
                let n = counters[counters.count - 1][name, default: 0]
                counters[counters.count - 1][name] = n + 1
                path.append(n == 0 ? name : "\(name)[\(n)]")
                counters.append([:])
                if s.depth == 2 { current = [:] }
                let p = path.dropFirst(2).joined(separator: "/")
                for a in s.attributes { current[p + "@" + s.string(a.name)] = try s.decode(a.value) }
            case .text(let r):
                if s.depth >= 3 { current[path.dropFirst(2).joined(separator: "/"), default: ""] += try s.decode(r) }
            case .cdata(let r):
                current[path.dropFirst(2).joined(separator: "/"), default: ""] += s.string(r)
            case .end:
                if s.depth == 1 {
                    let key = ["@pkgid", "checksum", "name", "@name", "arch", "@arch"].compactMap { current[$0] }.joined(separator: " ")
                    out.append(Package(key: key, fields: current.filter { $0.key.contains("@") || !$0.value.allSatisfy(\.isWhitespace) }))
                }
                path.removeLast()
                counters.removeLast()
            }
        }
        return out
    }
}
