import Synchronization

/// Packages a server has decoded before, by the exact bytes of their JSON objects.
///
/// A changed snapshot differs from the host's previous one in a package or two, and most of a
/// fleet's packages are the same binaries: nearly every package object a server receives is
/// byte for byte one it has decoded already. Recognizing those bytes (a guess at the object's end,
/// one hash, one lookup) skips building their strings and identity lines again, which was most of
/// the cost of taking a full snapshot. Exact bytes only, and a complete JSON value is never a
/// prefix of another: a hit is what decoding would return, so results and errors are the same
/// with or without a cache.
///
/// A host's own install time ends each object our agents write (`,"installTime":N}`); it is
/// taken off the key and put back on a hit, so one entry serves every host with that binary.
public final class WirePackageCache: Sendable {
    private let entries = Mutex([Key: ObservationPayload.WirePackage]())
    /// Entries kept at most; when full the cache starts over (a fleet's working set is its
    /// distinct binaries, far fewer).
    public let capacity: Int
    /// Per process, so that nobody can choose objects whose hashes collide.
    private let seed = UInt64(truncatingIfNeeded: Int.random(in: .min ... .max)) | 1

    public init(capacity: Int = 50_000) { self.capacity = capacity }

    public var count: Int { entries.withLock { $0.count } }

    /// The package the object `bytes` decodes to, if it was decoded before.
    func lookup(_ bytes: ArraySlice<UInt8>) -> ObservationPayload.WirePackage? {
        guard let (key, installTime) = split(bytes), var hit = entries.withLock({ $0[key] }) else { return nil }
        hit.installTime = installTime
        return hit
    }

    /// Remembers what the object `bytes` decoded to.
    func insert(_ bytes: ArraySlice<UInt8>, _ package: ObservationPayload.WirePackage) {
        guard let (key, installTime) = split(bytes), installTime == package.installTime, Self.storable(key) else { return }
        var value = package
        value.installTime = nil
        let owned = key.owned
        entries.withLock { e in
            if e.count >= capacity { e.removeAll(keepingCapacity: true) }
            e[owned] = value
        }
    }

    /// A lookup key is a slice of the request body (no copy); a stored one owns its bytes, so the
    /// cache never keeps a whole body alive. The hash is computed once, outside the lock.
    struct Key: Hashable, Sendable {
        let bytes: ArraySlice<UInt8>
        let hash: UInt64
        var owned: Key { Key(bytes: ArraySlice(Array(bytes)), hash: hash) }
        func hash(into hasher: inout Hasher) { hasher.combine(hash) }
        static func == (a: Key, b: Key) -> Bool {
            guard a.hash == b.hash, a.bytes.count == b.bytes.count else { return false }
            return a.bytes.withUnsafeBytes { x in b.bytes.withUnsafeBytes { y in Self.equal(x, y) } }
        }
        private static func equal(_ x: UnsafeRawBufferPointer, _ y: UnsafeRawBufferPointer) -> Bool {
            var i = 0
            while i + 8 <= x.count {
                if x.loadUnaligned(fromByteOffset: i, as: UInt64.self) != y.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
                i += 8
            }
            while i < x.count {
                if x[i] != y[i] { return false }
                i += 1
            }
            return true
        }
    }

    /// Eight bytes a step, multiply and fold (Swift's SipHash, byte-exact but several times
    /// slower, was a tenth of a snapshot's cost); seeded per process.
    private func key(_ bytes: ArraySlice<UInt8>) -> Key {
        var h = seed ^ (UInt64(bytes.count) &* 0x9E37_79B9_7F4A_7C15)
        bytes.withUnsafeBytes { b in
            var i = 0
            func mix(_ w: UInt64) {
                let m = (h ^ w).multipliedFullWidth(by: 0x9E37_79B9_7F4A_7C15)
                h = m.high ^ m.low
            }
            while i + 8 <= b.count {
                mix(b.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                i += 8
            }
            var tail: UInt64 = 0
            while i < b.count {
                tail = tail << 8 | UInt64(b[i])
                i += 1
            }
            mix(tail)
        }
        return Key(bytes: bytes, hash: h)
    }

    private static let installTimeMember = Array(#","installTime":"#.utf8)
    private static let installTimeName = Array(#""installTime""#.utf8)

    /// The key of an object's bytes: all but its closing brace, and without its last member when
    /// that is an install time, returned apart. Only a JSON integer exactly as the decoder reads
    /// it (no leading zeros, within Int64) is taken off.
    func split(_ object: ArraySlice<UInt8>) -> (key: Key, installTime: Int64?)? {
        let suffix = Self.installTimeMember
        let start = object.startIndex, close = object.endIndex - 1
        guard close > start, object[close] == UInt8(ascii: "}") else { return nil }
        var i = close
        while i > start, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(object[i - 1]) { i -= 1 }
        let digits = i..<close
        if i > start, object[i - 1] == UInt8(ascii: "-") { i -= 1 }
        guard !digits.isEmpty, digits.count == 1 || object[digits.lowerBound] != UInt8(ascii: "0"),
              i - suffix.count > start, object[(i - suffix.count)..<i].elementsEqual(suffix),
              let time = Int64(String(decoding: object[i..<close], as: UTF8.self)) else { return (key(object[start..<close]), nil) }
        return (key(object[start..<(i - suffix.count)]), time)
    }

    /// Whether a key may be stored: one whose bytes name an install time elsewhere (a repeated
    /// member) would decode differently with and without its last one.
    static func storable(_ key: Key) -> Bool {
        let name = installTimeName
        guard key.bytes.count >= name.count else { return true }
        var i = key.bytes.startIndex
        while i + name.count <= key.bytes.endIndex {
            if key.bytes[i] == name[0], key.bytes[i..<(i + name.count)].elementsEqual(name) { return false }
            i += 1
        }
        return true
    }
}
