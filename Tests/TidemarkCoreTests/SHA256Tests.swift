import Foundation
import Testing
import TidemarkCore
import TidemarkHosts
import TidemarkTestSupport

/// State ids are SHA-256 content addresses: the native implementation must agree with coreutils.
@Suite struct SHA256Tests {
    @Test func matchesSha256sumOnEveryLengthAroundBlockBoundaries() throws {
        var rng = SplitMix64(seed: 7)
        let lengths = Array(0...130) + [1000, 4095, 4096, 65_537]
        for n in lengths {
            let bytes = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let expected = try Subprocess.check("sha256sum", ["-"], input: Data(bytes)).stdoutText.prefix(64)
            #expect(SHA256.hex(bytes) == String(expected), "length \(n)")
            // streaming in uneven pieces gives the same digest
            var h = SHA256()
            var i = 0
            while i < n {
                let k = min(n - i, 1 + rng.below(70))
                h.update(Array(bytes[i..<i + k]))
                i += k
            }
            #expect(hexString(h.finalize()) == String(expected), "streamed length \(n)")
        }
    }
}
