import Foundation
import Testing
import TidemarkCore
import TidemarkTestSupport
@testable import TidemarkStore

/// The archive's records, pins and the agents' jobs, on both backends.
@Suite struct ArchiveAndJobStoreTests {
    func file(_ name: String, _ version: String, sha: Character, at: Int64 = 100) -> ArchivedFile {
        let p = HistoryStoreTests.pkg(name, version)
        return ArchivedFile(sha256: String(repeating: sha, count: 64), package: p, fileName: "\(name)-\(version)-1.x86_64.rpm", size: 1000, origin: "test", addedAt: Timestamp(seconds: at))
    }

    func entry(_ f: ArchivedFile) -> ArchiveEntry {
        ArchiveEntry(file: f, primary: Array("<package>\(f.fileName)</package>\n".utf8), filelists: [1, 2], other: [3])
    }

    @Test(arguments: Backend.allCases) func archiveRecordsOncePerFileAndFindsThemByIdentity(backend: Backend) async throws {
        try await HistoryStoreTests.withStore(backend) { store, _ in
            let a = SQLArchiveStore(backend: store.backend)
            let foo = file("foo", "1.0", sha: "a"), bar = file("bar", "2.0", sha: "b")
            #expect(try await a.addArchived(entry(foo)))
            #expect(try await !a.addArchived(entry(foo)), "the same bytes are recorded once")
            #expect(try await a.addArchived(entry(bar)))
            #expect(try await a.archivedFile(sha256: foo.sha256) == foo)
            #expect(try await a.archivedFiles() == [foo, bar])
            #expect(try await a.archivedSHA256s(among: [foo.sha256, String(repeating: "c", count: 64)]) == [foo.sha256])
            #expect(try await a.archivedFiles(packageKeys: [bar.package.identityKey]) == [bar.package.identityKey: bar])
            let entries = try await a.archiveEntries(sha256s: [bar.sha256, foo.sha256])
            #expect(entries.map(\.file) == [bar, foo] && entries[1].primary == entry(foo).primary && entries[1].filelists == [1, 2])
            let (count, last) = try await a.archiveSequence()
            #expect(count == 2)
            let after = try await a.archiveEntries(after: last - 1)
            #expect(after.map(\.entry.file) == [bar])
            try await a.deleteArchived(sha256s: [foo.sha256])
            #expect(try await a.archivedFiles() == [bar])
        }
    }

    @Test(arguments: Backend.allCases) func pinsNeedARecordedState(backend: Backend) async throws {
        try await HistoryStoreTests.withStore(backend) { store, _ in
            let a = SQLArchiveStore(backend: store.backend)
            let o = HistoryStoreTests.obs("h", 1_000, [HistoryStoreTests.pkg("foo", "1.0")])
            _ = try await store.record([o])
            let pin = ArchivePin(state: o.state.id, ref: "h@1970-01-01T00:16:40Z", note: "good", pinnedAt: Timestamp(seconds: 2_000))
            try await a.pin(pin)
            #expect(try await a.pins() == [pin])
            await #expect(throws: TidemarkError.self) {
                try await a.pin(ArchivePin(state: StateID(hex: String(repeating: "0", count: 64)), ref: "x", note: nil, pinnedAt: Timestamp(seconds: 1)))
            }
            #expect(try await a.unpin(o.state.id))
            #expect(try await !a.unpin(o.state.id))
            #expect(try await a.pins().isEmpty)
        }
    }

    @Test(arguments: Backend.allCases) func jobsGoPendingRunningFinishedOneAtATimePerHost(backend: Backend) async throws {
        try await HistoryStoreTests.withStore(backend) { store, _ in
            let j = SQLJobStore(backend: store.backend)
            let target = StateID(hex: String(repeating: "ab", count: 32))
            let job = try await j.createJob(host: "worker1", kind: .rollback, target: target, dryRun: false, now: Timestamp(seconds: 10))
            #expect(job.status == .pending && job.host == "worker1" && job.target == target)
            await #expect(throws: TidemarkError.self, "one job at a time per host") {
                _ = try await j.createJob(host: "worker1", kind: .rollback, target: target, dryRun: true, now: Timestamp(seconds: 11))
            }
            let other = try await j.createJob(host: "worker2", kind: .rollback, target: target, dryRun: true, now: Timestamp(seconds: 11))
            #expect(try await j.jobs(host: "worker1", statuses: [.pending]).map(\.id) == [job.id])
            let running = try await j.claimJob(id: job.id, now: Timestamp(seconds: 12))
            #expect(running.status == .running && running.startedAt == Timestamp(seconds: 12))
            do {
                _ = try await j.claimJob(id: job.id, now: Timestamp(seconds: 13))
                Issue.record("a running job cannot be claimed again")
            } catch let e as TidemarkError {
                #expect(e.code == .conflict && e.message.contains("running"))
            }
            let done = try await j.finishJob(id: job.id, succeeded: true, resultState: target, message: "ok", output: "zypper said", now: Timestamp(seconds: 14))
            #expect(done.status == .succeeded && done.resultState == target && done.output == "zypper said")
            await #expect(throws: TidemarkError.self) {
                _ = try await j.finishJob(id: job.id, succeeded: false, resultState: nil, message: nil, output: nil, now: Timestamp(seconds: 15))
            }
            #expect(try await j.job(id: other.id)?.dryRun == true)
            // finished: the host may get its next job
            _ = try await j.createJob(host: "worker1", kind: .rollback, target: target, dryRun: false, now: Timestamp(seconds: 16))
            #expect(try await j.jobs(host: "worker1", statuses: nil).map(\.status) == [.succeeded, .pending])
        }
    }
}
