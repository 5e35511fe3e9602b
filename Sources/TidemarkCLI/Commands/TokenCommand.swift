import ArgumentParser
import Foundation
import TidemarkCore
import TidemarkStore

extension TokenRole: ExpressibleByArgument {}

/// `tidemark token`: API tokens, managed on the database directly (which is how the first admin
/// token comes to exist; later ones can also be made through `POST /api/v1/tokens`).
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Create, list and revoke API tokens of `tidemark server`.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token and print it (only now: the database keeps only its SHA-256).",
            discussion: "reader: every read; admin: everything, including imports and tokens; --host NAME: an agent's token, which may only report that host.")

        @OptionGroup var store: StoreOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "reader, admin or host (host is implied by --host).") var role: TokenRole?
        @Option(help: "The one host this token may report (for an agent).") var host: String?
        @Option(help: "What the token is for (shown in token list).") var note: String?

        func validate() throws {
            switch (role, host) {
            case (nil, nil): throw ValidationError("give --role reader|admin, or --host NAME for an agent's token")
            case (.host?, nil): throw ValidationError("--role host needs --host NAME")
            case (.reader?, _?), (.admin?, _?): throw ValidationError("--host binds a token to a host: it goes with --role host only")
            default: break
            }
        }

        func run() async throws {
            try await reportingErrors {
                let issued = try await store.with { s in
                    try await SQLTokenStore(backend: s.backend).createToken(role: role ?? .host, host: host, note: note, now: Clock.now())
                }
                if output.json { return try Output.json(issued) }
                Output.line(issued.token)
                Output.warn("tidemark: token \(issued.id) (\(issued.role.rawValue)\(issued.host.map { " for host \($0)" } ?? "")) created; it is shown only now")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (never their secrets).")
        @OptionGroup var store: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await reportingErrors {
                let tokens = try await store.with { try await SQLTokenStore(backend: $0.backend).tokens() }
                if output.json { return try Output.json(tokens) }
                var t = Table("ID", "ROLE", "HOST", "CREATED", "REVOKED", "NOTE")
                for r in tokens { t.add("\(r.id)", r.role.rawValue, r.host ?? "-", r.createdAt.short, r.revokedAt?.short ?? "-", r.note ?? "") }
                t.print()
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token: the server refuses it from the next request on.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The token's id (from token list).") var id: Int64

        func run() async throws {
            try await reportingErrors {
                let r = try await store.with { try await SQLTokenStore(backend: $0.backend).revokeToken(id: id, now: Clock.now()) }
                if output.json { return try Output.json(r) }
                Output.line("token \(r.id) revoked at \(r.revokedAt?.iso8601 ?? "?")")
            }
        }
    }
}
