#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The one JSON rendering of Tidemark's answers: the CLI's `--json` and the HTTP API must be
/// byte-for-byte the same (scripts move between them), so both take their encoder from here.
/// Sorted keys and pretty printing keep the output stable and diffable; slashes stay unescaped
/// because refs and URLs are full of them.
public enum TidemarkJSON {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// The document as printed: the encoding followed by one newline.
    public static func document<T: Encodable>(_ value: T) throws -> [UInt8] {
        var bytes = Array(try encoder().encode(value))
        bytes.append(0x0a)
        return bytes
    }
}
