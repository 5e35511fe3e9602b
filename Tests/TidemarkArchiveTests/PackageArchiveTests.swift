import Foundation
import Testing
import TidemarkArchive
import TidemarkCore
import TidemarkHosts
import TidemarkRepo
import TidemarkStore
import TidemarkTestSupport

/// The archive with real RPMs (rpmbuild), real repositories (createrepo_c) and real zypper.
@Suite struct PackageArchiveTests {
    struct Fixture {
        let dir: TemporaryDirectory
        let store: SQLHistoryStore
        let archive: PackageArchive
        let builder: RPMBuilder
    }

    func fixture(_ label: String) async throws -> Fixture {
        let dir = try TemporaryDirectory(label)
        let store = try await SQLHistoryStore.openSQLite(path: dir.path("tidemark.sqlite"))
        return Fixture(
            dir: dir, store: store, archive: PackageArchive(directory: dir.path("archive"), store: SQLArchiveStore(backend: store.backend)),
            builder: try RPMBuilder(directory: try dir.makeDirectory("build")))
    }

    let now = Timestamp(seconds: 1_790_000_000)

    @Test func addVerifiesStoresOnceAndRefusesDamagedFiles() async throws {
        let f = try await fixture("archive-add")
        let rpm = try f.builder.build(RPMSpec(name: "foo", version: "1.0", release: "1"))[0]
        let first = try await f.archive.add(path: rpm, origin: "test", now: now)
        #expect(first.isNew)
        let sha = first.file.sha256
        #expect(sha == SHA256.hex(try FileSystem.read(rpm)))
        #expect(try FileSystem.read(f.archive.path(of: sha)) == (try FileSystem.read(rpm)), "the file is kept byte for byte under its SHA-256")
        #expect(first.file.package == (try RPMRoot.packages(inFiles: [rpm]))[0], "identity as rpm -qp reports it, SIGMD5 included")
        let again = try await f.archive.add(path: rpm, origin: "test", now: now)
        #expect(!again.isNew && again.file == first.file)

        let other = try f.builder.build(RPMSpec(name: "bar", version: "2.0", release: "1"))[0]
        let good = try FileSystem.read(other)
        var flipped = good
        flipped[good.count - 20] ^= 0x01
        for (name, bytes) in [("flipped.rpm", flipped), ("truncated.rpm", Array(good.prefix(good.count - 100))), ("empty.rpm", []), ("text.rpm", Array("not an rpm".utf8))] {
            await #expect(throws: TidemarkError.self, "\(name) is refused") {
                _ = try await f.archive.add(bytes: bytes, name: name, origin: "test", now: now)
            }
        }
        #expect(try await f.archive.store.archivedFiles().map(\.sha256) == [sha], "nothing of the refused files was recorded")
        let onDisk = (FileManager.default.enumerator(atPath: f.archive.directory + "/packages")?.allObjects as? [String] ?? []).filter { $0.hasSuffix(".rpm") }
        #expect(onDisk.count == 1, "nor written: \(onDisk)")
        try await f.store.close()
    }

    /// The repository of one state, generated from the archive, installs exactly that state into
    /// an empty root; a package missing from the archive is named before anything happens.
    @Test func stateRepositoryInstallsExactlyTheStateWithZypper() async throws {
        let f = try await fixture("archive-state-repo")
        let lib = try f.builder.build(RPMSpec(name: "libthing", epoch: 2, version: "1.0", release: "3"))[0]
        let app = try f.builder.build(RPMSpec(name: "app", version: "4.1", release: "1", requires: ["libthing >= 2:1.0"]))[0]
        let newer = try f.builder.build(RPMSpec(name: "app", version: "4.2", release: "1", requires: ["libthing"]))[0]
        for r in [lib, app, newer] { _ = try await f.archive.add(path: r, origin: "test", now: now) }
        let state = try RPMRoot.packages(inFiles: [lib, app])

        let repoDir = f.dir.path("state-repo")
        let files = try await f.archive.writeRepository(for: state, to: repoDir)
        #expect(files.count == 2)
        // the generated metadata says what createrepo_c's would: the same packages
        let listed = try RepoMDReader.packages(directory: repoDir)
        #expect(Set(listed.map(\.nevra)) == ["libthing-2:1.0-3.noarch", "app-4.1-1.noarch"])

        let root = try RPMRoot(path: f.dir.path("empty-root"))
        try root.addRepo(alias: "state", url: "dir://" + repoDir)
        try root.refresh()
        try root.install(["app", "libthing"])
        #expect(Set(try root.rpmQA().map(\.package)) == Set(state), "exactly the state's binaries (app 4.1, not the archived 4.2)")

        let unknown = Package(format: .rpm, name: "ghost", evr: EVR(epoch: 0, version: "1", release: "1"), arch: "noarch", digest: "00ff")
        do {
            _ = try await f.archive.repository(for: state + [unknown])
            Issue.record("a state with an unarchived package must be refused")
        } catch let e as TidemarkError {
            #expect(e.code == .notFound && e.message.contains("ghost-1-1.noarch") && e.message.contains("not in the archive"), "\(e.message)")
        }
        try await f.store.close()
    }

    /// Mirroring archives every package of a repository once, before any host installs it; a
    /// damaged file in the repository is reported and not archived, the rest go in.
    @Test func mirrorArchivesARepositoryOnceAndReportsDamagedFiles() async throws {
        let f = try await fixture("archive-mirror")
        let rpms = try (1...3).map { try f.builder.build(RPMSpec(name: "pkg\($0)", version: "1", release: "1"))[0] }
        let repo = try RPMRepository(path: try f.dir.makeDirectory("repo"), rpms: rpms)
        let first = try await f.archive.mirror(repository: repo.url, now: now)
        #expect(first.offered == 3 && first.added.count == 3 && first.failed.isEmpty)
        let second = try await f.archive.mirror(repository: repo.url, now: now)
        #expect(second.added.isEmpty && second.alreadyArchived == 3)

        // a new build whose file is damaged after createrepo_c indexed it
        let extra = try f.builder.build(RPMSpec(name: "pkg4", version: "1", release: "1"))[0]
        try repo.add([extra])
        let path = repo.path + "/" + (extra as NSString).lastPathComponent
        var bytes = try FileSystem.read(path)
        bytes[bytes.count - 5] ^= 0x10
        try FileSystem.write(bytes, to: path)
        let third = try await f.archive.mirror(repository: repo.url, now: now)
        #expect(third.added.isEmpty && third.failed.count == 1 && third.failed[0].href.contains("pkg4"), "\(third.failed)")
        #expect(try await f.archive.store.archivedFiles().count == 3)

        // the repository of everything lists all archived files
        let all = try await f.archive.repositoryOfEverything()
        let primary = try #require(all.records.first { $0.type == "primary" })
        let parsed = try RepoMDReader.parsePrimary(try RepoMDReader.decompress(try #require(all.files[primary.href]), name: primary.href))
        #expect(Set(parsed.map(\.name)) == ["pkg1", "pkg2", "pkg3"])
        try await f.store.close()
    }
}
