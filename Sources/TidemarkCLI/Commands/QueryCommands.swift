import ArgumentParser
import Foundation
import TidemarkCore
import TidemarkStore

struct HostsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hosts", abstract: "List hosts with their latest observation, package count and state.")
    @OptionGroup var source: SourceOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await reportingErrors {
            let hosts = try await source.with { try await $0.hosts() }
            if output.json { return try Output.json(hosts) }
            var t = Table("HOST", "FORMAT", "LAST SEEN", "OBSERVATIONS", "PACKAGES", "STATE")
            for h in hosts {
                t.add(h.host, h.format?.rawValue ?? "-", h.lastSeen.short, String(h.observations), String(h.packages), h.state.short)
            }
            t.print()
        }
    }
}

struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "Every change of a host's state, with the package changes.")
    @OptionGroup var source: SourceOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "Host name.") var host: String
    @Option(parsing: .unconditional, help: "Only changes at or after this time.") var since: TimeSpec?
    @Option(parsing: .unconditional, help: "Only changes at or before this time.") var until: TimeSpec?

    func run() async throws {
        try await reportingErrors {
            let h = try await source.with { try await $0.history(host: host, since: since, until: until) }
            if output.json { return try Output.json(h) }
            if h.entries.isEmpty { Output.line("no changes of \(host) in that period") }
            for e in h.entries {
                let seen = e.observations > 1 ? ", seen \(e.observations) times" : ""
                Output.line("\(e.at.short)  state \(e.state.short)  \(e.packages) packages  (\(e.source.rawValue)\(seen))")
                if e.changes.isEmpty && e == h.entries.first { Output.line("  first observation") }
                for line in renderChanges(e.changes, indent: "  ") { Output.line(line) }
            }
        }
    }
}

extension HistoryEntry: Equatable {
    public static func == (a: HistoryEntry, b: HistoryEntry) -> Bool { a.at == b.at && a.state == b.state }
}

struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "The packages of a state.",
        discussion: "REF is HOST, HOST@TIME (2025-01-21, 2025-01-21T10:00:00Z, -2h, -3d), state:ID-PREFIX or file:PATH (an rpm -qa list).")
    @OptionGroup var source: SourceOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The state to show.") var ref: String

    func run() async throws {
        try await reportingErrors {
            let r = try await source.with { try await $0.show(ref) }
            if output.json { return try Output.json(r) }
            let where_ = [r.state.host, r.state.at.map(\.short)].compactMap { $0 }.joined(separator: " at ")
            Output.line("state \(r.state.state.hex)\(where_.isEmpty ? "" : " (\(where_))"), \(r.packages.count) packages")
            var t = Table("NAME", "VERSION", "ARCH", "VENDOR", "INSTALLED", "DIGEST")
            for p in r.packages {
                t.add(p.name, p.evr, p.arch, p.vendor ?? p.status ?? "", p.installTime?.short ?? "", p.digest.map { String($0.prefix(12)) } ?? "")
            }
            t.print()
            if let repos = r.repositories, !repos.isEmpty {
                Output.line("")
                var rt = Table("REPOSITORY", "ENABLED", "PRIORITY", "KEEP", "URL")
                for repo in repos {
                    rt.add(repo.alias, repo.enabled ? "yes" : "no", repo.priority.map(String.init) ?? "", repo.keepPackages.map { $0 ? "yes" : "no" } ?? "", repo.url)
                }
                rt.print()
            }
        }
    }
}

struct DiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff", abstract: "What changed between two states, grouped by source package.",
        discussion: "Kinds: added, removed, upgraded, downgraded, changed (same version, different binary).")
    @OptionGroup var source: SourceOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The older state (REF).") var from: String
    @Argument(help: "The newer state (REF).") var to: String
    @Flag(help: "Include the changelog entries between the two versions.") var changelog = false

    func run() async throws {
        try await reportingErrors {
            let d = try await source.with { try await $0.diff(from, to, changelog: changelog) }
            if output.json { return try Output.json(d) }
            Output.line("from \(describe(d.from))")
            Output.line("to   \(describe(d.to))")
            if d.changes.isEmpty { Output.line("no differences") }
            for line in renderChanges(d.changes, changelog: changelog) { Output.line(line) }
        }
    }

    func describe(_ r: ResolvedState) -> String {
        var s = "\(r.ref): state \(r.state.short), \(r.packages) packages"
        if let at = r.at { s += ", observed \(at.short)" }
        return s
    }
}

struct WhereCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "where", abstract: "Which host had which version of a package at a moment.")
    @OptionGroup var source: SourceOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "Package name.") var name: String
    @Option(parsing: .unconditional, help: "The moment (default: now).") var at: TimeSpec?

    func run() async throws {
        try await reportingErrors {
            let w = try await source.with { try await $0.whereIs(name, at: at) }
            if output.json { return try Output.json(w) }
            Output.line("\(w.name) at \(w.at.short)")
            var t = Table("VERSION", "ARCH", "HOSTS", "")
            for v in w.versions { t.add(v.evr, v.arch, String(v.hosts.count), v.hosts.joined(separator: " ")) }
            if !w.absent.isEmpty { t.add("(absent)", "", String(w.absent.count), w.absent.joined(separator: " ")) }
            t.print()
        }
    }
}

struct DriftCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drift", abstract: "Per host, the packages that differ from the fleet's most common version (or from REF).")
    @OptionGroup var source: SourceOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "Compare against this state instead of the fleet's most common versions.") var against: String?
    @Option(parsing: .unconditional, help: "As of this time (default: now).") var at: TimeSpec?

    func run() async throws {
        try await reportingErrors {
            let d = try await source.with { try await $0.drift(against: against, at: at) }
            if output.json { return try Output.json(d) }
            Output.line("baseline: \(d.baseline)")
            var t = Table("HOST", "PACKAGE", "HAS", "BASELINE")
            for h in d.hosts {
                if h.differences.isEmpty { t.add(h.host, "(no drift)", "", "") }
                for i in h.differences { t.add(h.host, "\(i.name).\(i.arch)", i.evr ?? "-", i.expected ?? "-") }
            }
            t.print()
        }
    }
}
