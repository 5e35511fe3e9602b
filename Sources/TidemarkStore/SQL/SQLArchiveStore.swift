import Foundation
import SQLKit
import TidemarkCore

/// `ArchiveStore` on the history store's SQL backend (tables `archive_files` and `archive_pins`,
/// schema migration 3).
public struct SQLArchiveStore: ArchiveStore {
    public let backend: any SQLBackend

    public init(backend: any SQLBackend) { self.backend = backend }

    private static let columns = "id, sha256, package, file_name, size, origin, added_at"
    private static let chunk = 500

    public func addArchived(_ entry: ArchiveEntry) async throws -> Bool {
        let f = entry.file
        let package = String(decoding: try JSONEncoder().encode(f.package), as: UTF8.self)
        return try await backend.transaction { db in
            let row = try await db.raw("""
                INSERT INTO archive_files (sha256, package_key, package, name, file_name, size, origin, added_at, primary_xml, filelists_xml, other_xml)
                VALUES (\(bind: f.sha256), \(bind: f.package.identityKey), \(bind: package), \(bind: f.package.name), \(bind: f.fileName),
                        \(bind: f.size), \(bind: f.origin), \(bind: f.addedAt.seconds),
                        \(bind: Data(entry.primary)), \(bind: Data(entry.filelists)), \(bind: Data(entry.other)))
                ON CONFLICT (sha256) DO NOTHING RETURNING id
                """).first()
            return row != nil
        }
    }

    public func archivedFile(sha256: String) async throws -> ArchivedFile? {
        try await backend.read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.columns) FROM archive_files WHERE sha256 = \(bind: sha256)").first().map(Self.file)
        }
    }

    public func archivedFiles() async throws -> [ArchivedFile] {
        try await backend.read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.columns) FROM archive_files ORDER BY id").all().map(Self.file)
        }
    }

    public func archivedSHA256s(among sha256s: [String]) async throws -> Set<String> {
        try await backend.read { db in
            var out = Set<String>()
            for batch in sha256s.chunked(Self.chunk) {
                for r in try await db.raw("SELECT sha256 FROM archive_files WHERE sha256 IN (\(binds: Array(batch)))").all() {
                    out.insert(try r.decode(column: "sha256", as: String.self))
                }
            }
            return out
        }
    }

    public func archivedFiles(packageKeys: [String]) async throws -> [String: ArchivedFile] {
        try await backend.read { db in
            var out: [String: ArchivedFile] = [:]
            for batch in Array(Set(packageKeys)).chunked(Self.chunk) {
                let rows = try await db.raw("SELECT \(unsafeRaw: Self.columns) FROM archive_files WHERE package_key IN (\(binds: Array(batch))) ORDER BY id").all()
                for r in rows {
                    let f = try Self.file(r)
                    if out[f.package.identityKey] == nil { out[f.package.identityKey] = f }
                }
            }
            return out
        }
    }

    public func archiveEntries(sha256s: [String]) async throws -> [ArchiveEntry] {
        try await backend.read { db in
            var found: [String: ArchiveEntry] = [:]
            for batch in sha256s.chunked(Self.chunk) {
                let rows = try await db.raw("""
                    SELECT \(unsafeRaw: Self.columns), primary_xml, filelists_xml, other_xml FROM archive_files WHERE sha256 IN (\(binds: Array(batch)))
                    """).all()
                for r in rows {
                    let e = try Self.entry(r)
                    found[e.file.sha256] = e
                }
            }
            return sha256s.compactMap { found[$0] }
        }
    }

    public func archiveSequence() async throws -> (count: Int, last: Int64) {
        try await backend.read { db in
            guard let r = try await db.raw("SELECT COUNT(*) AS n, COALESCE(MAX(id), 0) AS last FROM archive_files").first() else { return (0, 0) }
            return (try r.decode(column: "n", as: Int.self), try r.decode(column: "last", as: Int64.self))
        }
    }

    public func archiveEntries(after: Int64) async throws -> [(sequence: Int64, entry: ArchiveEntry)] {
        try await backend.read { db in
            try await db.raw("""
                SELECT \(unsafeRaw: Self.columns), primary_xml, filelists_xml, other_xml FROM archive_files WHERE id > \(bind: after) ORDER BY id
                """).all().map { (try $0.decode(column: "id", as: Int64.self), try Self.entry($0)) }
        }
    }

    public func deleteArchived(sha256s: [String]) async throws {
        try await backend.transaction { db in
            for batch in sha256s.chunked(Self.chunk) {
                try await db.raw("DELETE FROM archive_files WHERE sha256 IN (\(binds: Array(batch)))").run()
            }
        }
    }

    public func pins() async throws -> [ArchivePin] {
        try await backend.read { db in
            try await db.raw("SELECT state_hash, ref, note, pinned_at FROM archive_pins ORDER BY pinned_at, state_hash").all().map { r in
                ArchivePin(
                    state: StateID(hex: try r.decode(column: "state_hash", as: String.self)), ref: try r.decode(column: "ref", as: String.self),
                    note: try r.decode(column: "note", as: String?.self), pinnedAt: Timestamp(seconds: try r.decode(column: "pinned_at", as: Int64.self)))
            }
        }
    }

    public func pin(_ pin: ArchivePin) async throws {
        try await backend.transaction { db in
            guard try await db.raw("SELECT id FROM states WHERE hash = \(bind: pin.state.hex)").first() != nil else {
                throw TidemarkError(.notFound, "state \(pin.state.short) is not in the store; only a recorded state can be pinned")
            }
            try await db.raw("""
                INSERT INTO archive_pins (state_hash, ref, note, pinned_at) VALUES (\(bind: pin.state.hex), \(bind: pin.ref), \(bind: pin.note), \(bind: pin.pinnedAt.seconds))
                ON CONFLICT (state_hash) DO UPDATE SET ref = excluded.ref, note = excluded.note
                """).run()
        }
    }

    public func unpin(_ state: StateID) async throws -> Bool {
        try await backend.transaction { db in
            try await db.raw("DELETE FROM archive_pins WHERE state_hash = \(bind: state.hex) RETURNING state_hash").first() != nil
        }
    }

    private static func file(_ r: any SQLRow) throws -> ArchivedFile {
        let json = try r.decode(column: "package", as: String.self)
        let package: Package
        do { package = try JSONDecoder().decode(Package.self, from: Data(json.utf8)) } catch {
            throw TidemarkError(.corrupt, "archive_files: unreadable package of \(try r.decode(column: "sha256", as: String.self)): \(error)")
        }
        return ArchivedFile(
            sha256: try r.decode(column: "sha256", as: String.self), package: package, fileName: try r.decode(column: "file_name", as: String.self),
            size: try r.decode(column: "size", as: Int64.self), origin: try r.decode(column: "origin", as: String.self),
            addedAt: Timestamp(seconds: try r.decode(column: "added_at", as: Int64.self)))
    }

    private static func entry(_ r: any SQLRow) throws -> ArchiveEntry {
        ArchiveEntry(
            file: try file(r), primary: [UInt8](try r.decode(column: "primary_xml", as: Data.self)),
            filelists: [UInt8](try r.decode(column: "filelists_xml", as: Data.self)), other: [UInt8](try r.decode(column: "other_xml", as: Data.self)))
    }
}
