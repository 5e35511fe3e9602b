import ArgumentParser
import Foundation
import TidemarkArchive
import TidemarkCore
import TidemarkHosts
import TidemarkRepo
import TidemarkStore

/// `--db`: where the history lives: a SQLite file, or a PostgreSQL URL for a deployment that
/// several servers share. Precedence: the flag, `$TIDEMARK_DB`, then the default
/// (`/var/lib/tidemark/tidemark.sqlite` for root, `~/.local/share/tidemark/tidemark.sqlite`
/// otherwise, honouring `$XDG_DATA_HOME`).
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "SQLite database file, or PostgreSQL URL: postgres://user:password@host:port/database or postgres:///database?host=/socket/dir&user=name (default: $TIDEMARK_DB, else /var/lib/tidemark/tidemark.sqlite as root, ~/.local/share/tidemark/tidemark.sqlite otherwise).",
        valueName: "path|url"))
    var db: String?

    /// The SQLite path or `postgres://` / `postgresql://` URL in force.
    var path: String {
        if let db { return db }
        let env = ProcessInfo.processInfo.environment
        if let e = env["TIDEMARK_DB"], !e.isEmpty { return e }
        return Self.dataPath("tidemark.sqlite")
    }

    /// `NAME` in Tidemark's data directory: `/var/lib/tidemark` for root, else
    /// `$XDG_DATA_HOME/tidemark` (`~/.local/share/tidemark`).
    static func dataPath(_ name: String) -> String {
        if getuid() == 0 { return "/var/lib/tidemark/" + name }
        let base = ProcessInfo.processInfo.environment["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.local/share")
        return base + "/tidemark/" + name
    }

    /// A URL opens PostgreSQL, anything else the SQLite file at that path.
    func open() async throws -> SQLHistoryStore {
        try await SQLHistoryStore.open(location: path, sha256: bulkSHA256)
    }

    /// Opens the store, runs `body`, and closes the store whatever happens.
    func with<T>(_ body: (SQLHistoryStore) async throws -> T) async throws -> T {
        let store = try await open()
        do {
            let r = try await body(store)
            try await store.close()
            return r
        } catch {
            try? await store.close()
            throw error
        }
    }

    func withQueries<T>(_ body: (HistoryQueries) async throws -> T) async throws -> T {
        try await with { store in try await body(Self.queries(store)) }
    }

    /// The read queries on an open store (`file:` refs read `rpm -qa` lists).
    static func queries(_ store: any HistoryStore) -> HistoryQueries {
        HistoryQueries(store: store, loadFile: { path in try RPMQAList.read(path: path).map(\.package) }, now: { Clock.now() })
    }
}

struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false
}

enum Clock {
    static func now() -> Timestamp { Timestamp(seconds: Int64(Date().timeIntervalSince1970)) }
}

extension TimeSpec: ExpressibleByArgument {
    public init?(argument: String) {
        guard let t = try? TimeSpec.parse(argument) else { return nil }
        self = t
    }
    public static var defaultCompletionKind: CompletionKind { .default }
}

extension PackageFormat: ExpressibleByArgument {}

/// Runs a command body and turns Tidemark errors into a one-line message and a non-zero exit,
/// the way rpm and zypper report failures.
func reportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let e as TidemarkError {
        FileHandle.standardError.write(Data("tidemark: \(e.message)\n".utf8))
        throw ExitCode(e.code == .invalidArgument ? 2 : 1)
    }
}

/// The text of an input file, or of standard input for `-`; unreadable input names the file.
func readInput(_ path: String) throws(TidemarkError) -> String {
    if path == "-" {
        return String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
    }
    guard let data = FileManager.default.contents(atPath: path) else {
        throw TidemarkError(.unreadable, "cannot read \(path): \(FileManager.default.fileExists(atPath: path) ? "permission denied or not a regular file" : "no such file")")
    }
    guard let text = String(data: data, encoding: .utf8) else {
        throw TidemarkError(.invalidInput, "\(path) is not UTF-8 text")
    }
    return text
}

/// `--archive`: the directory holding the package archive's files (their records live in the
/// `--db` store). Precedence: the flag, `$TIDEMARK_ARCHIVE`, then `archive/` beside the default
/// database (`/var/lib/tidemark/archive` as root, `~/.local/share/tidemark/archive` otherwise).
struct ArchiveOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Directory of the package archive's files (default: $TIDEMARK_ARCHIVE, else /var/lib/tidemark/archive as root, ~/.local/share/tidemark/archive otherwise).",
        valueName: "dir"))
    var archive: String?

    var path: String {
        if let archive { return archive }
        let env = ProcessInfo.processInfo.environment
        if let e = env["TIDEMARK_ARCHIVE"], !e.isEmpty { return e }
        return StoreOptions.dataPath("archive")
    }

    /// The archive on `store`'s database.
    func open(on store: SQLHistoryStore) -> PackageArchive {
        PackageArchive(directory: path, store: SQLArchiveStore(backend: store.backend))
    }
}
