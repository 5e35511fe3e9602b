import TidemarkCLI

/// The `tidemark` executable: everything lives in the library targets; this only starts it.
@main
struct Tidemark {
    static func main() async {
        await TidemarkCommand.main(TidemarkCommand.arguments())
    }
}
