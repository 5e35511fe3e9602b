import Foundation
import Testing
import TidemarkCore
import TidemarkHosts
import TidemarkRepo
import TidemarkTestSupport

/// OpenSSL's SHA-256 stands in for the core's wherever bulk bytes are hashed, state ids
/// included: it must give the same digests, as the real `sha256sum` computes them.
@Suite struct DigestTests {
    @Test(arguments: [0, 1, 55, 56, 63, 64, 65, 1000, 100_003])
    func bulkSHA256MatchesSha256sumAndTheCore(length: Int) throws {
        var rng = SplitMix64(seed: UInt64(length))
        let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let tool = try Subprocess.check("/usr/bin/sha256sum", ["-b"], input: Data(bytes))
        let expected = String(tool.stdoutText.prefix(64))
        #expect(bulkSHA256Hex(bytes) == expected)
        #expect(SHA256.hex(bytes) == expected)
        // The core's, fed in uneven pieces (the partial-block path).
        var h = SHA256()
        var i = 0, step = 1
        while i < bytes.count {
            let end = min(bytes.count, i + step)
            h.update(Array(bytes[i..<end]))
            (i, step) = (end, step % 97 + 13)
        }
        #expect(hexString(h.finalize()) == expected)
    }

    @Test func stateIDsAreTheSameWithEitherSHA256() {
        let packages = (0..<500).map { i in
            Package(format: .rpm, name: "pkg-\(i)", evr: EVR(epoch: i % 3, version: "1.\(i)", release: "\(i % 7)"), arch: i % 5 == 0 ? "noarch" : "x86_64",
                    digest: String(repeating: "ab", count: 16), vendor: i % 2 == 0 ? "openSUSE" : nil, source: "pkg-\(i)-1.src.rpm")
        }.shuffled()
        let portable = PackageState(packages), accelerated = PackageState(packages, sha256: bulkSHA256)
        #expect(portable.id == accelerated.id)
        #expect(portable.packages == accelerated.packages)
        #expect(PackageState.contentAddress(identityKeys: portable.packages.map(\.identityKey), sha256: bulkSHA256) == portable.id)
        #expect(PackageState([], sha256: bulkSHA256).id == PackageState.empty.id)
    }
}
