import Foundation
import Testing
import TidemarkCore
import TidemarkHosts
import TidemarkRPM
import TidemarkRepo
import TidemarkTestSupport

/// Real packages for the repository tests, built with rpmbuild, and the createrepo_c runs they
/// are compared with.
enum RepoFixtures {
    /// The revision (and timestamp) both generators are given, so repomd.xml can match too.
    static let revision: Int64 = 1_700_000_123

    /// Packages with everything primary, filelists and other carry: epochs, every kind of
    /// dependency (versioned with each comparison, unversioned, Requires(pre/post), weak ones,
    /// self-provided, own files, rpmlib(), several libc.so.6), files in /etc and */bin/, %dir,
    /// %ghost, a 12-entry changelog with equal times, a noarch subpackage, texts to escape
    /// (`<`, `&`, `"`, tab, non-ASCII in text and in attributes) and a compressed payload.
    static func variedSpecs() -> [RPMSpec] {
        var alpha = RPMSpec(
            name: "alpha", epoch: 2, version: "1.0~rc1", release: "3.1", arch: "x86_64",
            summary: "Alpha <tools> & \"more\" — ünïcödé ☃\ttabbed", license: "MIT & GPL-2.0-or-later", vendor: "Tidemark & Co <vendor>",
            requires: [
                "libfoo >= 1.2", "bar = 2:3.4-5", "baz < 2", "plain", "/bin/sh", "qux <= 1:7", "quux > 0.1-1.2",
                "/etc/alpha.conf", "/usr/share/alpha/data.txt", "/usr/bin/alpha", "alpha-cap = 1", "alpha-cap",
                "libc.so.6()(64bit)", "libc.so.6(GLIBC_2.4)(64bit)", "libc.so.6(GLIBC_2.17)(64bit)", "libc.so.6(GLIBC_2.3.4)(64bit)",
                "ünï-dep < 3", "amp&dep >= 1.0-1",
            ],
            provides: ["alpha-cap = 1", "x&y = 1.0-1", "cap(x)(64bit) = 2:1.0", "unversioned-provide", "prov-ü"],
            conflicts: ["oldthing < 2", "other", "epochy <= 3:1.0-1"], obsoletes: ["alpha-legacy <= 2.0-1", "alpha-ancient"],
            files: [
                PackageFile("/etc/alpha.conf", contents: "x=1\n", isConfig: true),
                PackageFile("/usr/bin/alpha", contents: "#!/bin/sh\necho alpha\n", mode: "0755"),
                PackageFile("/usr/sbin/alpha-admin", contents: "#!/bin/sh\n", mode: "0755"),
                PackageFile("/usr/lib/sendmail", contents: "sendmail\n", mode: "0755"),
                PackageFile("/opt/alphabin/tool", contents: "t\n"),
                PackageFile("/usr/share/alpha/data.txt", contents: "data\n"),
                PackageFile("/usr/share/alpha/üñí.txt", contents: "u\n"),
            ],
            changelog: changelog(), buildTime: 1_700_000_000)
        alpha.requiresPre = ["shadow", "coreutils >= 8.0"]
        alpha.recommends = ["rec-one >= 1", "rec-two"]
        alpha.suggests = ["sugg = 1.0-1", "sugg-two"]
        alpha.supplements = ["supp-thing", "packageand(alpha:beta)"]
        alpha.enhances = ["enh < 3"]
        alpha.directories = ["/usr/share/alpha/empty", "/etc/alpha.d", "/usr/bin/alpha-plugins"]
        alpha.ghosts = ["/var/log/alpha.log", "/etc/alpha.generated"]
        alpha.url = "https://example.org/alpha?x=1&y=<2>"
        alpha.group = "Development/Tools & <Stuff>"
        alpha.packager = "Pat Packager <pat@example.org>"
        alpha.description = "Alpha does things.\nIt has <markup> & \"quotes\" & 'apostrophes'.\n\tIndented — ünïcode line."
        alpha.subpackages = [
            RPMSubpackage(
                name: "alpha-doc", summary: "Docs for alpha", requires: ["alpha = 2:1.0~rc1-3.1"],
                files: [PackageFile("/usr/share/doc/alpha/README", contents: "readme\n")], noarch: true)
        ]

        var beta = RPMSpec(
            name: "beta", version: "0.9", release: "1", arch: "noarch", summary: "Beta",
            requires: ["alpha >= 1.0"], files: [PackageFile("/usr/share/beta/readme", contents: "b\n")])
        beta.payload = "w9.gzdio"

        let gamma = RPMSpec(
            name: "gamma", epoch: 0, version: "3", release: "0.1", arch: "x86_64", summary: "Gamma, no files, with an epoch of 0",
            requires: ["/bin/bash"], provides: ["gamma(abi) = 3"], buildTime: 1_600_000_000)
        var gammaSpec = gamma
        gammaSpec.files = []
        return [alpha, beta, gammaSpec]
    }

