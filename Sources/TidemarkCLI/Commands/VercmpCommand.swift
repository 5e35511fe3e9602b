import ArgumentParser
import Foundation
import TidemarkCore

struct VercmpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vercmp",
        abstract: "Compare two versions exactly as rpm or dpkg orders them; prints -1, 0 or 1.",
        discussion: """
            With no versions, reads one pair per line ("A B") from standard input and prints one \
            answer per line, so thousands of pairs are checked in one process. Versions are \
            [EPOCH:]VERSION[-RELEASE] (rpm) or [EPOCH:]UPSTREAM[-REVISION] (deb).
            """)

    @Option(help: "Version order: rpm (rpmvercmp) or deb (dpkg --compare-versions).")
    var scheme: PackageFormat = .rpm

    @Argument(help: "First version.") var a: String?
    @Argument(help: "Second version.") var b: String?

    func compare(_ x: String, _ y: String) -> Int {
        switch scheme {
        case .rpm: return RPMVersion.compareEVRStrings(x, y)
        case .deb: return DebianVersion.compare(x, y)
        }
    }

    func run() async throws {
        try await reportingErrors {
            switch (a, b) {
            case let (x?, y?):
                Output.line(String(compare(x, y)))
            case (nil, nil):
                var out = ""
                var lineNumber = 0
                while let line = readLine() {
                    lineNumber += 1
                    let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                    if fields.isEmpty { continue }
                    guard fields.count == 2 else {
                        throw TidemarkError(.invalidInput, "stdin:\(lineNumber): expected two versions separated by a space, got '\(line)'")
                    }
                    out += String(compare(String(fields[0]), String(fields[1]))) + "\n"
                    if out.utf8.count > 1 << 16 {
                        Output.write(Array(out.utf8))
                        out = ""
                    }
                }
                Output.write(Array(out.utf8))
            default:
                throw TidemarkError(.invalidArgument, "give two versions, or none to read pairs from standard input")
            }
        }
    }
}
