import Foundation
import Testing
import TidemarkCore

@Suite struct TransactionPlanTests {
    func rpm(_ name: String, _ v: String, _ r: String = "1", epoch: Int = 0, arch: String = "x86_64", digest: String = "d") -> Package {
        Package(format: .rpm, name: name, evr: EVR(epoch: epoch, version: v, release: r), arch: arch, digest: "\(digest)-\(name)-\(epoch)-\(v)-\(r)-\(arch)")
    }

    func deb(_ name: String, _ evr: String) -> Package {
        Package(format: .deb, name: name, evr: EVR.parse(evr)!, arch: "amd64", status: "install ok installed")
    }

    /// `action name.arch from->to` per step, versions as rpm prints them.
    func lines(_ plan: TransactionPlan) -> [String] {
        plan.steps.map { "\($0.action.rawValue) \($0.name).\($0.arch) \($0.from?.evr.description ?? "-")->\($0.to?.evr.description ?? "-")" }
    }

    @Test func identicalStatesNeedNothing() {
        let state = [rpm("a", "1.0"), rpm("b", "2.0", arch: "noarch"), rpm("kernel", "6.1"), rpm("kernel", "6.2")]
        let plan = TransactionPlan.between(current: state, target: state.reversed())
        #expect(plan.isEmpty)
        #expect(plan.steps.isEmpty)
        #expect(plan.packagesToFetch.isEmpty && plan.packagesToRemove.isEmpty)
        #expect(TransactionPlan.Action.allCases.allSatisfy { plan.count($0) == 0 })
        // duplicates count once
        #expect(TransactionPlan.between(current: state + state, target: state).isEmpty)
        #expect(TransactionPlan.between(current: [], target: []).isEmpty)
    }

