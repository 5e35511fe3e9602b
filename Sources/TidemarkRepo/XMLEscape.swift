/// Appends XML text the way createrepo_c's libxml2 serializer (`xmlNodeDump`, no document, no
/// encoding) writes it, so that generated fragments equal createrepo_c's byte for byte.
enum XMLEscape {
    /// Element content (`xmlEscapeContent`): `<`, `>`, `&` and carriage return are escaped;
    /// everything else, non-ASCII included, is written as it is.
    @inline(__always)
    static func text(_ s: String, into out: inout [UInt8]) {
        var s = s
        s.withUTF8 { u in
            var clean = true
            for b in u where b == 0x3c || b == 0x3e || b == 0x26 || b == 0x0d {
                clean = false
                break
            }
            if clean {
                out.append(contentsOf: u)
                return
            }
            for b in u {
                switch b {
                case 0x3c: out.append(contentsOf: lt)
                case 0x3e: out.append(contentsOf: gt)
                case 0x26: out.append(contentsOf: amp)
                case 0x0d: out.append(contentsOf: cr)
                default: out.append(b)
                }
            }
        }
    }

    /// Attribute values (`xmlBufAttrSerializeTxtContent` without a document): `<`, `>`, `&`,
    /// `"`, tab, newline and carriage return are escaped, and every non-ASCII character becomes
    /// a hexadecimal character reference (`ü` → `&#xFC;`).
    @inline(__always)
    static func attribute(_ s: String, into out: inout [UInt8]) {
        var s = s
        s.withUTF8 { u in
            var clean = true
            for b in u where b >= 0x80 || b == 0x3c || b == 0x3e || b == 0x26 || b == 0x22 || b == 0x09 || b == 0x0a || b == 0x0d {
                clean = false
                break
            }
            if clean {
                out.append(contentsOf: u)
                return
            }
            var i = 0
            let n = u.count
            while i < n {
                let b = u[i]
                switch b {
                case 0x3c: out.append(contentsOf: lt)
                case 0x3e: out.append(contentsOf: gt)
                case 0x26: out.append(contentsOf: amp)
                case 0x22: out.append(contentsOf: quot)
                case 0x09: out.append(contentsOf: tab)
                case 0x0a: out.append(contentsOf: lf)
                case 0x0d: out.append(contentsOf: cr)
                case 0..<0x80: out.append(b)
                default:
                    // A Swift String is valid UTF-8: decode one scalar.
                    var scalar: UInt32
                    var len: Int
                    if b >= 0xf0 {
                        scalar = UInt32(b & 0x07); len = 4
                    } else if b >= 0xe0 {
                        scalar = UInt32(b & 0x0f); len = 3
                    } else {
                        scalar = UInt32(b & 0x1f); len = 2
                    }
                    var k = 1
                    while k < len, i + k < n {
                        scalar = scalar << 6 | UInt32(u[i + k] & 0x3f)
                        k += 1
                    }
                    out.append(contentsOf: hexRefPrefix)
                    appendHex(scalar, into: &out)
                    out.append(0x3b)
                    i += len
                    continue
                }
                i += 1
            }
        }
    }

    /// Upper-case hex without leading zeros, as libxml2's `xmlSerializeHexCharRef`.
    static func appendHex(_ v: UInt32, into out: inout [UInt8]) {
        var digits: [UInt8] = []
        var x = v
        repeat {
            digits.append(hexDigits[Int(x & 0xf)])
            x >>= 4
        } while x != 0
        out.append(contentsOf: digits.reversed())
    }

    /// Decimal digits of an integer.
    @inline(__always)
    static func decimal<T: BinaryInteger>(_ v: T, into out: inout [UInt8]) {
        if v < 0 { out.append(0x2d) }
        var x = v.magnitude
        if x < 10 {
            out.append(0x30 + UInt8(x))
            return
        }
        var tmp: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                  UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &tmp) { buf in
            while x != 0 {
                buf[n] = 0x30 + UInt8(x % 10)
                x /= 10
                n += 1
            }
            while n > 0 {
                n -= 1
                out.append(buf[n])
            }
        }
    }

    static let lt = Array("&lt;".utf8), gt = Array("&gt;".utf8), amp = Array("&amp;".utf8)
    static let quot = Array("&quot;".utf8), tab = Array("&#9;".utf8), lf = Array("&#10;".utf8), cr = Array("&#13;".utf8)
    static let hexRefPrefix = Array("&#x".utf8)
    static let hexDigits = Array("0123456789ABCDEF".utf8)
}

extension Array where Element == UInt8 {
    /// Appends the UTF-8 of a literal (markup only; no escaping).
    @inline(__always)
    mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { append(contentsOf: $0) }
    }

    @inline(__always)
    mutating func raw(_ s: String) {
        var s = s
        s.withUTF8 { append(contentsOf: $0) }
    }
}
