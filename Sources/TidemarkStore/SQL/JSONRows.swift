import SQLKit

/// Many rows as ONE bound JSON array, expanded by the database (`json_each` in SQLite,
/// `jsonb_array_elements` in PostgreSQL). A state of 3,000 packages is one parameter instead of
/// 39,000, which is where bulk inserts spent their time (binding, not writing).
struct JSONRows {
    enum Value {
        case text(String)
        case int(Int64)
        case null
    }

    private(set) var json = "["
    private(set) var count = 0

    mutating func append(_ row: [Value]) {
        json += count == 0 ? "[" : ",["
        for (i, v) in row.enumerated() {
            if i > 0 { json += "," }
            switch v {
            case .text(let s): JSONRows.quote(s, into: &json)
            case .int(let n): json += String(n)
            case .null: json += "null"
            }
        }
        json += "]"
        count += 1
    }

    var text: String { json + "]" }

    static func text(_ s: String?) -> Value { s.map(Value.text) ?? .null }
    static func int(_ n: Int64?) -> Value { n.map(Value.int) ?? .null }

    /// Appends `s` as a JSON string literal.
    static func quote(_ s: String, into out: inout String) {
        out += "\""
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5c }) {
            out += s
        } else {
            for u in s.unicodeScalars {
                switch u {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\t": out += "\\t"
                case "\r": out += "\\r"
                default:
                    if u.value < 0x20 {
                        let hex = String(u.value, radix: 16)
                        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                    } else {
                        out.unicodeScalars.append(u)
                    }
                }
            }
        }
        out += "\""
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
