/// MD5 (RFC 1321). Broken as a cryptographic hash, but rpm still stores it: the signature
/// header's MD5 over header and payload is the package's SIGMD5 (PKGID), the identity an
/// installed package carries, so checking an `.rpm` file needs it. Pure Swift, like `SHA256`,
/// so the core needs no crypto dependency. Same API as `SHA256`.
public struct MD5: HashFunction {
    private var hasher = BlockHasher(Compression())

    public init() {}

    /// Without copying into an array first (the hot path when hashing states).
    public mutating func update(_ bytes: UnsafeBufferPointer<UInt8>) { hasher.update(bytes) }

    /// The 16-byte digest.
    public mutating func finalize() -> [UInt8] { hasher.finalize() }

    struct Compression: BlockCompression {
        static let bigEndian = false
        var words: [UInt32] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476]

        private static let s: [UInt32] = [
            7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
            5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
            4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
            6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
        ]

        /// floor(abs(sin(i + 1)) * 2^32), as RFC 1321 tabulates it.
        private static let k: [UInt32] = [
            0xd76a_a478, 0xe8c7_b756, 0x2420_70db, 0xc1bd_ceee, 0xf57c_0faf, 0x4787_c62a, 0xa830_4613, 0xfd46_9501,
            0x6980_98d8, 0x8b44_f7af, 0xffff_5bb1, 0x895c_d7be, 0x6b90_1122, 0xfd98_7193, 0xa679_438e, 0x49b4_0821,
            0xf61e_2562, 0xc040_b340, 0x265e_5a51, 0xe9b6_c7aa, 0xd62f_105d, 0x0244_1453, 0xd8a1_e681, 0xe7d3_fbc8,
            0x21e1_cde6, 0xc337_07d6, 0xf4d5_0d87, 0x455a_14ed, 0xa9e3_e905, 0xfcef_a3f8, 0x676f_02d9, 0x8d2a_4c8a,
            0xfffa_3942, 0x8771_f681, 0x6d9d_6122, 0xfde5_380c, 0xa4be_ea44, 0x4bde_cfa9, 0xf6bb_4b60, 0xbebf_bc70,
            0x289b_7ec6, 0xeaa1_27fa, 0xd4ef_3085, 0x0488_1d05, 0xd9d4_d039, 0xe6db_99e5, 0x1fa2_7cf8, 0xc4ac_5665,
            0xf429_2244, 0x432a_ff97, 0xab94_23a7, 0xfc93_a039, 0x655b_59c3, 0x8f0c_cc92, 0xffef_f47d, 0x8584_5dd1,
            0x6fa8_7e4f, 0xfe2c_e6e0, 0xa301_4314, 0x4e08_11a1, 0xf753_7e82, 0xbd3a_f235, 0x2ad7_d2bb, 0xeb86_d391,
        ]

        mutating func compress(_ block: UnsafeBufferPointer<UInt8>) {
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 16) { w in
                for t in 0..<16 {
                    let o = t * 4
                    w[t] = UInt32(block[o]) | UInt32(block[o + 1]) << 8 | UInt32(block[o + 2]) << 16 | UInt32(block[o + 3]) << 24
                }
                var a = words[0], b = words[1], c = words[2], d = words[3]
                for i in 0..<64 {
                    var f: UInt32
                    let g: Int
                    switch i {
                    case 0..<16: f = (b & c) | (~b & d); g = i
                    case 16..<32: f = (d & b) | (~d & c); g = (5 &* i &+ 1) & 15
                    case 32..<48: f = b ^ c ^ d; g = (3 &* i &+ 5) & 15
                    default: f = c ^ (b | ~d); g = (7 &* i) & 15
                    }
                    f = f &+ a &+ Compression.k[i] &+ w[g]
                    a = d; d = c; c = b
                    let r = Compression.s[i]
                    b = b &+ ((f << r) | (f >> (32 - r)))
                }
                words[0] &+= a; words[1] &+= b; words[2] &+= c; words[3] &+= d
            }
        }
    }
}
