import Foundation
import Testing
import TidemarkCore
import TidemarkHosts
import TidemarkTestSupport

/// RPMDatabase against the real thing: packages built by rpmbuild, installed, upgraded,
/// downgraded and removed by the real zypper in a root, and `rpm --root DIR -qa --qf` as the
/// oracle after every step.
@Suite struct RPMDatabaseTests {
    static let vendor = "Tidemark Test Vendor"
    static func disturl(_ name: String, _ rev: String) -> String {
        "obs://build.example.org/devel:openQA/openSUSE_Tumbleweed/\(rev)-\(name)"
    }

    static let alphaLog1 = [
        ChangelogEntry(time: 1_736_158_272, author: "Alice <alice@example.org> - 1.0-1", text: "- first release\n- with 100% coverage"),
        ChangelogEntry(time: 1_735_905_600, author: "Bob <bob@example.org>", text: "- packaging"),
    ]
    static let alphaLog2 = [ChangelogEntry(time: 1_738_000_000, author: "Alice <alice@example.org> - 2.0-1", text: "- version 2")] + alphaLog1

    static func alpha(_ version: String, log: [ChangelogEntry], rev: String) -> RPMSpec {
        RPMSpec(
            name: "alpha", epoch: 1, version: version, release: "1", vendor: vendor, disturl: disturl("alpha", rev),
            files: [PackageFile("/usr/share/alpha/VERSION", contents: version + "\n"), PackageFile("/etc/alpha.conf", contents: "v=\(version)\n", isConfig: true)],
            changelog: log,
            subpackages: [RPMSubpackage(name: "alpha-data", files: [PackageFile("/usr/share/alpha-data/\(version)", contents: "d")])])
    }

    /// Asserts that every reader returns exactly what `rpm -qa` prints, in rpm's order, and
    /// returns the native result.
    @discardableResult
    static func expectMatchesRPM(_ root: RPMRoot, _ step: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> RPMDatabase.Contents {
        let oracle = try root.rpmQA()
        let native = try RPMDatabase.read(root: root.path)
        #expect(native.location.backend == .sqlite, sourceLocation: sourceLocation)
        #expect(native.packages == oracle, "\(step): native reader differs from rpm -qa", sourceLocation: sourceLocation)
        let viaRPM = try RPMDatabase.readUsingRPM(native.location)
        #expect(viaRPM.packages == native.packages, "\(step): rpm fallback differs from native", sourceLocation: sourceLocation)
        #expect(viaRPM.changelogs == native.changelogs, "\(step): changelogs differ", sourceLocation: sourceLocation)
        let inventory = try HostCollector.collect(root: root.path)
        #expect(inventory.format == .rpm, sourceLocation: sourceLocation)
        #expect(inventory.packages == native.packages, sourceLocation: sourceLocation)
        return native
    }

    static func names(_ c: RPMDatabase.Contents) -> [String] {
        c.packages.map { "\($0.package.name)-\($0.package.evr.description).\($0.package.arch)" }.sorted()
    }

    @Test func followsZypperInstallUpgradeDowngradeRemove() throws {
        let tmp = try TemporaryDirectory("rpmdb-zypper")
        defer { tmp.remove() }
        let builder = try RPMBuilder(directory: tmp.path("build"))
        let alpha1 = try builder.build(Self.alpha("1.0", log: Self.alphaLog1, rev: "1111"))
        let alpha2 = try builder.build(Self.alpha("2.0", log: Self.alphaLog2, rev: "2222"))
        // the same package for two architectures (multilib), no vendor, no disturl, no epoch
        let beta64 = try builder.build(RPMSpec(name: "beta", version: "3.1", release: "2", arch: "x86_64"))
        let beta32 = try builder.build(RPMSpec(name: "beta", version: "3.1", release: "2", arch: "i686"))
        let gamma = try builder.build(RPMSpec(name: "gamma", version: "0.9", release: "0.1", vendor: "Other Vendor", buildTime: 1_600_000_000))

        let repo = try RPMRepository(path: tmp.path("repo"), rpms: alpha1 + beta64 + beta32 + gamma)
        let root = try RPMRoot(path: tmp.path("root"))
        try root.setTimeZone("Europe/Berlin")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: root.path + "/etc/localtime") == "/usr/share/zoneinfo/Europe/Berlin")
        try root.addRepo(alias: "tm-test", url: repo.url, priority: 90, keepPackages: true)
        try root.refresh()

