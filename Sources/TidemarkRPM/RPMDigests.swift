import Foundation
import TidemarkCore

/// The digest algorithms rpm may name in PAYLOADDIGESTALGO (OpenPGP hash algorithm ids) that
/// Tidemark can compute.
enum RPMDigestAlgorithm: Sendable {
    case md5, sha1, sha256

    /// OpenPGP ids (RFC 4880 9.4): 1 MD5, 2 SHA-1, 8 SHA-256. Others (SHA-384/512/224,
    /// SHA3) are not supported: nil.
    init?(pgpHashAlgorithm: UInt32) {
        switch pgpHashAlgorithm {
        case 1: self = .md5
        case 2: self = .sha1
        case 8: self = .sha256
        default: return nil
        }
    }

    var label: String {
        switch self {
        case .md5: "MD5"
        case .sha1: "SHA-1"
        case .sha256: "SHA-256"
        }
    }
}

/// One running digest of a chosen algorithm.
struct RPMDigestHasher {
    private var md5: MD5?
    private var sha1: SHA1?
    private var sha256: SHA256?

    init(_ algorithm: RPMDigestAlgorithm) {
        switch algorithm {
        case .md5: md5 = MD5()
        case .sha1: sha1 = SHA1()
        case .sha256: sha256 = SHA256()
        }
    }

    mutating func update(_ bytes: UnsafeBufferPointer<UInt8>) {
        md5?.update(bytes)
        sha1?.update(bytes)
        sha256?.update(bytes)
    }

    mutating func finalizeHex() -> String {
        if var m = md5 { return hexString(m.finalize()) }
        if var s = sha1 { return hexString(s.finalize()) }
        if var s = sha256 { return hexString(s.finalize()) }
        return ""
    }
}

/// The bytes of an `.rpm` being read: all of them (`init(bytes:)`), or a file read from the
/// start as far as the headers need, with the payload streamed in chunks afterwards so that a
/// large package is never held in memory.
struct RPMInput {
    /// Total size in bytes.
    let count: Int
    /// Bytes 0..<prefix.count, read so far (all of them for in-memory input).
    private(set) var prefix: [UInt8]
    private var handle: FileHandle?

    /// Payload chunk size when streaming a file.
    static let chunkSize = 1 << 20

    init(bytes: [UInt8]) {
        count = bytes.count
        prefix = bytes
        handle = nil
    }

    init(path: String) throws(TidemarkError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw TidemarkError(.notFound, "\(path): no such file")
        }
        guard !isDirectory.boolValue else { throw TidemarkError(.invalidArgument, "\(path): is a directory, not an rpm package") }
        guard let h = FileHandle(forReadingAtPath: path) else { throw TidemarkError(.unreadable, "\(path): cannot open for reading") }
        do {
            let end = try h.seekToEnd()
            try h.seek(toOffset: 0)
            guard end <= UInt64(Int.max) else { throw TidemarkError(.unreadable, "\(path): file size \(end) is too large") }
            count = Int(end)
        } catch let e as TidemarkError {
            try? h.close()
            throw e
        } catch {
            try? h.close()
            throw TidemarkError(.unreadable, "\(path): cannot determine the file size: \(error)")
        }
        prefix = []
        handle = h
    }

    func close() { try? handle?.close() }

    /// Makes sure `prefix` holds the first `n` bytes (n <= count).
    mutating func ensure(_ n: Int, _ file: String) throws(TidemarkError) {
        guard let handle, prefix.count < n else { return }
        while prefix.count < n {
            let data: Data?
            do { data = try handle.read(upToCount: n - prefix.count) } catch {
                throw TidemarkError(.unreadable, "\(file): cannot read at offset \(prefix.count): \(error)")
            }
            guard let data, !data.isEmpty else {
                throw TidemarkError(.corrupt, "\(file): truncated while reading: the file ended at offset \(prefix.count), \(count) bytes were expected (did it change?)")
            }
            prefix.append(contentsOf: data)
        }
    }

    /// Calls `body(offset, bytes)` with consecutive pieces covering the whole input, in order.
    mutating func forEachChunk(_ file: String, _ body: (Int, UnsafeBufferPointer<UInt8>) -> Void) throws(TidemarkError) {
        prefix.withUnsafeBufferPointer { body(0, $0) }
        guard let handle else { return }
        var offset = prefix.count
        while offset < count {
            let data: Data?
            do { data = try handle.read(upToCount: min(RPMInput.chunkSize, count - offset)) } catch {
                throw TidemarkError(.unreadable, "\(file): cannot read at offset \(offset): \(error)")
            }
            guard let data, !data.isEmpty else {
                throw TidemarkError(.corrupt, "\(file): truncated while reading: the file ended at offset \(offset), \(count) bytes were expected (did it change?)")
            }
            let at = offset
            data.withUnsafeBytes { raw in body(at, raw.bindMemory(to: UInt8.self)) }
            offset += data.count
        }
    }
}