    @Test func eachAction() {
        let current = [rpm("up", "1.0"), rpm("down", "2.0"), rpm("gone", "1.0"), rpm("same", "1.0"), rpm("rebuilt", "1.0", digest: "old")]
        let target = [rpm("up", "1.1"), rpm("down", "1.9"), rpm("new", "0.1"), rpm("same", "1.0"), rpm("rebuilt", "1.0", digest: "new")]
        let plan = TransactionPlan.between(current: current, target: target)
        #expect(lines(plan) == [
            "downgrade down.x86_64 2.0-1->1.9-1",
            "remove gone.x86_64 1.0-1->-",
            "install new.x86_64 -->0.1-1",
            "reinstall rebuilt.x86_64 1.0-1->1.0-1",
            "upgrade up.x86_64 1.0-1->1.1-1",
        ])
        // the steps carry the exact binaries
        let reinstall = plan.steps.first { $0.action == .reinstall }!
        #expect(reinstall.from == rpm("rebuilt", "1.0", digest: "old"))
        #expect(reinstall.to == rpm("rebuilt", "1.0", digest: "new"))
        #expect(plan.steps.first { $0.action == .install }!.from == nil)
        #expect(plan.steps.first { $0.action == .remove }!.to == nil)
        for action in TransactionPlan.Action.allCases { #expect(plan.count(action) == 1, "\(action)") }
        #expect(!plan.isEmpty)
        // every target binary that is not installed yet, and only those, comes from the archive
        #expect(Set(plan.packagesToFetch) == Set(target).subtracting(current))
        #expect(plan.packagesToFetch.map(\.name) == ["down", "new", "rebuilt", "up"])
        #expect(plan.packagesToRemove == [rpm("gone", "1.0")])
    }

    @Test func anyOtherBinaryIsReinstalled() {
        // the identity is the whole binary: vendor, build time, a digest unknown on the host all count
        var vendor = rpm("a", "1.0")
        vendor.vendor = "Other"
        var noDigest = rpm("b", "1.0")
        noDigest.digest = nil
        let plan = TransactionPlan.between(current: [rpm("a", "1.0"), noDigest], target: [vendor, rpm("b", "1.0")])
        #expect(lines(plan) == ["reinstall a.x86_64 1.0-1->1.0-1", "reinstall b.x86_64 1.0-1->1.0-1"])
    }

    @Test func aTargetKnownOnlyByItsVersionIsSatisfiedByThatVersion() {
        // states reconstructed from zypp history know name, version and arch, not the binary
        let logged = Package(format: .rpm, name: "b", evr: EVR(epoch: 0, version: "1.0", release: "1"), arch: "x86_64")
        let kernelLogged = Package(format: .rpm, name: "kernel-default", evr: EVR(epoch: 0, version: "6.2", release: "1"), arch: "x86_64")
        let plan = TransactionPlan.between(
            current: [rpm("b", "1.0"), rpm("kernel-default", "6.1"), rpm("kernel-default", "6.2")],
            target: [logged, rpm("kernel-default", "6.1"), kernelLogged])
        #expect(plan.isEmpty)
        let older = TransactionPlan.between(current: [rpm("b", "1.1")], target: [logged])
        #expect(lines(older) == ["downgrade b.x86_64 1.1-1->1.0-1"])
    }

    @Test func releaseAndVersionOrderAreRPMs() {
        let plan = TransactionPlan.between(
            current: [rpm("a", "1.9"), rpm("b", "1.0", "10"), rpm("c", "1.0~rc1"), rpm("d", "1.0"), rpm("e", "1.0.1")],
            target: [rpm("a", "1.10"), rpm("b", "1.0", "9"), rpm("c", "1.0"), rpm("d", "1.0^git1"), rpm("e", "1.0a")])
        #expect(lines(plan) == [
            "upgrade a.x86_64 1.9-1->1.10-1",  // numeric, not lexical
            "downgrade b.x86_64 1.0-10->1.0-9",
            "upgrade c.x86_64 1.0~rc1-1->1.0-1",  // ~ sorts before the release
            "upgrade d.x86_64 1.0-1->1.0^git1-1",
            "downgrade e.x86_64 1.0.1-1->1.0a-1",  // numeric segments beat alphabetic ones
        ])
    }

    @Test func epochOutweighsVersion() {
        // 1:1.0 is newer than 0:2.0 (and than 0:99), as rpm orders them
        let up = TransactionPlan.between(current: [rpm("perl-X", "2.0")], target: [rpm("perl-X", "1.0", epoch: 1)])
        #expect(lines(up) == ["upgrade perl-X.x86_64 2.0-1->1:1.0-1"])
        let down = TransactionPlan.between(current: [rpm("perl-X", "1.0", epoch: 1)], target: [rpm("perl-X", "99")])
        #expect(lines(down) == ["downgrade perl-X.x86_64 1:1.0-1->99-1"])
        // an epoch-only change of the same version-release is a version change, not a reinstall
        let epochOnly = TransactionPlan.between(current: [rpm("e", "1.0", epoch: 2)], target: [rpm("e", "1.0", epoch: 3)])
        #expect(lines(epochOnly) == ["upgrade e.x86_64 2:1.0-1->3:1.0-1"])
    }

    @Test func debVersionsUseDpkgOrder() {
        let plan = TransactionPlan.between(
            current: [deb("a", "1.0~beta1-1"), deb("b", "1:0.9-1"), deb("c", "2.0-1"), deb("d", "1.0-1"), deb("e", "1.0")],
            target: [deb("a", "1.0-1"), deb("b", "2.0-1"), deb("c", "2.0-1+b1"), deb("d", "1.0-1~bpo1"), deb("e", "1.0")])
        #expect(lines(plan) == [
            "upgrade a.amd64 1.0~beta1-1->1.0-1",  // ~ before anything (lexically it would be a downgrade)
            "downgrade b.amd64 1:0.9-1->2.0-1",  // the epoch wins
            "upgrade c.amd64 2.0-1->2.0-1+b1",
            "downgrade d.amd64 1.0-1->1.0-1~bpo1",
        ])
        #expect(plan.steps.allSatisfy { $0.to?.format == .deb && $0.from?.format == .deb })
    }

    @Test func multiversionKernelsInstallAndRemoveVersions() {
        // two kernels installed, the target keeps 6.2 and adds 6.3: 6.1 goes, nothing is "upgraded"
        let plan = TransactionPlan.between(
            current: [rpm("kernel-default", "6.1"), rpm("kernel-default", "6.2")],
            target: [rpm("kernel-default", "6.2"), rpm("kernel-default", "6.3")])
        #expect(lines(plan) == ["remove kernel-default.x86_64 6.1-1->-", "install kernel-default.x86_64 -->6.3-1"])
        #expect(plan.packagesToFetch == [rpm("kernel-default", "6.3")])
        #expect(plan.packagesToRemove == [rpm("kernel-default", "6.1")])

        // one more kernel; and back to one
        #expect(lines(.between(current: [rpm("kernel-default", "6.1")], target: [rpm("kernel-default", "6.1"), rpm("kernel-default", "6.2")]))
            == ["install kernel-default.x86_64 -->6.2-1"])
        #expect(lines(.between(current: [rpm("kernel-default", "6.1"), rpm("kernel-default", "6.2")], target: [rpm("kernel-default", "6.1")]))
            == ["remove kernel-default.x86_64 6.2-1->-"])

        // a rebuilt kernel among several is replaced in place, not installed next to itself
        let rebuilt = TransactionPlan.between(
            current: [rpm("kernel-default", "6.1"), rpm("kernel-default", "6.2", digest: "old")],
            target: [rpm("kernel-default", "6.2", digest: "new"), rpm("kernel-default", "6.3")])
        #expect(lines(rebuilt) == [
            "remove kernel-default.x86_64 6.1-1->-", "reinstall kernel-default.x86_64 6.2-1->6.2-1", "install kernel-default.x86_64 -->6.3-1",
        ])
    }

    @Test func archChangeIsRemoveAndInstall() {
        let plan = TransactionPlan.between(current: [rpm("foo", "1.0", arch: "i586")], target: [rpm("foo", "1.0", arch: "x86_64")])
        #expect(lines(plan) == ["remove foo.i586 1.0-1->-", "install foo.x86_64 -->1.0-1"])
        // multilib: dropping one arch of two leaves the other alone, even when it is upgraded
        let multilib = TransactionPlan.between(
            current: [rpm("libz1", "1.2", arch: "i586"), rpm("libz1", "1.2", arch: "x86_64")],
            target: [rpm("libz1", "1.3", arch: "x86_64")])
        #expect(lines(multilib) == ["remove libz1.i586 1.2-1->-", "upgrade libz1.x86_64 1.2-1->1.3-1"])
    }

    @Test func stepsAreOrderedByNameArchVersion() {
        let current = [
            rpm("zsh", "5.0"), rpm("kernel", "6.1"), rpm("kernel", "6.3"), rpm("a", "1", arch: "x86_64"), rpm("a", "1", arch: "i586"),
            rpm("B", "1.0"),
        ]
        let target = [
            rpm("kernel", "6.10"), rpm("kernel", "6.9"), rpm("a", "2", arch: "x86_64"), rpm("zsh", "5.1"), rpm("b", "1.0"),
            rpm("a", "2", arch: "i586"),
        ]
        let expected = [
            "remove B.x86_64 1.0-1->-",  // byte order: upper case first
            "upgrade a.i586 1-1->2-1",
            "upgrade a.x86_64 1-1->2-1",
            "install b.x86_64 -->1.0-1",
            "remove kernel.x86_64 6.1-1->-",
            "remove kernel.x86_64 6.3-1->-",
            "install kernel.x86_64 -->6.9-1",
            "install kernel.x86_64 -->6.10-1",  // version order, not text order
            "upgrade zsh.x86_64 5.0-1->5.1-1",
        ]
        #expect(lines(.between(current: current, target: target)) == expected)
        // the input order does not matter
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            let plan = TransactionPlan.between(current: current.shuffled(using: &rng), target: target.shuffled(using: &rng))
            #expect(lines(plan) == expected)
        }
        // steps given in any order are sorted too
        let plan = TransactionPlan.between(current: current, target: target)
        #expect(TransactionPlan(steps: plan.steps.reversed()) == plan)
    }

    @Test func codableRoundTripAndRejectsEmptyStep() throws {
        let plan = TransactionPlan.between(
            current: [rpm("a", "1"), rpm("gone", "1")], target: [rpm("a", "2", epoch: 1), rpm("new", "1", arch: "noarch")])
        let data = try JSONEncoder().encode(plan)
        #expect(try JSONDecoder().decode(TransactionPlan.self, from: data) == plan)
        let json = String(decoding: data, as: UTF8.self)
        #expect(json.contains("\"action\":\"upgrade\""))
        let bad = Data(#"{"steps":[{"action":"remove"}]}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(TransactionPlan.self, from: bad) }
    }
}
