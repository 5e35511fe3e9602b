import Foundation
import Testing
import TidemarkCore
import TidemarkHosts
import TidemarkTestSupport

@Suite struct ZyppRepositoriesTests {
    @Test func parsesSectionsDefaultsAndMultipleURLs() throws {
        let text = """
            # openSUSE repositories
            [repo-oss]
            name=Main Repository (OSS)
            enabled = 1
            autorefresh=1
            baseurl=http://download.opensuse.org/tumbleweed/repo/oss/
            baseurl=http://mirror.a/oss/
                    http://mirror.b/oss/ , http://mirror.c/oss/?a=b
            type=rpm-md
            keeppackages=1
            priority=90

            ; second section in the same file
            [devel_openQA]
            name=devel:openQA
            enabled=no
            mirrorlist=http://download.opensuse.org/mirrors.txt
            gpgkey=http://x/key1
                   http://x/key2
            """
        let repos = try ZyppRepositories.parse(text, file: "x.repo")
        #expect(repos.map(\.alias) == ["devel_openQA", "repo-oss"])  // sorted by alias
        let oss = repos[1]
        #expect(oss.kind == .zypp && oss.name == "Main Repository (OSS)" && oss.enabled)
        #expect(oss.url == "http://download.opensuse.org/tumbleweed/repo/oss/ http://mirror.a/oss/ http://mirror.b/oss/ http://mirror.c/oss/?a=b")
        #expect(oss.priority == 90 && oss.keepPackages == true && oss.type == "rpm-md")
        let devel = repos[0]
        #expect(!devel.enabled && devel.url == "http://download.opensuse.org/mirrors.txt")
        #expect(devel.priority == 99 && devel.keepPackages == false && devel.type == nil)
    }

    @Test func errorsNameFileAndLine() {
        func message(_ text: String) -> String? {
            do { _ = try ZyppRepositories.parse(text, file: "/etc/zypp/repos.d/bad.repo"); return nil } catch { return error.message }
        }
        #expect(message("baseurl=http://x\n")?.hasPrefix("/etc/zypp/repos.d/bad.repo:1: ") == true)
        #expect(message("[a]\nname=x\nwhat is this\n")?.hasPrefix("/etc/zypp/repos.d/bad.repo:3: ") == true)
        #expect(message("[a\nname=x\n")?.contains(":1: ") == true)
        #expect(message("# c\n[a]\nenabled=maybe\n")?.contains(":2: [a] enabled=maybe") == true)
        #expect(message("[a]\npriority=high\n")?.contains("priority=high") == true)
    }

    @Test func readsRepoFilesUnderRootAndZypperWritesWhatWeRead() throws {
        let tmp = try TemporaryDirectory("zypp-repos")
        defer { tmp.remove() }
        #expect(try ZyppRepositories.read(root: tmp.path).isEmpty)  // no directory: none
        // Real zypper writes the files (it writes file:///x as file:/x).
        let root = try RPMRoot(path: tmp.path("root"))
        try root.addRepo(alias: "zeta", url: "file:///srv/zeta", priority: 20, keepPackages: true)
        try root.addRepo(alias: "alpha", url: "http://example.org/alpha")
        try root.zypper(["modifyrepo", "--disable", "alpha"])
        try FileSystem.write("not a repo file", to: tmp.path("root/etc/zypp/repos.d/README"))
        let repos = try ZyppRepositories.read(root: root.path)
        #expect(repos.map(\.alias) == ["alpha", "zeta"])
        #expect(repos[0].url == "http://example.org/alpha" && !repos[0].enabled && repos[0].priority == 99)
        #expect(repos[1].url == "file:/srv/zeta" && repos[1].enabled && repos[1].priority == 20 && repos[1].keepPackages == true)
    }
}

