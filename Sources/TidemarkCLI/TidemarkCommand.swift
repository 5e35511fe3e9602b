import ArgumentParser

/// `tidemark`: which package binaries every host runs and ran, from the terminal.
public struct TidemarkCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "tidemark",
        abstract: "Fleet package history: what every host runs and ran, exactly.",
        subcommands: [
            SnapshotCommand.self, ImportCommand.self, HostsCommand.self, HistoryCommand.self, ShowCommand.self,
            DiffCommand.self, WhereCommand.self, DriftCommand.self, VercmpCommand.self, ServerCommand.self, AgentCommand.self, TokenCommand.self, ArchiveCommand.self, RollbackCommand.self, RolloutCommand.self, WaiveCommand.self, WaiverCommand.self, LabelCommand.self,
            SignalCommand.self, SuspectsCommand.self, BisectCommand.self, BenchCommand.self,
        ])
    public init() {}

    /// The process's arguments, as the commands parse them (`bisect start --flaky` may come
    /// without a value).
    public static func arguments() -> [String] {
        BisectCommand.normalize(Array(CommandLine.arguments.dropFirst()))
    }
}
