import Foundation

/// Compact encoding of a sorted list of row ids: LEB128 varints of the gaps. A state of 3,000
/// packages takes a few kilobytes; a day's delta of 30 packages, a few dozen bytes.
enum IDListCoding {
    static func encode(_ sortedIDs: [Int64]) -> Data {
        var out = Data()
        out.reserveCapacity(sortedIDs.count * 2)
        var previous: Int64 = 0
        for id in sortedIDs {
            var gap = UInt64(id - previous)
            previous = id
            while gap >= 0x80 {
                out.append(UInt8(gap & 0x7f) | 0x80)
                gap >>= 7
            }
            out.append(UInt8(gap))
        }
        return out
    }

    static func decode(_ data: Data) throws -> [Int64] {
        var out: [Int64] = []
        out.reserveCapacity(data.count)
        var previous: Int64 = 0, value: UInt64 = 0, shift: UInt64 = 0
        for byte in data {
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 != 0 {
                shift += 7
                guard shift < 64 else { throw StoreCorruption("id list varint too long") }
            } else {
                previous += Int64(value)
                out.append(previous)
                value = 0
                shift = 0
            }
        }
        guard shift == 0 else { throw StoreCorruption("id list ends inside a varint") }
        return out
    }
}

struct StoreCorruption: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = "the store is corrupt: \(d)" }
}

/// Set operations on sorted id arrays (the hot path of recording and diffing states).
enum SortedIDs {
    static func subtract(_ a: [Int64], _ b: [Int64]) -> [Int64] {
        var out: [Int64] = []
        var j = 0
        for x in a {
            while j < b.count && b[j] < x { j += 1 }
            if j < b.count && b[j] == x { continue }
            out.append(x)
        }
        return out
    }

    static func union(_ a: [Int64], _ b: [Int64]) -> [Int64] {
        var out: [Int64] = []
        out.reserveCapacity(a.count + b.count)
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if j == b.count || (i < a.count && a[i] < b[j]) { out.append(a[i]); i += 1 }
            else if i == a.count || b[j] < a[i] { out.append(b[j]); j += 1 }
            else { out.append(a[i]); i += 1; j += 1 }
        }
        return out
    }

    static func contains(_ a: [Int64], _ x: Int64) -> Bool {
        var lo = 0, hi = a.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if a[mid] < x { lo = mid + 1 } else { hi = mid }
        }
        return lo < a.count && a[lo] == x
    }
}
