import Foundation
import Testing
import TidemarkHosts
import TidemarkTestSupport

/// `tidemark vercmp` answers as rpm and dpkg do, one pair or thousands from stdin.
@Suite struct VercmpCommandTests {
    @Test func singlePairsAndBatchesAgreeWithTheRealTools() throws {
        let dir = try TemporaryDirectory("cli-vercmp")
        let tidemark = try TidemarkExecutable(db: dir.path("unused.sqlite"))
        #expect(try tidemark.run(["vercmp", "1.0~rc1", "1.0"], withDB: false).stdoutText == "-1\n")
        #expect(try tidemark.run(["vercmp", "--scheme", "deb", "1:1.0", "2.0"], withDB: false).stdoutText == "1\n")
        let pairs = [("1.0^git1", "1.0"), ("2:1", "1:9"), ("1.01", "1.1"), ("1.0a", "1.0.1"), ("5.2.37-1.1", "5.2.37-1.2")]
        let out = try tidemark.run(["vercmp"], stdin: pairs.map { "\($0.0) \($0.1)" }.joined(separator: "\n"), withDB: false)
        var expected: [String] = []
        for (a, b) in pairs {
            let r = try Subprocess.check("rpm", ["--eval", "%{lua: print(rpm.vercmp(\"\(a)\", \"\(b)\"))}"])
            expected.append(r.stdoutText.trimmed)
        }
        #expect(out.stdoutText.split(separator: "\n").map(String.init) == expected)
        let bad = try tidemark.run(["vercmp"], stdin: "1.0\n", withDB: false)
        #expect(bad.status != 0 && bad.stderrText.contains("stdin:1"))
    }
}
