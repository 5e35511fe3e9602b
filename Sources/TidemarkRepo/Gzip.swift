import CZlib
import TidemarkCore

/// gzip compression with zlib (`deflateInit2` with windowBits 15 + 16: one gzip member with
/// mtime 0 and OS "unix", as createrepo_c's own files start).
///
/// `level` is zlib's 0 (stored) … 9 (smallest); out-of-range values are clamped.
public func gzip(_ bytes: [UInt8], level: Int = Gzip.defaultLevel) -> [UInt8] {
    bytes.withUnsafeBufferPointer { Gzip.compress($0, level: level) }
}

/// Decompresses gzip data: one member or several concatenated (as `gzip -d` reads them).
/// Truncated or damaged input throws `TidemarkError(.corrupt, "NAME: …")`; `name` says what the
/// bytes are (a file name or URL).
public func gunzip(_ bytes: [UInt8], name: String = "gzip data") throws(TidemarkError) -> [UInt8] {
    try Gzip.decompress(bytes, name: name)
}

public enum Gzip {
    /// zlib's default level (what `gzip` and createrepo_c use). `RepoMetadata` has its own
    /// default: see `RepoMetadata.defaultGzipLevel`.
    public static let defaultLevel = 6

    /// Decompressed output larger than this is refused (a "zip bomb" must not take the process down).
    public static let maxOutput = 16 << 30

    /// The gzip magic bytes.
    public static let magic: [UInt8] = [0x1f, 0x8b]

    public static func compress(_ input: UnsafeBufferPointer<UInt8>, level: Int) -> [UInt8] {
        var stream = z_stream()
        let lvl = Int32(max(0, min(9, level)))
        guard tidemark_deflate_init_gzip(&stream, lvl) == Z_OK else {
            fatalError("zlib: deflateInit2 failed (out of memory)")
        }
        defer { deflateEnd(&stream) }
        // deflateBound is an upper bound for a single Z_FINISH call: one allocation, one pass.
        let bound = Int(deflateBound(&stream, UInt(input.count)))
        let out = [UInt8](unsafeUninitializedCapacity: bound) { o, produced in
            var offset = 0
            stream.next_out = o.baseAddress
            stream.avail_out = UInt32(clamping: o.count)
            // avail_in is 32 bits: feed inputs beyond 4 GiB in pieces.
            while true {
                let piece = min(input.count - offset, Int(UInt32.max >> 1))
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress.map { $0 + offset })
                stream.avail_in = UInt32(piece)
                offset += piece
                let last = offset == input.count
                let r = deflate(&stream, last ? Z_FINISH : Z_NO_FLUSH)
                if last {
                    precondition(r == Z_STREAM_END, "zlib: deflate did not finish within deflateBound (\(r))")
                    break
                }
                precondition(r == Z_OK, "zlib: deflate failed (\(r))")
            }
            produced = Int(stream.total_out)
        }
        // Keep only what is used (the bound is about the input's size).
        return out.count < bound / 2 ? Array(out[...]) : out
    }

    public static func decompress(_ bytes: [UInt8], name: String) throws(TidemarkError) -> [UInt8] {
        func fail(_ what: String) -> TidemarkError { TidemarkError(.corrupt, "\(name): \(what)") }
        if bytes.isEmpty { throw fail("empty file (0 bytes), not gzip data") }
        guard bytes.count >= 2, bytes[0] == 0x1f, bytes[1] == 0x8b else {
            let head = bytes.prefix(2).map { String($0, radix: 16) }.joined(separator: " ")
            throw fail("not gzip data: starts with \(head), expected the gzip magic 1f 8b")
        }
        var out: [UInt8] = []
        out.reserveCapacity(min(bytes.count * 4, 1 << 30))
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var stream = z_stream()
        guard tidemark_inflate_init_gzip(&stream) == Z_OK else {
            throw TidemarkError(.storage, "\(name): zlib could not start inflating (out of memory)")
        }
        defer { inflateEnd(&stream) }
        var failure: TidemarkError?
        bytes.withUnsafeBufferPointer { input in
            chunk.withUnsafeMutableBufferPointer { c in
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.avail_in = UInt32(input.count)  // repository metadata is far below 4 GiB
                var member = 1
                while true {
                    stream.next_out = c.baseAddress
                    stream.avail_out = UInt32(c.count)
                    let r = inflate(&stream, Z_NO_FLUSH)
                    let n = c.count - Int(stream.avail_out)
                    if n > 0 {
                        if out.count + n > maxOutput {
                            failure = fail("decompresses to more than \(maxOutput) bytes; refused")
                            return
                        }
                        out.append(contentsOf: c[0..<n])
                    }
                    let consumed = input.count - Int(stream.avail_in)
                    switch r {
                    case Z_OK:
                        continue
                    case Z_STREAM_END:
                        // Another member may follow (gzip -d reads concatenated members).
                        if stream.avail_in == 0 { return }
                        let rest = input[consumed...]
                        if rest.allSatisfy({ $0 == 0 }) { return }  // zero padding, as gzip tolerates
                        guard rest.count >= 2, rest[consumed] == 0x1f, rest[consumed + 1] == 0x8b else {
                            failure = fail("\(rest.count) bytes of trailing garbage after gzip member \(member) (at byte \(consumed))")
                            return
                        }
                        member += 1
                        inflateReset(&stream)
                    case Z_BUF_ERROR:
                        if stream.avail_in == 0 {
                            failure = fail(
                                "truncated: the gzip stream ends after \(input.count) bytes (\(out.count) decompressed) without its end marker and CRC")
                            return
                        }
                        continue
                    case Z_DATA_ERROR:
                        let why = stream.msg.map { String(cString: $0) } ?? "invalid data"
                        failure = fail("damaged gzip data at byte \(consumed) of \(input.count) (member \(member)): \(why)")
                        return
                    case Z_MEM_ERROR:
                        failure = TidemarkError(.storage, "\(name): out of memory while decompressing")
                        return
                    default:
                        let why = stream.msg.map { String(cString: $0) } ?? "zlib error \(r)"
                        failure = fail("cannot decompress (member \(member), byte \(consumed)): \(why)")
                        return
                    }
                }
            }
        }
        if let failure { throw failure }
        return out
    }
}
