import Foundation
import TidemarkCore
import TidemarkRPM
import VaporCSQLite

/// Where the rpm database of a root lives and which backend wrote it.
public struct RPMDatabaseLocation: Sendable, Hashable {
    public enum Backend: String, Sendable {
        /// `rpmdb.sqlite`: read natively.
        case sqlite
        /// `Packages.db` (rpm's ndb): read through the `rpm` tool.
        case ndb
        /// `Packages` (Berkeley DB): read through the `rpm` tool with the read-only `bdb_ro` backend.
        case bdb
    }

    /// The root directory as given (`/` for the running system).
    public var root: String
    /// The database directory as rpm's `--dbpath` names it: absolute, inside the root.
    public var dbPath: String
    public var backend: Backend
    /// The database file on disk (root + dbPath + file name, symlinks in the root resolved inside it).
    public var file: String

    public init(root: String, dbPath: String, backend: Backend, file: String) {
        self.root = root
        self.dbPath = dbPath
        self.backend = backend
        self.file = file
    }
}

/// Reads every installed package of an rpm database, so that a snapshot equals `rpm -qa`.
///
/// `rpmdb.sqlite` (the default since rpm 4.16, and what openSUSE and Fedora use) is read
/// natively: a read-only SQLite connection plus `RPMHeader` is an order of magnitude cheaper
/// than starting `rpm`, and works where no rpm binary is installed (a Debian server that
/// collects an image). Other backends are read through `rpm -qa --qf` of this machine.
public enum RPMDatabase {
    /// Everything the database says about the packages.
    public struct Contents: Sendable {
        /// In database order (rpm's `hnum`), `gpg-pubkey` pseudo packages included: `rpm -qa` lists them.
        public var packages: [InstalledPackage]
        /// Changelog entries, newest first as rpm keeps them, keyed by `Package.identityKey`.
        public var changelogs: [String: [ChangelogEntry]]
        public var location: RPMDatabaseLocation
    }

    /// Database directories probed under a root, in order, before this machine's own `%_dbpath`
    /// and `/root/.rpmdb` (Debian's rpm default). openSUSE moved to `/usr/lib/sysimage/rpm` and
    /// keeps `/var/lib/rpm` as a symlink, so the first match is the real one.
    public static let standardDBPaths = ["/usr/lib/sysimage/rpm", "/var/lib/rpm"]

    /// `%_dbpath` of the rpm on this machine, asked once per process (nil without rpm).
    static let configuredDBPath: String? = {
        guard Subprocess.which("rpm") != nil,
              let r = try? Subprocess.run("rpm", ["--eval", "%{_dbpath}"]), r.status == 0 else { return nil }
        let p = r.stdoutText.trimmed
        return p.hasPrefix("/") ? p : nil
    }()

    /// The directories `locate` tries, in order.
    public static var candidateDBPaths: [String] {
        var paths = standardDBPaths
        if let p = configuredDBPath, !paths.contains(p) { paths.append(p) }
        if !paths.contains("/root/.rpmdb") { paths.append("/root/.rpmdb") }
        return paths
    }

    /// Finds the rpm database under `root`: the first candidate directory holding `rpmdb.sqlite`,
    /// `Packages.db` or `Packages`. nil when there is none (not an rpm host).
    public static func locate(root: String) throws(TidemarkError) -> RPMDatabaseLocation? {
        try RootPath.requireDirectory(root)
        for dbPath in candidateDBPaths {
            guard let dir = RootPath.resolve(root: root, path: dbPath) else { continue }
            for (name, backend) in [("rpmdb.sqlite", RPMDatabaseLocation.Backend.sqlite), ("Packages.db", .ndb), ("Packages", .bdb)] {
                let file = dir + "/" + name
                if RootPath.exists(file) {
                    return RPMDatabaseLocation(root: root, dbPath: dbPath, backend: backend, file: file)
                }
            }
        }
        return nil
    }

    /// Reads all installed packages under `root` (native for sqlite, `rpm` for the others).
    /// Throws `notFound` when the root has no rpm database.
    public static func read(root: String, changelogs: Bool = true) throws(TidemarkError) -> Contents {
        guard let location = try locate(root: root) else {
            throw TidemarkError(
                .notFound,
                "no rpm database under '\(root)' (looked for rpmdb.sqlite, Packages.db and Packages in \(candidateDBPaths.joined(separator: ", ")))")
        }
        return try read(location, changelogs: changelogs)
    }

    /// Reads the database at a known location.
    public static func read(_ location: RPMDatabaseLocation, changelogs: Bool = true) throws(TidemarkError) -> Contents {
        switch location.backend {
        case .sqlite: return try readSQLite(location, changelogs: changelogs)
        case .ndb, .bdb: return try readUsingRPM(location, changelogs: changelogs)
        }
    }

