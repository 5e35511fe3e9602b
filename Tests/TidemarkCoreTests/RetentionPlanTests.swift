import Testing
import TidemarkCore

@Suite struct RetentionPlanTests {
    func file(_ name: String, _ version: String, added: Int64, sha: Character) -> ArchivedFile {
        let p = Package(format: .rpm, name: name, evr: EVR(epoch: 0, version: version, release: "1"), arch: "noarch", digest: String(repeating: sha, count: 32))
        return ArchivedFile(sha256: String(repeating: sha, count: 64), package: p, fileName: "\(name)-\(version)-1.noarch.rpm", size: 100, origin: "t", addedAt: Timestamp(seconds: added))
    }

    @Test func keepsWhatIsNeededOrRecentAndGivesTheFirstReason() {
        let a = file("a", "1", added: 10, sha: "a"), b = file("b", "1", added: 10, sha: "b"), c = file("c", "1", added: 500, sha: "c")
        let d = file("d", "1", added: 10, sha: "d")
        let plan = RetentionPlan.plan(
            files: [d, c, b, a],
            needs: [.init(packageKey: a.package.identityKey, reason: "pinned"), .init(packageKey: a.package.identityKey, reason: "state"),
                    .init(packageKey: b.package.identityKey, reason: "state")],
            addedSince: Timestamp(seconds: 100))
        #expect(plan.delete == [d])
        #expect(plan.keep.map(\.file) == [a, b, c])
        #expect(plan.keep.map(\.reason)[0] == "pinned")
        #expect(plan.keep[2].reason.contains("within the window"))
        #expect(plan.bytesDeleted == 100)
    }

    @Test func withoutAWindowOnlyNeedsKeep() {
        let a = file("a", "1", added: 10, sha: "a"), b = file("b", "2", added: 1_000, sha: "b")
        let plan = RetentionPlan.plan(files: [a, b], needs: [], addedSince: nil)
        #expect(plan.keep.isEmpty && plan.delete == [a, b])
    }

    @Test func sha256Check() {
        #expect(ArchivedFile.isSHA256(String(repeating: "0a", count: 32)))
        #expect(!ArchivedFile.isSHA256(String(repeating: "0A", count: 32)))
        #expect(!ArchivedFile.isSHA256("../../etc/passwd"))
        #expect(!ArchivedFile.isSHA256(String(repeating: "a", count: 63)))
    }
}
