/// A hash the core computes itself (content addresses, rpm's digests): so that callers hash bytes,
/// arrays and hex the same way whichever function it is.
public protocol HashFunction: Sendable {
    init()
    /// Feeds more bytes; call `finalize()` once at the end.
    mutating func update(_ bytes: UnsafeBufferPointer<UInt8>)
    mutating func finalize() -> [UInt8]
}

extension HashFunction {
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { update($0) }
    }

    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        var h = Self()
        h.update(bytes)
        return h.finalize()
    }

    public static func hex(_ bytes: [UInt8]) -> String { hexString(hash(bytes)) }
}

/// What MD5, SHA-1 and SHA-256 share (the Merkle–Damgård frame): the input cut into 64-byte
/// blocks for a compression function, then 0x80, zeros and the message's bit length filling the
/// last block. Each hash supplies only its compression function and word order.
protocol BlockCompression: Sendable {
    /// SHA: big-endian length and digest words; MD5: little-endian.
    static var bigEndian: Bool { get }
    /// The chaining state, which after the last block is the digest.
    var words: [UInt32] { get }
    mutating func compress(_ block: UnsafeBufferPointer<UInt8>)
}

struct BlockHasher<C: BlockCompression>: Sendable {
    private var compression: C
    /// The partial block: `buffer[0..<filled]` (64 bytes, allocated once).
    private var buffer = [UInt8](repeating: 0, count: 64)
    private var filled = 0
    private var length: UInt64 = 0

    init(_ compression: C) {
        self.compression = compression
    }

    /// Copies into the partial block with memcpy, not byte by byte: states hash thousands of
    /// short lines, so most input passes through here.
    mutating func update(_ bytes: UnsafeBufferPointer<UInt8>) {
        let n = bytes.count
        guard n > 0, let base = bytes.baseAddress else { return }
        var i = 0
        if filled > 0 {
            let take = min(64 - filled, n)
            let at = filled
            buffer.withUnsafeMutableBytes { b in b.baseAddress!.advanced(by: at).copyMemory(from: base, byteCount: take) }
            filled += take
            i = take
            if filled == 64 {
                buffer.withUnsafeBufferPointer { compression.compress($0) }
                filled = 0
            }
        }
        while i + 64 <= n {
            compression.compress(UnsafeBufferPointer(rebasing: bytes[i..<i + 64]))
            i += 64
        }
        if i < n {
            let rest = n - i, from = base.advanced(by: i)
            buffer.withUnsafeMutableBytes { b in b.baseAddress!.copyMemory(from: from, byteCount: rest) }
            filled = rest
        }
        length &+= UInt64(n)
    }

    mutating func finalize() -> [UInt8] {
        let bitLength = length &* 8
        var pad: [UInt8] = [0x80]
        let rem = (filled + 1) % 64
        pad += [UInt8](repeating: 0, count: rem <= 56 ? 56 - rem : 120 - rem)
        let shifts: [UInt64] = C.bigEndian ? [56, 48, 40, 32, 24, 16, 8, 0] : [0, 8, 16, 24, 32, 40, 48, 56]
        for s in shifts { pad.append(UInt8(truncatingIfNeeded: bitLength >> s)) }
        pad.withUnsafeBufferPointer { update($0) }
        let order: [UInt32] = C.bigEndian ? [24, 16, 8, 0] : [0, 8, 16, 24]
        var out: [UInt8] = []
        out.reserveCapacity(compression.words.count * 4)
        for word in compression.words { for s in order { out.append(UInt8(truncatingIfNeeded: word >> s)) } }
        return out
    }
}
