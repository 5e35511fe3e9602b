import Foundation
import SQLKit
import TidemarkCore

/// Many rows as ONE bound JSON array, expanded by the database (`json_each` in SQLite,
/// `jsonb_array_elements` in PostgreSQL). A state of 3,000 packages is one parameter instead of
/// 39,000, which is where bulk inserts spent their time (binding, not writing).
struct JSONRows {
    enum Value {
        case text(String)
        case int(Int64)
        case null
    }

    private var bytes: [UInt8] = [UInt8(ascii: "[")]
    private(set) var count = 0

    mutating func append(_ row: [Value]) {
        if count > 0 { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "["))
        for (i, v) in row.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            switch v {
            case .text(let s): JSONWriter.quote(s, into: &bytes)
            case .int(let n): bytes.append(contentsOf: String(n).utf8)
            case .null: bytes.append(contentsOf: "null".utf8)
            }
        }
        bytes.append(UInt8(ascii: "]"))
        count += 1
    }

    var text: String { String(decoding: bytes + [UInt8(ascii: "]")], as: UTF8.self) }

    static func text(_ s: String?) -> Value { s.map(Value.text) ?? .null }
    static func int(_ n: Int64?) -> Value { n.map(Value.int) ?? .null }

    /// `s` as a JSON string literal.
    static func quoted(_ s: String) -> String {
        var out: [UInt8] = []
        JSONWriter.quote(s, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `FROM <rows> AS j`, whose `j.value` is one row (a JSON array) in either dialect.
    func source(_ dialect: StoreDialect) -> SQLQueryString {
        switch dialect {
        case .sqlite: return "json_each(\(bind: text)) AS j"
        case .postgres: return "jsonb_array_elements(CAST(\(bind: text) AS jsonb)) AS j(value)"
        }
    }

    /// Column `i` of the row as text, or cast to BIGINT.
    static func column(_ i: Int, integer: Bool = false) -> String {
        integer ? "CAST(j.value ->> \(i) AS BIGINT)" : "(j.value ->> \(i))"
    }
}

/// A value kept as one JSON document in a TEXT column (a rollout's spec, a bisection's
/// session): read whole, written whole; what is queried gets a column of its own.
enum JSONColumn {
    static func text<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String, _ whereFrom: String) throws -> T {
        do { return try JSONDecoder().decode(T.self, from: Data(text.utf8)) } catch {
            throw TidemarkError(.corrupt, "\(whereFrom): cannot decode \(T.self): \(error)")
        }
    }
}