    // MARK: Native sqlite

    /// Reads `rpmdb.sqlite` read-only and parses every `Packages.blob` header.
    public static func readSQLite(_ location: RPMDatabaseLocation, changelogs: Bool = true) throws(TidemarkError) -> Contents {
        var out = Contents(packages: [], changelogs: [:], location: location)
        try forEachHeaderBlob(file: location.file) { (hnum, blob) throws(TidemarkError) in
            do throws(TidemarkError) {
                let header = try RPMHeader(bytes: blob, hasMagic: false)
                let (pkg, log) = try record(from: header, changelogs: changelogs)
                if changelogs, !log.isEmpty { out.changelogs[pkg.package.identityKey] = log }
                out.packages.append(pkg)
            } catch {
                throw TidemarkError(.corrupt, "\(location.file): package record hnum \(hnum): \(error.message)")
            }
        }
        return out
    }

    /// The raw `Packages` rows (hnum, header blob without magic) of an `rpmdb.sqlite`, for
    /// inspecting a database header by header.
    public static func headerBlobs(file: String) throws(TidemarkError) -> [(hnum: Int64, blob: [UInt8])] {
        var out: [(hnum: Int64, blob: [UInt8])] = []
        try forEachHeaderBlob(file: file) { (hnum, blob) throws(TidemarkError) in out.append((hnum, Array(blob))) }
        return out
    }

    /// Calls `body` with every `Packages` row of an `rpmdb.sqlite`, in `hnum` order (rpm's order).
    /// The buffer is valid only during the call.
    ///
    /// The connection never writes: `SQLITE_OPEN_READONLY` (rpm's database must not change under
    /// Tidemark), a busy timeout so that a running rpm transaction delays rather than fails us,
    /// and, when SQLite cannot set up its WAL index in a directory we may not write to, a second
    /// attempt with `immutable=1` (only if the first one failed before delivering any row).
    public static func forEachHeaderBlob(
        file: String, _ body: (Int64, UnsafeRawBufferPointer) throws(TidemarkError) -> Void
    ) throws(TidemarkError) {
        guard FileManager.default.fileExists(atPath: file) else {
            throw TidemarkError(.notFound, "\(file): rpm database does not exist")
        }
        guard FileManager.default.isReadableFile(atPath: file) else {
            throw TidemarkError(.unreadable, "\(file): rpm database is not readable")
        }
        do {
            try forEachHeaderBlob(file: file, immutable: false, body)
        } catch where error.retryable {
            do {
                try forEachHeaderBlob(file: file, immutable: true, body)
            } catch {
                throw error.error
            }
        } catch {
            throw error.error
        }
    }

    /// A failure while reading, with whether opening with `immutable=1` may help.
    struct SQLiteFailure: Error {
        var error: TidemarkError
        var retryable: Bool
    }

