import ArgumentParser
import Foundation
import TidemarkArchive
import TidemarkCore
import TidemarkHosts
import TidemarkStore

/// `tidemark archive`: the package archive that makes going back always possible.
struct ArchiveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive",
        abstract: "Keep every package binary a recorded state needs (add, mirror, list, gc, pin).",
        discussion: """
            Files live under --archive DIR, named by their SHA-256; what they are lives in the --db \
            store. Every file is verified (its digests and header) before it is accepted. \
            `tidemark server` serves the archive as rpm-md repositories: /api/v1/repos/all/ and \
            /api/v1/repos/state/ID/ (exactly one recorded state).
            """,
        subcommands: [Add.self, Mirror.self, List.self, GC.self, Pin.self, Unpin.self, Pins.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Archive package files (a corrupt, truncated or mismatching file is refused).",
            discussion: "With --server, uploads them to that server's archive instead (admin or host token).")
        @OptionGroup var store: StoreOptions
        @OptionGroup var archive: ArchiveOptions
        @OptionGroup var remote: ServerOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The .rpm files.") var files: [String]

        struct Line: Codable {
            var path: String
            var outcome: String
            var file: ArchivedFile?
            var error: String?
        }

        func run() async throws {
            try await reportingErrors {
                var lines: [Line] = []
                func note(_ path: String, _ result: Result<(Bool, ArchivedFile), TidemarkError>) {
                    switch result {
                    case .success(let (new, f)): lines.append(Line(path: path, outcome: new ? "added" : "already-archived", file: f))
                    case .failure(let e): lines.append(Line(path: path, outcome: "refused", error: e.message))
                    }
                }
                if let client = try remote.client() {
                    for path in files {
                        do {
                            let bytes = try DurableFile.read(path)
                            let (new, f) = try await client.uploadPackage(bytes)
                            note(path, .success((new, f)))
                        } catch let e as TidemarkError {
                            // the server names the upload "body": say which file it was
                            note(path, .failure(e.message.hasPrefix(path) ? e : TidemarkError(e.code, "\(path): \(e.message)")))
                        } catch {
                            await client.shutdown()
                            throw error
                        }
                    }
                    await client.shutdown()
                } else {
                    try await store.with { s in
                        let a = archive.open(on: s)
                        for path in files {
                            do {
                                let o = try await a.add(path: path, origin: "add:" + absolute(path), now: Clock.now())
                                note(path, .success((o.isNew, o.file)))
                            } catch let e as TidemarkError { note(path, .failure(e)) }
                        }
                    }
                }
                if output.json { try Output.json(lines) } else {
                    for l in lines {
                        if let f = l.file {
                            Output.line("\(l.outcome == "added" ? "archived" : "already archived"): \(f.package.nevra) \(f.sha256)")
                        } else {
                            Output.warn("tidemark: refused \(l.error ?? l.path)")
                        }
                    }
                }
                let refused = lines.filter { $0.file == nil }.count
                if refused > 0 { throw TidemarkError(.invalidInput, "\(refused) of \(lines.count) file\(lines.count == 1 ? "" : "s") refused; nothing of them was archived") }
            }
        }
    }

    struct Mirror: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Archive every package of an rpm-md repository that the archive lacks.",
            discussion: "So a build is kept the moment it is published, before any host installs it. `tidemark server --mirror-interval` does this for every repository the fleet's hosts have configured.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var archive: ArchiveOptions
        @OptionGroup var output: OutputOptions
        @Option(help: ArgumentHelp("The repository: http(s)://…, file:/…, dir:/… or a path.", valueName: "url")) var repo: String

        func run() async throws {
            try await reportingErrors {
                let report = try await store.with { s in try await archive.open(on: s).mirror(repository: repo, now: Clock.now()) }
                if output.json { try Output.json(report) } else {
                    for f in report.added { Output.line("archived: \(f.package.nevra) \(f.sha256)") }
                    for f in report.failed { Output.warn("tidemark: \(f.href): \(f.error)") }
                    Output.line("\(report.repository): \(report.offered) packages offered, \(report.added.count) archived now, \(report.alreadyArchived) already archived\(report.skippedSource > 0 ? ", \(report.skippedSource) source packages skipped" : "")\(report.failed.isEmpty ? "" : ", \(report.failed.count) failed")")
                }
                if !report.failed.isEmpty { throw ExitCode(1) }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List archived files.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var archive: ArchiveOptions
        @OptionGroup var remote: ServerOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await reportingErrors {
                let files: [ArchivedFile]
                if let client = try remote.client() {
                    do { files = try await client.archivedFiles() } catch { await client.shutdown(); throw error }
                    await client.shutdown()
                } else {
                    files = try await store.with { s in try await archive.open(on: s).store.archivedFiles() }
                }
                if output.json { return try Output.json(files) }
                var t = Table("PACKAGE", "SHA256", "SIZE", "ADDED", "ORIGIN")
                for f in files.sorted(by: { ($0.fileName, $0.sha256) < ($1.fileName, $1.sha256) }) {
                    t.add(f.package.nevra, String(f.sha256.prefix(12)), "\(f.size)", f.addedAt.short, f.origin)
                }
                t.print()
            }
        }
    }

    struct GC: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gc",
            abstract: "Delete archived files that nothing needs any more.",
            discussion: "Keeps every file a pinned state needs, every file a state observed within the last --keep-days days needs (including the state each host was in when the window opened), and every file added within the window. Prints what it deletes and why each other file is kept.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var archive: ArchiveOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "The retention window, in days.") var keepDays: Int = 90
        @Flag(help: "Only print what would be deleted.") var dryRun = false

        func validate() throws { if keepDays < 0 { throw ValidationError("--keep-days must be 0 or more") } }

        struct Report: Codable {
            var dryRun: Bool
            var keepDays: Int
            var deleted: [ArchivedFile]
            var bytesDeleted: Int64
            var kept: [RetentionPlan.Kept]
            var unrecordedFilesRemoved: [String]
        }

        func run() async throws {
            try await reportingErrors {
                let now = Clock.now()
                let report = try await store.with { s in
                    let a = archive.open(on: s)
                    let plan = try await a.retentionPlan(history: s, keepDays: keepDays, now: now)
                    let orphans = try await a.unrecordedFiles(now: now)
                    if !dryRun {
                        try await a.delete(plan.delete)
                        for o in orphans { unlink(o) }
                    }
                    return Report(dryRun: dryRun, keepDays: keepDays, deleted: plan.delete, bytesDeleted: plan.bytesDeleted, kept: plan.keep, unrecordedFilesRemoved: orphans)
                }
                if output.json { return try Output.json(report) }
                let verb = dryRun ? "would delete" : "deleted"
                for f in report.deleted { Output.line("\(verb): \(f.package.nevra) \(f.sha256.prefix(12)) (\(f.size) bytes, added \(f.addedAt.short))") }
                for o in report.unrecordedFilesRemoved { Output.line("\(verb) unrecorded file: \(o)") }
                for k in report.kept { Output.line("kept: \(k.file.package.nevra) \(k.file.sha256.prefix(12)): \(k.reason)") }
                Output.line("\(report.deleted.count) file\(report.deleted.count == 1 ? "" : "s") (\(report.bytesDeleted) bytes) \(verb), \(report.kept.count) kept")
            }
        }
    }

    struct Pin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Keep every file a state needs, whatever the retention window.",
            discussion: "REF: HOST, HOST@TIME or state:ID (a prefix of at least 4 hex digits).")
        @OptionGroup var store: StoreOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The state to pin.") var ref: String
        @Option(help: "Why (shown by archive pins).") var note: String?

        func run() async throws {
            try await reportingErrors {
                let pin = try await store.with { s in
                    let r = try await StoreOptions.queries(s).resolve(ref, loadPackages: false)
                    let pin = ArchivePin(state: r.resolved.state, ref: ref, note: note, pinnedAt: Clock.now())
                    try await SQLArchiveStore(backend: s.backend).pin(pin)
                    return pin
                }
                if output.json { return try Output.json(pin) }
                Output.line("pinned state \(pin.state.short) (\(ref))")
            }
        }
    }

    struct Unpin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let gc apply the retention window to a pinned state again.")
        @OptionGroup var store: StoreOptions
        @Argument(help: "The pinned state (HOST@TIME or state:ID).") var ref: String

        func run() async throws {
            try await reportingErrors {
                let (state, removed) = try await store.with { s in
                    let r = try await StoreOptions.queries(s).resolve(ref, loadPackages: false)
                    return (r.resolved.state, try await SQLArchiveStore(backend: s.backend).unpin(r.resolved.state))
                }
                guard removed else { throw TidemarkError(.notFound, "state \(state.short) (\(ref)) is not pinned") }
                Output.line("unpinned state \(state.short)")
            }
        }
    }

    struct Pins: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List pinned states.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await reportingErrors {
                let pins = try await store.with { s in try await SQLArchiveStore(backend: s.backend).pins() }
                if output.json { return try Output.json(pins) }
                var t = Table("STATE", "REF", "PINNED", "NOTE")
                for p in pins { t.add(p.state.short, p.ref, p.pinnedAt.short, p.note ?? "") }
                t.print()
            }
        }
    }
}

func absolute(_ path: String) -> String {
    path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
}