        var c = try Self.expectMatchesRPM(root, "empty root")
        #expect(c.packages.isEmpty)

        try root.install(["alpha", "alpha-data", "beta.x86_64", "gamma"])
        // zypper keeps one arch per name (SUSE names its multilib packages -32bit); rpm itself
        // installs both arches of one name, as Fedora's multilib does
        try root.rpmInstall(beta32)
        c = try Self.expectMatchesRPM(root, "install")
        #expect(Self.names(c) == ["alpha-1:1.0-1.noarch", "alpha-data-1:1.0-1.noarch", "beta-3.1-2.i686", "beta-3.1-2.x86_64", "gamma-0.9-0.1.noarch"])
        let a1 = try #require(c.packages.first { $0.package.name == "alpha" })
        #expect(a1.package.vendor == Self.vendor)
        #expect(a1.package.disturl == Self.disturl("alpha", "1111"))
        #expect(a1.package.source == "alpha-1.0-1.src.rpm")
        #expect(a1.package.digest?.count == 32)
        #expect(c.changelogs[a1.package.identityKey] == Self.alphaLog1)
        let g = try #require(c.packages.first { $0.package.name == "gamma" })
        #expect(g.package.buildTime == 1_600_000_000)
        #expect(g.package.disturl == nil)
        #expect(c.changelogs[g.package.identityKey] == nil)
        let betas = c.packages.filter { $0.package.name == "beta" }
        #expect(Set(betas.map(\.package.arch)) == ["x86_64", "i686"])
        #expect(betas.allSatisfy { $0.package.vendor == nil && $0.package.evr.epoch == 0 })

        // upgrade
        try repo.add(alpha2)
        try root.refresh()
        try root.update()
        c = try Self.expectMatchesRPM(root, "update")
        #expect(Self.names(c).contains("alpha-1:2.0-1.noarch"))
        #expect(!Self.names(c).contains("alpha-1:1.0-1.noarch"))
        let a2 = try #require(c.packages.first { $0.package.name == "alpha" })
        #expect(a2.package.disturl == Self.disturl("alpha", "2222"))
        #expect(c.changelogs[a2.package.identityKey] == Self.alphaLog2)

        // downgrade, as openQA's rollback script does it
        try root.installOldPackage(["alpha=1:1.0-1", "alpha-data=1:1.0-1"])
        c = try Self.expectMatchesRPM(root, "--oldpackage downgrade")
        #expect(Self.names(c).contains("alpha-1:1.0-1.noarch"))
        #expect(Self.names(c).contains("alpha-data-1:1.0-1.noarch"))
        let again = try #require(c.packages.first { $0.package.name == "alpha" })
        #expect(again.package == a1.package)  // the very same binary again…
        #expect(again.installTime != nil)

        // removal
        try root.remove(["gamma", "beta.i686"])
        c = try Self.expectMatchesRPM(root, "remove")
        #expect(Self.names(c) == ["alpha-1:1.0-1.noarch", "alpha-data-1:1.0-1.noarch", "beta-3.1-2.x86_64"])

        // dup back to the repository's versions; key import adds a gpg-pubkey pseudo package
        try root.dup()
        try root.importKey(RPMRoot.systemArmoredKey())
        c = try Self.expectMatchesRPM(root, "dup + key import")
        #expect(Self.names(c).contains("alpha-1:2.0-1.noarch"))
        let key = try #require(c.packages.first { $0.package.name == "gpg-pubkey" })
        #expect(key.package.arch == "")
        #expect(key.package.digest == nil)