    private static func forEachHeaderBlob(
        file: String, immutable: Bool, _ body: (Int64, UnsafeRawBufferPointer) throws(TidemarkError) -> Void
    ) throws(SQLiteFailure) {
        var db: OpaquePointer?
        let flags: Int32
        let name: String
        if immutable {
            flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI
            name = "file:" + uriEscape(file) + "?immutable=1"
        } else {
            flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX
            name = file
        }
        defer { sqlite_nio_sqlite3_close_v2(db) }
        var rows = 0
        func failure(_ rc: Int32, _ what: String) -> SQLiteFailure {
            let msg = db.map { String(cString: sqlite_nio_sqlite3_errmsg($0)) } ?? String(cString: sqlite_nio_sqlite3_errstr(rc))
            let primary = rc & 0xff
            let code: TidemarkError.Code =
                switch primary {
                case SQLITE_CORRUPT, SQLITE_NOTADB: .corrupt
                case SQLITE_BUSY, SQLITE_LOCKED: .storage
                default: .unreadable
                }
            let retry = !immutable && rows == 0
                && (primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY || primary == SQLITE_PERM)
            return SQLiteFailure(error: TidemarkError(code, "\(file): cannot read rpm database (\(what)): \(msg)"), retryable: retry)
        }
        var rc = sqlite_nio_sqlite3_open_v2(name, &db, flags, nil)
        guard rc == SQLITE_OK, let db else { throw failure(rc, "open") }
        sqlite_nio_sqlite3_busy_timeout(db, 10_000)
        var stmt: OpaquePointer?
        rc = sqlite_nio_sqlite3_prepare_v2(db, "SELECT hnum, blob FROM Packages ORDER BY hnum", -1, &stmt, nil)
        defer { sqlite_nio_sqlite3_finalize(stmt) }
        guard rc == SQLITE_OK, let stmt else {
            var f = failure(rc, "query Packages")
            if f.error.message.contains("no such table") {
                f.error = TidemarkError(.corrupt, "\(file): not an rpm database: it has no Packages table")
            }
            throw f
        }
        while true {
            rc = sqlite_nio_sqlite3_step(stmt)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw failure(rc, "read Packages") }
            rows += 1
            let hnum = sqlite_nio_sqlite3_column_int64(stmt, 0)
            let n = Int(sqlite_nio_sqlite3_column_bytes(stmt, 1))
            guard n > 0, let ptr = sqlite_nio_sqlite3_column_blob(stmt, 1) else {
                throw SQLiteFailure(error: TidemarkError(.corrupt, "\(file): package record hnum \(hnum) has an empty header blob"), retryable: false)
            }
            do throws(TidemarkError) {
                try body(hnum, UnsafeRawBufferPointer(start: ptr, count: n))
            } catch {
                throw SQLiteFailure(error: error, retryable: false)
            }
        }
    }

    /// SQLite URI escaping of a path: only `%`, `?` and `#` are special there.
    static func uriEscape(_ path: String) -> String {
        var s = ""
        for c in path.unicodeScalars {
            switch c {
            case "%": s += "%25"
            case "?": s += "%3f"
            case "#": s += "%23"
            default: s.unicodeScalars.append(c)
            }
        }
        return s
    }

    // MARK: Header → package

    /// The package record of one installed header, as `rpm -qa --qf` would print its fields.
    ///
    /// The header → `Package` mapping itself is `RPMHeader.package(digest:)` in TidemarkRPM,
    /// shared with the `.rpm` file reader so that an archived file and the package installed
    /// from it have the same identity; the digest of an installed header is its SIGMD5.
    public static func record(from h: RPMHeader, changelogs: Bool = true) throws(TidemarkError) -> (InstalledPackage, [ChangelogEntry]) {
        let pkg = try h.package(digest: try h.hex(.sigMD5))
        let installed = InstalledPackage(pkg, installTime: try h.int64(.installTime).map { Int64(truncatingIfNeeded: $0) })
        guard changelogs else { return (installed, []) }
        return (installed, try h.changelog())
    }

    /// `(none)` is rpm's word for "no value"; see `RPMHeader.package(digest:)`.
    @inline(__always)
    static func none(_ s: String?) -> String? { RPMHeader.noneAsNil(s) }

    // MARK: Through the rpm tool

    /// Separators of the `--qf` output: ASCII control characters that rpm metadata does not
    /// contain, so no quoting is needed. Field, record, changelog field, changelog entry.
    static let fieldSep: Character = "\u{1F}", recordSep: Character = "\u{1E}"
    static let logFieldSep: Character = "\u{1D}", logEntrySep: Character = "\u{1C}"

    /// Fields in the order the query format prints them; a present value is printed with a
    /// leading `=` so that an absent tag (empty) and a tag whose value is `(none)` stay apart.
    static let queryTags = ["NAME", "EPOCH", "VERSION", "RELEASE", "ARCH", "VENDOR", "SOURCERPM", "DISTURL", "BUILDTIME", "INSTALLTIME", "SIGMD5"]

    /// The `rpm --qf` format used by `readUsingRPM`.
    public static func queryFormat(changelogs: Bool) -> String {
        var f = queryTags.map { "%|\($0)?{=%{\($0)}}:{}|" }.joined(separator: String(fieldSep))
        f.append(fieldSep)
        if changelogs {
            f += "[%{CHANGELOGTIME}\(logFieldSep)%{CHANGELOGNAME}\(logFieldSep)%{CHANGELOGTEXT}\(logEntrySep)]"
        }
        f.append(recordSep)
        return f
    }

    /// Reads the database by running `rpm --root ROOT --dbpath DBPATH -qa --qf …` of this
    /// machine: the fallback for ndb and Berkeley DB databases. The backend is named explicitly,
    /// because rpm otherwise "helpfully" creates an empty `rpmdb.sqlite` next to a database it
    /// cannot read and reports no packages; a backend this rpm lacks is reported as an error.
    public static func readUsingRPM(_ location: RPMDatabaseLocation, changelogs: Bool = true) throws(TidemarkError) -> Contents {
        let backend = switch location.backend {
        case .sqlite: "sqlite"
        case .ndb: "ndb"
        case .bdb: "bdb_ro"
        }
        // rpm opens ROOT + DBPATH without following symlinks inside the root, so give it the
        // directory `locate` resolved (the file's directory, relative to the root).
        var dbPath = location.dbPath
        let base = location.root.hasSuffix("/") ? String(location.root.dropLast()) : location.root
        let dir = (location.file as NSString).deletingLastPathComponent
        if dir.hasPrefix(base + "/") { dbPath = String(dir.dropFirst(base.count)) }
        let r = try Subprocess.run(
            "rpm",
            ["--root", location.root, "--dbpath", dbPath, "--define", "_db_backend \(backend)", "-qa", "--qf", queryFormat(changelogs: changelogs)])
        let err = r.stderrText
        if err.contains("invalid %_db_backend") || err.contains("using dummy database") {
            throw TidemarkError(
                .toolFailed,
                "\(location.file): the rpm of this machine cannot read \(location.backend.rawValue) databases (\(err.trimmed.split(separator: "\n").first ?? ""))")
        }
        guard r.status == 0 else {
            throw TidemarkError(.corrupt, "\(location.file): 'rpm -qa' failed with exit status \(r.status): \(err.trimmed)")
        }
        do {
            var out = try parseQueryOutput(r.stdoutText, changelogs: changelogs)
            out.location = location
            return out
        } catch {
            throw TidemarkError(error.code, "\(location.file): \(error.message)")
        }
    }

    /// Parses what `queryFormat` makes rpm print.
    static func parseQueryOutput(_ text: String, changelogs: Bool) throws(TidemarkError) -> Contents {
        var out = Contents(packages: [], changelogs: [:], location: RPMDatabaseLocation(root: "", dbPath: "", backend: .sqlite, file: ""))
        for (n, record) in text.split(separator: recordSep, omittingEmptySubsequences: false).enumerated() {
            if record.isEmpty { continue }
            let f = record.split(separator: fieldSep, omittingEmptySubsequences: false)
            guard f.count == queryTags.count + 1 else {
                throw TidemarkError(.corrupt, "rpm -qa record \(n + 1) has \(f.count) fields, expected \(queryTags.count + 1)")
            }
            func value(_ i: Int) -> String? { f[i].first == "=" ? String(f[i].dropFirst()) : nil }
            func number(_ i: Int) throws(TidemarkError) -> Int64? {
                guard let s = value(i) else { return nil }
                guard let v = Int64(s) else { throw TidemarkError(.corrupt, "rpm -qa record \(n + 1): \(queryTags[i]) '\(s)' is not a number") }
                return v
            }
            guard let name = value(0), let version = value(2), let release = value(3) else {
                throw TidemarkError(.corrupt, "rpm -qa record \(n + 1) lacks NAME, VERSION or RELEASE")
            }
            let pkg = Package(
                format: .rpm, name: name, evr: EVR(epoch: Int(try number(1) ?? 0), version: version, release: release),
                arch: value(4) ?? "", digest: value(10), vendor: none(value(5)), source: none(value(6)), disturl: none(value(7)),
                buildTime: try number(8))
            out.packages.append(InstalledPackage(pkg, installTime: try number(9)))
            if changelogs, !f[11].isEmpty {
                var log: [ChangelogEntry] = []
                for entry in f[11].split(separator: logEntrySep) {
                    let e = entry.split(separator: logFieldSep, omittingEmptySubsequences: false)
                    guard e.count == 3, let t = Int64(e[0]) else {
                        throw TidemarkError(.corrupt, "rpm -qa record \(n + 1) (\(name)): malformed changelog entry")
                    }
                    log.append(ChangelogEntry(time: t, author: String(e[1]), text: String(e[2])))
                }
                out.changelogs[pkg.identityKey] = log
            }
        }
        return out
    }
}

