import ArgumentParser
import Foundation
import TidemarkCore
import TidemarkHosts
import TidemarkStore

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Record hosts without an agent: rpm -qa lists and salt pkg.list_pkgs output.",
        subcommands: [RPMQA.self, Salt.self])

    struct RPMQA: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rpm-qa",
            abstract: "Import a plain `rpm -qa` list (such as openQA's worker_packages.txt) as one observation.")

        @OptionGroup var store: StoreOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The list, one NEVRA per line ('-' for standard input).") var file: String
        @Option(help: "Host the list belongs to.") var host: String
        @Option(parsing: .unconditional, help: "When the list was taken (ISO 8601 or -2h).") var at: TimeSpec

        func run() async throws {
            try await reportingErrors {
                try Observation.validateHostName(host)
                let packages = try RPMQAList.parse(try readInput(file), file: file == "-" ? "stdin" : file)
                let o = Observation(
                    host: host, at: at.resolve(now: Clock.now()), state: PackageState(packages.map(\.package)),
                    source: .importRPMQA, repositories: nil)
                let outcome = try await store.with { try await $0.record([o]) }[0]
                let result = ImportResult(o, outcome: outcome)
                if output.json { return try Output.json([result]) }
                Output.line(result.line)
            }
        }
    }

    struct Salt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "salt",
            abstract: "Import `salt --out=json '*' pkg.list_pkgs` output: one observation per minion.",
            discussion: """
                Accepts the plain form, versions_as_list=True and attr=version,release,arch,epoch, \
                and several JSON documents one after another (salt prints one per minion). A minion \
                that answered with an error instead of packages is reported and skipped; all other \
                minions are recorded in one transaction.
                """)

        @OptionGroup var store: StoreOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "salt's JSON output ('-' for standard input).") var file: String
        @Option(parsing: .unconditional, help: "When salt ran (default: now).") var at: TimeSpec?
        @Option(help: "Version scheme of the minions' packages: rpm or deb.") var format: PackageFormat = .rpm

        func run() async throws {
            try await reportingErrors {
                let when = at?.resolve(now: Clock.now()) ?? Clock.now()
                let parsed = try SaltPackages.parse(try readInput(file), file: file == "-" ? "stdin" : file, format: format)
                for issue in parsed.issues { Output.warn("tidemark: \(issue)") }
                let observations = try parsed.minions.map { m throws(TidemarkError) -> Observation in
                    try Observation.validateHostName(m.minion)
                    return Observation(host: m.minion, at: when, state: PackageState(m.packages.map(\.package)), source: .importSalt, repositories: nil)
                }
                let outcomes = try await store.with { try await $0.record(observations) }
                let results = zip(observations, outcomes).map {
                    ImportResult($0, outcome: $1)
                }
                if output.json { return try Output.json(results) }
                for r in results { Output.line(r.line) }
                if results.isEmpty { Output.line("no minion returned packages") }
            }
        }
    }
}