@Suite struct AptSourcesTests {
    @Test func oneLineFormat() throws {
        let text = """
            # Debian
            deb http://deb.debian.org/debian bookworm main contrib non-free-firmware
            deb-src http://deb.debian.org/debian bookworm main
            deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] https://repo.example/apt stable main # trailing comment
            deb [ enabled=no ] http://old.example/ flat/
            """
        let repos = try AptSources.parseList(text, file: "sources.list")
        #expect(repos.count == 4)
        #expect(repos[0].alias == "deb http://deb.debian.org/debian bookworm")
        #expect(repos[0].url == "http://deb.debian.org/debian" && repos[0].suites == ["bookworm"])
        #expect(repos[0].components == ["main", "contrib", "non-free-firmware"] && repos[0].type == "deb" && repos[0].kind == .apt)
        #expect(repos[1].type == "deb-src")
        #expect(repos[2].url == "https://repo.example/apt" && repos[2].components == ["main"])
        #expect(!repos[3].enabled && repos[3].suites == ["flat/"] && repos[3].components == [])
    }

    @Test func deb822Format() throws {
        let text = """
            # Modernized from /etc/apt/sources.list
            Types: deb deb-src
            URIs: http://deb.debian.org/debian
            Suites: bookworm bookworm-updates
            Components: main
            Signed-By: -----BEGIN PGP PUBLIC KEY BLOCK-----
             .
             mQINBF...
             -----END PGP PUBLIC KEY BLOCK-----

            Types: deb
            URIs: http://security.debian.org/debian-security
            Suites: bookworm-security
            Components: main
            Enabled: no
            """
        let repos = try AptSources.parseDeb822(text, file: "debian.sources")
        #expect(repos.count == 5)
        #expect(Set(repos.map(\.alias)).count == 5)
        #expect(repos.filter { $0.type == "deb-src" }.count == 2)
        #expect(repos.last?.enabled == false && repos.last?.suites == ["bookworm-security"])
        #expect(repos.allSatisfy { $0.name == "debian.sources" })
    }

    @Test func errorsNameFileAndLine() {
        func message(_ f: () throws(TidemarkError) -> [Repository]) -> String? {
            do { _ = try f(); return nil } catch { return error.message }
        }
        #expect(message { () throws(TidemarkError) in try AptSources.parseList("\ndeb http://x\n", file: "a.list") }?.hasPrefix("a.list:2: ") == true)
        #expect(message { () throws(TidemarkError) in try AptSources.parseList("rpm http://x a b\n", file: "a.list") }?.hasPrefix("a.list:1: ") == true)
        #expect(message { () throws(TidemarkError) in try AptSources.parseList("deb http://x suite\n", file: "a.list") }?.contains("component") == true)
        #expect(message { () throws(TidemarkError) in try AptSources.parseDeb822("\n\nTypes: deb\nSuites: x\nComponents: main\n", file: "b.sources") }?.hasPrefix("b.sources:3: ") == true)
        #expect(message { () throws(TidemarkError) in try AptSources.parseDeb822("Types: deb\nno colon here\n", file: "b.sources") }?.hasPrefix("b.sources:2: ") == true)
    }

    @Test func readsEverythingUnderRoot() throws {
        let tmp = try TemporaryDirectory("apt-sources")
        defer { tmp.remove() }
        #expect(try AptSources.read(root: tmp.path).isEmpty)
        try FileSystem.write("deb http://deb.debian.org/debian bookworm main\n", to: tmp.path("etc/apt/sources.list"))
        try FileSystem.write("deb http://deb.debian.org/debian bookworm contrib\n", to: tmp.path("etc/apt/sources.list.d/dup.list"))
        try FileSystem.write("Types: deb\nURIs: http://a.example/\nSuites: s\nComponents: c\n", to: tmp.path("etc/apt/sources.list.d/a.sources"))
        try FileSystem.write("ignored", to: tmp.path("etc/apt/sources.list.d/notes.txt"))
        let repos = try AptSources.read(root: tmp.path)
        #expect(repos.map(\.alias) == ["deb http://a.example/ s", "deb http://deb.debian.org/debian bookworm"])
        #expect(repos[1].components == ["main", "contrib"])  // configured twice: merged
    }
}