/// Paths inside a host root. Symlinks in the root (openSUSE's `/var/lib/rpm` ->
/// `/usr/lib/sysimage/rpm`) are resolved inside the root, never against this machine's `/`.
enum RootPath {
    /// `root` + `path` with each symlink followed inside the root; nil if a component is missing.
    static func resolve(root: String, path: String) -> String? {
        let base = root.hasSuffix("/") ? String(root.dropLast()) : root
        var pending = path.split(separator: "/").map(String.init)
        var done: [String] = []
        var hops = 0
        while !pending.isEmpty {
            let c = pending.removeFirst()
            if c == "." { continue }
            if c == ".." {
                if !done.isEmpty { done.removeLast() }
                continue
            }
            let candidate = base + "/" + (done + [c]).joined(separator: "/")
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: candidate) {
                hops += 1
                if hops > 40 { return nil }
                let parts = target.split(separator: "/").map(String.init)
                if target.hasPrefix("/") { done = [] }
                pending = parts + pending
                continue
            }
            guard exists(candidate) else { return nil }
            done.append(c)
        }
        return base + "/" + done.joined(separator: "/")
    }

    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    static func requireDirectory(_ root: String) throws(TidemarkError) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDir) else {
            throw TidemarkError(.notFound, "root directory '\(root)' does not exist")
        }
        guard isDir.boolValue else { throw TidemarkError(.invalidArgument, "root '\(root)' is not a directory") }
    }
}