    /// Twelve entries (createrepo_c keeps the newest ten), three of them at the same second,
    /// authors and texts to escape.
    static func changelog() -> [ChangelogEntry] {
        var log: [ChangelogEntry] = []
        let base: Int64 = 1_736_158_272
        for i in 0..<12 {
            let t = i >= 2 && i <= 4 ? base - 86_400 * 2 : base - Int64(i) * 86_400
            log.append(
                ChangelogEntry(
                    time: t, author: i % 3 == 0 ? "Zoë Ünïcode <zoe@example.org> - 1.0-\(i)" : "Bob <bob@example.org>",
                    text: "- change \(i): fixed <bug> & \"issue\"\n- second line"))
        }
        return log
    }

    /// Builds the varied packages and a source package; returns the paths.
    static func buildVaried(_ tmp: TemporaryDirectory) throws -> [String] {
        let builder = try RPMBuilder(directory: tmp.path("build"))
        var paths: [String] = []
        for spec in variedSpecs() { paths += try builder.build(spec) }
        paths.append(try builder.buildSource(variedSpecs()[1]))
        return paths
    }

    /// Copies `rpms` into a fresh flat directory `dir`.
    static func flatRepository(_ dir: String, _ rpms: [String]) throws {
        try FileSystem.makeDirectory(dir)
        for r in rpms { try FileSystem.copy(r, to: dir + "/" + (r as NSString).lastPathComponent) }
    }

    /// The real createrepo_c, with the fixed revision and timestamps.
    static func createrepo(_ dir: String, _ extra: [String] = []) throws {
        try Subprocess.check(
            "createrepo_c", ["--quiet", "--no-database", "--revision", String(revision), "--set-timestamp-to-revision"] + extra + [dir])
    }

    /// RepoPackages for every `.rpm` of a flat directory, hrefs = file names, mtimes from disk.
    static func repoPackages(_ dir: String) throws -> [RepoPackage] {
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".rpm") }.sorted()
        return try names.map { n in
            let path = dir + "/" + n
            return try RepoPackage(file: RPMFile(path: path), href: n, mtime: mtime(path))
        }
    }

    static func mtime(_ path: String) throws -> Int64 {
        var st = stat()
        guard stat(path, &st) == 0 else { throw TidemarkError(.unreadable, "stat \(path) failed") }
        return Int64(st.st_mtim.tv_sec)
    }

    /// The path of repodata's file of `type` (primary, filelists, other).
    static func repodataFile(_ repo: String, _ type: String) throws -> String {
        let names = try FileManager.default.contentsOfDirectory(atPath: repo + "/repodata")
        return repo + "/repodata/" + (try #require(names.first { $0.contains("-\(type).xml") }, "\(type) in \(repo)/repodata"))
    }

    /// Where two byte strings first differ, as lines, for a readable failure.
    static func difference(_ a: [UInt8], _ b: [UInt8], _ labels: (String, String) = ("ours", "createrepo_c")) -> String {
        if a == b { return "equal" }
        let la = String(decoding: a, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        let lb = String(decoding: b, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        for i in 0..<max(la.count, lb.count) {
            let x = i < la.count ? String(la[i]) : "<end>", y = i < lb.count ? String(lb[i]) : "<end>"
            if x != y { return "line \(i + 1):\n  \(labels.0): \(x)\n  \(labels.1): \(y)" }
        }
        return "same lines, \(a.count) vs \(b.count) bytes"
    }

    static func sha256(_ bytes: [UInt8]) -> String {
        var h = SHA256()
        h.update(bytes)
        return hexString(h.finalize())
    }
}
