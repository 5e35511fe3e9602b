import Foundation
import Testing
import TidemarkCore
import TidemarkHosts
import TidemarkTestSupport

/// rpm stores MD5 and SHA-1 digests in every `.rpm` file: the native implementations must agree
/// with the published test vectors and with coreutils.
@Suite struct MD5SHA1Tests {
    @Test func publishedVectors() {
        let md5: [(String, String)] = [  // RFC 1321, appendix A.5
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
            ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"),
            (String(repeating: "1234567890", count: 8), "57edf4a22be3c955ac49da2e2107b67a"),
        ]
        for (input, want) in md5 { #expect(MD5.hex(Array(input.utf8)) == want, "MD5(\(input))") }
        let sha1: [(String, String)] = [  // FIPS 180 examples
            ("", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
            ("abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
            ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
        ]
        for (input, want) in sha1 { #expect(SHA1.hex(Array(input.utf8)) == want, "SHA1(\(input))") }
        #expect(SHA1.hex([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }

    @Test func matchMd5sumAndSha1sumOnEveryLengthAroundBlockBoundaries() throws {
        var rng = SplitMix64(seed: 0x5ad1)
        let lengths = Array(0...130) + [1000, 4095, 4096, 65_537]
        for n in lengths {
            let bytes = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let md5 = try Subprocess.check("md5sum", ["-"], input: Data(bytes)).stdoutText.prefix(32)
            let sha1 = try Subprocess.check("sha1sum", ["-"], input: Data(bytes)).stdoutText.prefix(40)
            #expect(MD5.hex(bytes) == String(md5), "MD5 length \(n)")
            #expect(SHA1.hex(bytes) == String(sha1), "SHA-1 length \(n)")
            // streaming in uneven pieces gives the same digests
            var m = MD5(), s = SHA1()
            var i = 0
            while i < n {
                let k = min(n - i, 1 + rng.below(70))
                m.update(Array(bytes[i..<i + k]))
                s.update(Array(bytes[i..<i + k]))
                i += k
            }
            #expect(hexString(m.finalize()) == String(md5), "streamed MD5 length \(n)")
            #expect(hexString(s.finalize()) == String(sha1), "streamed SHA-1 length \(n)")
        }
    }
}
