import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TidemarkCore

/// Writes results: JSON (stable keys, ISO 8601 times) for scripts, aligned tables for people.
enum Output {
    /// The same bytes the HTTP API serves (`TidemarkJSON`).
    static func json<T: Encodable>(_ value: T) throws {
        write(try TidemarkJSON.document(value))
    }

    static func line(_ s: String = "") {
        write(Array((s + "\n").utf8))
    }

    /// Standard output, as `rpm -qa | head` expects of a command-line tool: when the reader has
    /// gone (EPIPE), stop quietly, as a tool killed by SIGPIPE does (Foundation's FileHandle traps
    /// instead, and SwiftNIO ignores SIGPIPE in the process).
    static func write(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(1, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                exit(errno == EPIPE ? 0 : 1)
            }
            offset += n
        }
    }

    static func warn(_ s: String) {
        FileHandle.standardError.write(Data((s + "\n").utf8))
    }
}

/// A plain-text table: left-aligned columns separated by two spaces, like `zypper se` output
/// without the box drawing, so it stays greppable.
struct Table {
    var headers: [String]
    var rows: [[String]] = []

    init(_ headers: String...) { self.headers = headers }

    mutating func add(_ cells: String...) { rows.append(cells) }
    mutating func add(_ cells: [String]) { rows.append(cells) }

    func render() -> String {
        var widths = headers.map(\.count)
        for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
        func fmt(_ cells: [String]) -> String {
            var parts: [String] = []
            for (i, c) in cells.enumerated() {
                parts.append(i == cells.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0))
            }
            return parts.joined(separator: "  ")
        }
        return ([fmt(headers)] + rows.map(fmt)).map { $0.trimmed }.joined(separator: "\n")
    }

    func print() { Output.line(render()) }
}

extension Timestamp {
    /// `2025-01-21 10:00:00Z`, compact for tables.
    var short: String { iso8601.replacingOccurrences(of: "T", with: " ") }
}

extension PackageChange {
    /// `1.0-1 -> 1.1-1`, `+ 1.0-1`, `- 1.0-1`.
    var transition: String {
        switch kind {
        case .added: return "+ \(to ?? "")"
        case .removed: return "- \(from ?? "")"
        default: return "\(from ?? "") -> \(to ?? "")"
        }
    }
}

/// Renders changes grouped by source package, as a person reads a diff.
func renderChanges(_ changes: [PackageChange], indent: String = "", changelog: Bool = false) -> [String] {
    var out: [String] = []
    var bySource: [(String, [PackageChange])] = []
    for c in changes {
        if let last = bySource.last, last.0 == c.source { bySource[bySource.count - 1].1.append(c) } else { bySource.append((c.source, [c])) }
    }
    for (source, group) in bySource {
        out.append("\(indent)\(source)")
        var t = Table("", "", "", "")
        for c in group { t.add(c.kind.rawValue, "\(c.name).\(c.arch)", c.transition, "") }
        for line in t.render().split(separator: "\n", omittingEmptySubsequences: false).dropFirst() {
            out.append(indent + "  " + String(line).trimmed)
        }
        if changelog {
            for c in group {
                for e in c.changelog ?? [] {
                    out.append("\(indent)    * \(Timestamp(seconds: e.time).iso8601.prefix(10)) \(e.author)")
                    for l in e.text.split(separator: "\n") { out.append("\(indent)      \(l)") }
                }
            }
        }
    }
    return out
}