        // the repositories zypper wrote are part of the inventory
        let inv = try HostCollector.collect(root: root.path)
        #expect(inv.repositories?.contains { $0.alias == "tm-test" } == true)
        #expect(inv.changelogs == c.changelogs)
    }

    @Test func rpmInstallOfManyFilesMatches() throws {
        let tmp = try TemporaryDirectory("rpmdb-many")
        defer { tmp.remove() }
        let builder = try RPMBuilder(directory: tmp.path("build"))
        let rpms = try builder.buildMany(prefix: "bulk", count: 150, version: "4.2", release: "7", vendor: "Bulk")
        #expect(rpms.count == 150)
        let root = try RPMRoot(path: tmp.path("root"))
        try root.rpmInstall(rpms)
        let c = try Self.expectMatchesRPM(root, "150 packages")
        #expect(c.packages.count == 150)
        #expect(Set(c.packages.map(\.package.name)) == Set((0..<150).map { "bulk-" + String(repeating: "0", count: 5 - String($0).count) + String($0) }))
        #expect(c.packages.allSatisfy { $0.package.vendor == "Bulk" && $0.package.evr == EVR(version: "4.2", release: "7") })
    }

    /// A snapshot taken while rpm is writing the database (an agent running during a zypper
    /// transaction) must neither fail nor see a torn state.
    @Test func readsWhileRpmIsInstalling() async throws {
        let tmp = try TemporaryDirectory("rpmdb-concurrent")
        defer { tmp.remove() }
        let rpms = try RPMBuilder(directory: tmp.path("build")).buildMany(prefix: "conc", count: 400)
        let root = try RPMRoot(path: tmp.path("root"))
        try root.rpmInstall(Array(rpms[0..<10]))
        let rest = Array(rpms[10...])
        #expect(try RPMDatabase.read(root: root.path).packages.count == 10)  // warm up (rpm --eval)
        let install = Task.detached { try root.rpmInstall(rest) }
        // rpm commits package by package: the reads below usually see many intermediate states
        var counts: [Int] = []
        while counts.count < 2000 {
            let c = try RPMDatabase.read(root: root.path, changelogs: false)
            counts.append(c.packages.count)
            #expect(Set(c.packages.map(\.package.name)).count == c.packages.count)
            if c.packages.count == 400 { break }
        }
        try await install.value
        #expect(counts.first! >= 10)
        #expect(zip(counts, counts.dropFirst()).allSatisfy { $0 <= $1 })  // never goes backwards
        #expect(try RPMDatabase.read(root: root.path).packages == root.rpmQA())
    }

    /// openSUSE's layout: the database in /usr/lib/sysimage/rpm, reached through a symlink
    /// that is absolute *inside the root* (it must not be followed on this machine).
    @Test func locatesDatabaseThroughSymlinksInsideTheRoot() throws {
        let tmp = try TemporaryDirectory("rpmdb-locate")
        defer { tmp.remove() }
        let builder = try RPMBuilder(directory: tmp.path("build"))
        let src = try RPMRoot(path: tmp.path("src"))
        try src.rpmInstall(try builder.build(RPMSpec(name: "delta", version: "1", release: "1")))
        let file = try #require(src.databaseFile)
        #expect(file.hasSuffix("/root/.rpmdb/rpmdb.sqlite"))

        let root = tmp.path("suse")
        try tmp.makeDirectory("suse/opt/sysimage-real/rpm")
        try FileSystem.copy(file, to: root + "/opt/sysimage-real/rpm/rpmdb.sqlite")
        try tmp.makeDirectory("suse/usr/lib")
        try FileManager.default.createSymbolicLink(atPath: root + "/usr/lib/sysimage", withDestinationPath: "/opt/sysimage-real")
        try tmp.makeDirectory("suse/var/lib")
        try FileManager.default.createSymbolicLink(atPath: root + "/var/lib/rpm", withDestinationPath: "../../usr/lib/sysimage/rpm")

        let loc = try #require(try RPMDatabase.locate(root: root))
        #expect(loc.dbPath == "/usr/lib/sysimage/rpm")
        #expect(loc.file == root + "/opt/sysimage-real/rpm/rpmdb.sqlite")
        #expect(try RPMDatabase.read(root: root).packages == src.rpmQA())
        // the rpm fallback is given the resolved directory too
        #expect(try RPMDatabase.readUsingRPM(loc).packages == src.rpmQA())

        // var/lib/rpm alone (relative symlink) is found as well
        try FileManager.default.removeItem(atPath: root + "/usr/lib/sysimage")
        try FileManager.default.createSymbolicLink(atPath: root + "/usr/lib/sysimage", withDestinationPath: "sysimage-missing")
        try FileManager.default.removeItem(atPath: root + "/var/lib/rpm")
        try FileManager.default.createSymbolicLink(atPath: root + "/var/lib/rpm", withDestinationPath: "/opt/sysimage-real/rpm")
        let loc2 = try #require(try RPMDatabase.locate(root: root))
        #expect(loc2.dbPath == "/var/lib/rpm")
        #expect(try RPMDatabase.read(root: root).packages.map(\.package.name) == ["delta"])
    }

    @Test func corruptAndMissingDatabasesAreErrorsNamingTheFile() throws {
        let tmp = try TemporaryDirectory("rpmdb-corrupt")
        defer { tmp.remove() }
        let builder = try RPMBuilder(directory: tmp.path("build"))
        let rpms = try builder.buildMany(prefix: "cor", count: 40)
        let root = try RPMRoot(path: tmp.path("root"))
        try root.rpmInstall(rpms)
        let file = try #require(root.databaseFile)
        let original = try FileSystem.read(file)
        let rows = try root.headerBlobs()
        #expect(try RPMDatabase.read(root: root.path).packages.count == 40)

        // 1. the SQLite file header overwritten
        var bytes = original
        for i in 0..<100 { bytes[i] = 0x5a }
        try FileSystem.write(bytes, to: file)
        let e1 = try #require(caughtError { _ = try RPMDatabase.read(root: root.path) })
        #expect(e1.code == .corrupt)
        #expect(e1.message.contains(file))

        // 2. every page after the first overwritten
        bytes = original
        for i in 4096..<bytes.count { bytes[i] = 0xa5 }
        try FileSystem.write(bytes, to: file)
        let e2 = try #require(caughtError { _ = try RPMDatabase.read(root: root.path) })
        #expect(e2.message.contains(file))
        #expect(e2.code == .corrupt)

        // 3. one header blob corrupted inside a valid SQLite file: find the row's bytes in the
        //    file (small blobs sit whole in one page; stale copies may sit in free pages) and
        //    clobber its index count
        bytes = original
        let victim = rows[17].blob
        let hits = (0...(bytes.count - victim.count)).filter { bytes[$0] == victim[0] && bytes[$0..<($0 + victim.count)].elementsEqual(victim) }
        try #require(!hits.isEmpty)
        for pos in hits { bytes[pos] = 0x7f }
        try FileSystem.write(bytes, to: file)
        let e3 = try #require(caughtError { _ = try RPMDatabase.read(root: root.path) })
        #expect(e3.code == .corrupt)
        #expect(e3.message.contains(file))
        #expect(e3.message.contains("hnum \(rows[17].hnum)"))
        #expect(e3.message.contains("index count"))

        // 4. an empty file is not an rpm database
        try FileSystem.write([UInt8](), to: file)
        let e4 = try #require(caughtError { _ = try RPMDatabase.read(root: root.path) })
        #expect(e4.message.contains(file))
        #expect(e4.message.contains("no Packages table"))

        // 5. missing root / no database
        let e5 = try #require(caughtError { _ = try RPMDatabase.read(root: tmp.path("nope")) })
        #expect(e5.code == .notFound)
        #expect(e5.message.contains(tmp.path("nope")))
        try tmp.makeDirectory("empty")
        let e6 = try #require(caughtError { _ = try RPMDatabase.read(root: tmp.path("empty")) })
        #expect(e6.code == .notFound)
        #expect(e6.message.contains("no rpm database"))
        let e7 = try #require(caughtError { _ = try HostCollector.collect(root: tmp.path("empty")) })
        #expect(e7.code == .notFound)
    }

    /// ndb and Berkeley DB databases go through the rpm tool; this Debian rpm has no ndb
    /// backend, and that must be an error, never an empty package list.
    @Test func unreadableBackendsAreErrorsNotEmptyLists() throws {
        let tmp = try TemporaryDirectory("rpmdb-backends")
        defer { tmp.remove() }
        try tmp.makeDirectory("ndb/usr/lib/sysimage/rpm")
        try FileSystem.write(Array(repeating: UInt8(0x42), count: 4096), to: tmp.path("ndb/usr/lib/sysimage/rpm/Packages.db"))
        let loc = try #require(try RPMDatabase.locate(root: tmp.path("ndb")))
        #expect(loc.backend == .ndb)
        #expect(throws: TidemarkError.self) { try RPMDatabase.read(root: tmp.path("ndb")) }
        // rpm must not have created anything next to it
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path("ndb/usr/lib/sysimage/rpm")) == ["Packages.db"])

        try tmp.makeDirectory("bdb/var/lib/rpm")
        try FileSystem.write(Array(repeating: UInt8(0x42), count: 4096), to: tmp.path("bdb/var/lib/rpm/Packages"))
        let bdb = try #require(try RPMDatabase.locate(root: tmp.path("bdb")))
        #expect(bdb.backend == .bdb)
        do {
            _ = try RPMDatabase.read(root: tmp.path("bdb"))
            Issue.record("a garbage Berkeley DB file was accepted")
        } catch {
            #expect(error.message.contains(tmp.path("bdb/var/lib/rpm/Packages")))
        }
    }
}
