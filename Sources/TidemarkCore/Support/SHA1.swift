/// SHA-1 (FIPS 180-4). rpm's signature header carries a SHA-1 of the main header (SHA1HEADER,
/// the HDRID); packages built before rpm 4.14 have no SHA-256 one, so checking them needs this.
/// Pure Swift, like `SHA256`, with the same API.
public struct SHA1: HashFunction {
    private var hasher = BlockHasher(Compression())

    public init() {}

    /// Without copying into an array first (the hot path when hashing states).
    public mutating func update(_ bytes: UnsafeBufferPointer<UInt8>) { hasher.update(bytes) }

    /// The 20-byte digest.
    public mutating func finalize() -> [UInt8] { hasher.finalize() }

    struct Compression: BlockCompression {
        static let bigEndian = true
        var words: [UInt32] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476, 0xc3d2_e1f0]

        mutating func compress(_ block: UnsafeBufferPointer<UInt8>) {
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 80) { w in
                for t in 0..<16 {
                    let o = t * 4
                    w[t] = UInt32(block[o]) << 24 | UInt32(block[o + 1]) << 16 | UInt32(block[o + 2]) << 8 | UInt32(block[o + 3])
                }
                for t in 16..<80 {
                    let x = w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16]
                    w[t] = (x << 1) | (x >> 31)
                }
                var a = words[0], b = words[1], c = words[2], d = words[3], e = words[4]
                for t in 0..<80 {
                    let f: UInt32, k: UInt32
                    switch t {
                    case 0..<20: f = (b & c) | (~b & d); k = 0x5a82_7999
                    case 20..<40: f = b ^ c ^ d; k = 0x6ed9_eba1
                    case 40..<60: f = (b & c) | (b & d) | (c & d); k = 0x8f1b_bcdc
                    default: f = b ^ c ^ d; k = 0xca62_c1d6
                    }
                    let temp = ((a << 5) | (a >> 27)) &+ f &+ e &+ k &+ w[t]
                    e = d; d = c; c = (b << 30) | (b >> 2); b = a; a = temp
                }
                words[0] &+= a; words[1] &+= b; words[2] &+= c; words[3] &+= d; words[4] &+= e
            }
        }
    }
}
