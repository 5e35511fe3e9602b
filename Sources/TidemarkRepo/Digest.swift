import CCrypto
import TidemarkCore

/// SHA-256 of repository-sized data (metadata documents, package files), hex: OpenSSL's, which
/// uses the CPU's SHA instructions. TidemarkCore's portable SHA-256 stays the one for states and
/// tokens (the pure core has no dependencies); this one is for bulk bytes at the edge.
public func bulkSHA256Hex(_ bytes: [UInt8]) -> String {
    var digest = [UInt8](repeating: 0, count: 32)
    let ok = bytes.withUnsafeBytes { input in
        digest.withUnsafeMutableBufferPointer { tidemark_sha256(input.baseAddress, input.count, $0.baseAddress) }
    }
    precondition(ok == 1, "OpenSSL's SHA-256 failed")
    return hexString(digest)
}
