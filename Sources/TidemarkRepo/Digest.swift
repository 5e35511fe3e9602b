import CCrypto
import TidemarkCore

/// SHA-256 of repository-sized data (metadata documents, package files), hex: OpenSSL's, which
/// uses the CPU's SHA instructions. TidemarkCore's portable SHA-256 stays the one for states and
/// tokens (the pure core has no dependencies); this one is for bulk bytes at the edge.
public func bulkSHA256Hex(_ bytes: [UInt8]) -> String {
    hexString(bytes.withUnsafeBytes { bulkSHA256($0) })
}

/// The same, raw; also what state ids are computed with where a whole state arrives at once
/// (`PackageState(_:sha256:)`, `ObservationPayload.observation(sha256:)`).
@Sendable public func bulkSHA256(_ input: UnsafeRawBufferPointer) -> [UInt8] {
    var digest = [UInt8](repeating: 0, count: 32)
    let ok = digest.withUnsafeMutableBufferPointer { tidemark_sha256(input.baseAddress, input.count, $0.baseAddress) }
    precondition(ok == 1, "OpenSSL's SHA-256 failed")
    return digest
}
