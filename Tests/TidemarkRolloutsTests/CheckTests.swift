import Foundation
import Testing
import TidemarkCore
import TidemarkRollouts
import TidemarkTestSupport

private let now = Timestamp(seconds: 1_737_453_600)

// MARK: - commands

@Suite struct CommandCheckTests {
    func run(_ command: String, timeout: Int = 30, environment: [String: String] = [:]) async -> CheckResult {
        await CommandCheckRunner().run(CommandCheck(command: command, timeout: timeout), name: "cmd", environment: environment, now: now)
    }

    @Test func exitZeroPasses() async {
        let r = await run("echo building; echo repo ok")
        #expect(r == CheckResult(check: "cmd", status: .passed, evidence: "exit 0: building | repo ok", at: now))
        #expect(await run("true").evidence == "exit 0 (no output)")
    }

    @Test func anotherExitFailsWithTheEndOfItsOutput() async {
        let r = await run("echo 'checking /srv/repo'; echo 'repomd.xml: No such file or directory' >&2; exit 3")
        #expect(r.status == .failed)
        #expect(r.evidence == "exit 3: checking /srv/repo | repomd.xml: No such file or directory")
        let missing = await run("no-such-command-tidemark")
        #expect(missing.status == .failed && missing.evidence.hasPrefix("exit 127: ") && missing.evidence.contains("not found"))
    }

    @Test func longOutputIsCutToItsLastLines() async {
        let r = await run("seq 1 100000; exit 1")
        #expect(r.status == .failed)
        #expect(r.evidence.hasPrefix("exit 1: ") && r.evidence.hasSuffix(" | 99999 | 100000"))
        #expect(r.evidence.count <= 420)
        let oneLine = await run("head -c 5000 /dev/zero | tr '\\0' x; exit 1")
        #expect(oneLine.evidence.hasPrefix("exit 1: …x") && oneLine.evidence.count <= 420)
    }

    @Test func terminalEscapesAreDropped() async {
        let r = await run("printf '\\033[31mred\\033[0m alert\\n'; exit 2")
        #expect(r.evidence == "exit 2: red alert")
    }

    @Test func aTimeoutFailsAndEndsTheWholeProcessGroup() async throws {
        let tmp = try TemporaryDirectory("check-timeout")
        defer { tmp.remove() }
        let pidFile = tmp.path("pid")
        let r = await run("sleep 30 & echo $! > \(pidFile); echo started; sleep 30", timeout: 1)
        #expect(r.status == .failed)
        #expect(r.evidence == "timed out after 1s: started")
        // the background sleep was in the command's process group: it is gone too
        let pid = try #require(Int32(String(decoding: try FileSystem.read(pidFile), as: UTF8.self).trimmed))
        var gone = false
        for _ in 0..<100 {
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            // vanished, or a zombie waiting for init to reap it
            if stat.isEmpty || stat.split(separator: ")").last?.trimmed.hasPrefix("Z") == true {
                gone = true
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(gone, "the command's background sleep (pid \(pid)) survived the timeout")
    }

    @Test func aCommandThatLeavesAProcessBehindStillFinishes() async {
        // `sleep 30 &` holds the output pipe open after the shell exits
        let r = await run("sleep 30 & echo done", timeout: 10)
        #expect(r == CheckResult(check: "cmd", status: .passed, evidence: "exit 0: done", at: now))
    }

    @Test func theEnvironmentIsPassed() async {
        let r = await run("test \"$TIDEMARK_CHECK_TEST\" = yes && echo \"$TIDEMARK_CHECK_TEST\"", environment: ["TIDEMARK_CHECK_TEST": "yes"])
        #expect(r.status == .passed && r.evidence == "exit 0: yes")
    }

    @Test func cancellingEndsTheCommandAsPending() async {
        // cancelled once the command has written its line (not after a fixed wait: a loaded machine may not have started it yet)
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("tidemark-check-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: marker) }
        let task = Task { await run("echo waiting; touch '\(marker)'; sleep 30", timeout: 60) }
        for _ in 0..<600 where !FileManager.default.fileExists(atPath: marker) { try? await Task.sleep(for: .milliseconds(50)) }
        task.cancel()
        let r = await task.value
        #expect(r.status == .pending)
        #expect(r.evidence == "cancelled before the command finished: waiting")
    }

    @Test func manyAtOnceDoNotBlockEachOther() async {
        // more concurrent one-second commands than the machine has cores: they overlap
        let results = await withTaskGroup(of: CheckResult.self) { group in
            for i in 0..<8 { group.addTask { await run("sleep 1; echo \(i)") } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 8 && results.allSatisfy { $0.status == .passed })
    }
}

// MARK: - HTTP

@Suite struct HTTPCheckTests {
    /// A real HTTP server on loopback serving a few JSON files.
    func withServer(_ body: (StaticHTTPServer, HTTPCheckRunner) async throws -> Void) async throws {
        let tmp = try TemporaryDirectory("http-check")
        defer { tmp.remove() }
        try FileSystem.write(#"{"status": "ok", "build": {"number": 12, "green": true}, "jobs": [{"result": "passed"}, {"result": "failed"}]}"#, to: tmp.path("ok.json"))
        try FileSystem.write(#"{"status": "starting"}"#, to: tmp.path("starting.json"))
        try FileSystem.write(#"{"status": "broken"}"#, to: tmp.path("broken.json"))
        try FileSystem.write(#"{"status": {"state": "ok"}, "ratio": 1.50, "none": null}"#, to: tmp.path("odd.json"))
        try FileSystem.write("<html>all good</html>", to: tmp.path("page.html"))
        let server = try StaticHTTPServer(serving: tmp.path)
        defer { server.stop() }
        try await HTTPCheckRunner.withClient { runner in try await body(server, runner) }
    }

    func check(_ runner: HTTPCheckRunner, _ url: String, status: Int = 200, path: String? = nil, expect: [String] = [], pending: [String] = [], timeout: Int = 10) async -> CheckResult {
        await runner.run(HTTPCheck(url: url, status: status, jsonPath: path, expect: expect, pending: pending, timeout: timeout), name: "web", now: now)
    }

    @Test func theValueAtTheJSONPathDecides() async throws {
        try await withServer { server, runner in
            let ok = await check(runner, server.url + "/ok.json", path: "$.status", expect: ["ok"], pending: ["starting"])
            #expect(ok == CheckResult(check: "web", status: .passed, evidence: "HTTP 200, $.status = 'ok'", at: now))
            let starting = await check(runner, server.url + "/starting.json", path: "$.status", expect: ["ok"], pending: ["starting"])
            #expect(starting.status == .pending)
            #expect(starting.evidence == "HTTP 200, $.status = 'starting': not yet (passes at 'ok')")
            let broken = await check(runner, server.url + "/broken.json", path: "$.status", expect: ["ok", "degraded"], pending: ["starting"])
            #expect(broken.status == .failed)
            #expect(broken.evidence == "HTTP 200, $.status = 'broken', expected 'ok' or 'degraded'; pending at 'starting'")
            // numbers as written, booleans, nested arrays
            #expect(await check(runner, server.url + "/ok.json", path: "$.build.number", expect: ["12"]).status == .passed)
            #expect(await check(runner, server.url + "/ok.json", path: "$['build']['green']", expect: ["true"]).status == .passed)
            #expect(await check(runner, server.url + "/ok.json", path: "$.jobs[1].result", expect: ["passed"]).evidence
                == "HTTP 200, $.jobs[1].result = 'failed', expected 'passed'")
            #expect(await check(runner, server.url + "/odd.json", path: "$.ratio", expect: ["1.5"]).status == .failed)
            #expect(await check(runner, server.url + "/odd.json", path: "$.ratio", expect: ["1.50"]).status == .passed)
            #expect(await check(runner, server.url + "/odd.json", path: "$.none", expect: ["null"]).status == .passed)
        }
    }

    @Test func whatSelectsNothingOrIsNotJSONFails() async throws {
        try await withServer { server, runner in
            let missing = await check(runner, server.url + "/ok.json", path: "$.state", expect: ["ok"])
            #expect(missing.status == .failed && missing.evidence == "HTTP 200, but $.state selects nothing: $ has no key 'state'")
            let index = await check(runner, server.url + "/ok.json", path: "$.jobs[5].result", expect: ["passed"])
            #expect(index.evidence == "HTTP 200, but $.jobs[5].result selects nothing: $.jobs has no index 5 (2 elements)")
            let object = await check(runner, server.url + "/odd.json", path: "$.status", expect: ["ok"])
            #expect(object.status == .failed && object.evidence == "HTTP 200, but $.status is an object, not a single value; expected 'ok'")
            var small = runner
            small.maxBody = 20
            let long = await small.run(HTTPCheck(url: server.url + "/ok.json", jsonPath: "$.status", expect: ["ok"]), name: "web", now: now)
            #expect(long.status == .failed && long.evidence == "HTTP 200, but the answer is longer than 20 bytes; json-path needs the whole document")
            let html = await check(runner, server.url + "/page.html", path: "$.status", expect: ["ok"])
            #expect(html.status == .failed && html.evidence.hasPrefix("HTTP 200, but the answer is not JSON (") && html.evidence.hasSuffix("): <html>all good</html>"))
        }
    }

    @Test func anyOtherStatusFails5xxIncluded() async throws {
        try await withServer { server, runner in
            let notFound = await check(runner, server.url + "/nothing-here.json", path: "$.status", expect: ["ok"])
            #expect(notFound.status == .failed && notFound.evidence.hasPrefix("HTTP 404, expected 200: "))
            let unavailable = await check(runner, server.url + "/status/503")
            #expect(unavailable == CheckResult(check: "web", status: .failed, evidence: "HTTP 503, expected 200: status 503", at: now))
            #expect(await check(runner, server.url + "/status/204").evidence == "HTTP 204, expected 200 (empty answer)")
            // the status alone, when that is what the check asks for
            #expect(await check(runner, server.url + "/page.html") == CheckResult(check: "web", status: .passed, evidence: "HTTP 200 from \(server.url)/page.html", at: now))
            #expect(await check(runner, server.url + "/status/418", status: 418).status == .passed)
        }
    }

    @Test func noAnswerIsPending() async throws {
        let port = try UnusedPort()
        let url = "http://127.0.0.1:\(port.port)/health"
        try await HTTPCheckRunner.withClient { runner in
            // AsyncHTTPClient retries a refused connection until the deadline, then reports it;
            // the runner's own timer may say so first: either way there was no answer
            let r = await check(runner, url, path: "$.status", expect: ["ok"], timeout: 2)
            #expect(r.status == .pending)
            #expect(["no answer from \(url): connection refused", "no answer from \(url): timed out after 2s"].contains(r.evidence), "\(r.evidence)")
        }
        withExtendedLifetime(port) {}
    }

    @Test func aSlowAnswerIsPendingAfterTheTimeout() async throws {
        try await withServer { server, runner in
            let r = await check(runner, server.url + "/sleep/30/ok.json", path: "$.status", expect: ["ok"], timeout: 1)
            #expect(r.status == .pending)
            #expect(r.evidence == "no answer from \(server.url)/sleep/30/ok.json: timed out after 1s")
        }
    }

    @Test func aNameThatDoesNotResolveIsPending() async throws {
        try await HTTPCheckRunner.withClient { runner in
            let r = await check(runner, "http://no-such-host.invalid/health", timeout: 2)
            #expect(r.status == .pending && r.evidence.hasPrefix("no answer from http://no-such-host.invalid/health: "))
        }
    }
}

// MARK: - JSONPath

@Suite struct JSONPathTests {
    @Test func parsesEveryForm() throws {
        #expect(try JSONPath("$").steps == [])
        #expect(try JSONPath("$.status").steps == [.key("status")])
        #expect(try JSONPath("$.builds[0].result").steps == [.key("builds"), .index(0), .key("result")])
        #expect(try JSONPath("$['a.b'].c").steps == [.key("a.b"), .key("c")])
        #expect(try JSONPath(#"$["x y"][12][0]"#).steps == [.key("x y"), .index(12), .index(0)])
        #expect(try JSONPath(#"$['it\'s']["say \"hi\""]['back\\slash']"#).steps == [.key("it's"), .key(#"say "hi""#), .key(#"back\slash"#)])
        #expect(try JSONPath(#"$['\u00e9\ud83d\ude00']"#).steps == [.key("é😀")])
        #expect(try JSONPath("$[ 'a' ][ 3 ]").steps == [.key("a"), .index(3)])
        #expect(try JSONPath("$.größe.build-id.x_1").steps == [.key("größe"), .key("build-id"), .key("x_1")])
        #expect(try JSONPath("$['a.b'][0].c").canonical == "$['a.b'][0].c")
        #expect(try JSONPath("$['plain']").canonical == "$.plain")
    }

    @Test(arguments: [
        ("", "'' at position 1: a path starts with '$' (the path is empty)"),
        ("status", "'status' at position 1: a path starts with '$', not 's'"),
        ("$.", "'$.' at position 3: expected a key after '.'"),
        ("$.a[", "'$.a[' at position 5: expected an index or a quoted key after '['"),
        ("$.a[x]", "'$.a[x]' at position 5: expected an index or a quoted key after '[', got 'x'"),
        ("$[-1]", "'$[-1]' at position 3: negative indices are not supported; count from the start"),
        ("$..a", "'$..a' at position 2: '..' (recursive descent) is not supported; name every step"),
        ("$.*", "'$.*' at position 3: wildcards are not supported; a path selects one value"),
        ("$[*]", "'$[*]' at position 3: wildcards are not supported; a path selects one value"),
        ("$['a", "'$['a' at position 3: unterminated '…' key"),
        ("$[01]", "'$[01]' at position 3: an index has no leading zeros"),
        ("$[0", "'$[0' at position 4: expected ']'"),
        ("$[0:2]", "'$[0:2]' at position 4: slices are not supported"),
        ("$[0,1]", "'$[0,1]' at position 4: unions are not supported; a path selects one value"),
        ("$.a b", "'$.a b' at position 4: unexpected ' '; expected '.key', '[N]' or ['key']"),
        ("$.a.'b'", "'$.a.'b'' at position 5: ''' cannot start a .key; write ['…'] for such keys"),
        ("$['a\\x']", "'$['a\\x']' at position 5: unknown escape '\\x'"),
        ("$[99999999999999999999999]", "'$[99999999999999999999999]' at position 3: index 99999999999999999999999 is too large"),
    ])
    func parseErrorsNameThePosition(_ text: String, _ message: String) {
        #expect(caughtError { _ = try JSONPath(text) }?.message == message)
    }

    static let document = try! JSONValue.parse(#"""
        {"status": "ok", "a.b": {"c": 1}, "n": -0.5e10, "t": true, "f": false, "z": null,
         "grid": [[1, 2], [3, {"deep": ["x", "y"]}]], "empty": [], "s": "text", "key with space": 7}
        """#)

    func value(_ path: String) throws -> Result<JSONValue, JSONPath.Miss> {
        try JSONPath(path).evaluate(Self.document)
    }

    @Test func selectsExactlyOneValue() throws {
        #expect(try value("$.status").get() == .string("ok"))
        #expect(try value("$['a.b'].c").get() == .number("1"))
        #expect(try value("$.n").get().scalarText == "-0.5e10")
        #expect(try value("$.t").get().scalarText == "true")
        #expect(try value("$.f").get().scalarText == "false")
        #expect(try value("$.z").get().scalarText == "null")
        #expect(try value("$.grid[1][1].deep[1]").get() == .string("y"))
        #expect(try value("$.grid[0][1]").get().scalarText == "2")
        #expect(try value("$['key with space']").get().scalarText == "7")
        #expect(try value("$.grid[0]").get().scalarText == nil)
        #expect(try value("$").get().kindName == "an object")
    }

    @Test func missesSayWhereTheyStopped() throws {
        func miss(_ path: String) throws -> String? {
            if case .failure(let m) = try value(path) { return m.description }
            return nil
        }
        #expect(try miss("$.state") == "$ has no key 'state'")
        #expect(try miss("$.a.b") == "$ has no key 'a'")  // a dotted key is not a path
        #expect(try miss("$['a.b'].d") == "$['a.b'] has no key 'd'")
        #expect(try miss("$.grid[2]") == "$.grid has no index 2 (2 elements)")
        #expect(try miss("$.empty[0]") == "$.empty has no index 0 (0 elements)")
        #expect(try miss("$.grid[1][1].deep[2]") == "$.grid[1][1].deep has no index 2 (2 elements)")
        #expect(try miss("$.status.x") == "$.status is a string, not an object (looking for key 'x')")
        #expect(try miss("$.grid.x") == "$.grid is an array, not an object (looking for key 'x')")
        #expect(try miss("$.status[0]") == "$.status is a string, not an array (looking for index 0)")
        #expect(try miss("$[0]") == "$ is an object, not an array (looking for index 0)")
        #expect(try miss("$.z.x") == "$.z is null, not an object (looking for key 'x')")
    }

    @Test func jsonDocumentsAreCheckedStrictly() throws {
        for bad in ["", "{", "[1,]", "{\"a\": 1} x", "01", "{'a': 1}", "[1 2]", "\"unterminated", "nul"] {
            #expect(caughtError { _ = try JSONValue.parse(bad) }?.code == .invalidInput, "\(bad)")
        }
        #expect(try JSONValue.parse(" [1, \"two\", {\"3\": [true]}] ") == .array([.number("1"), .string("two"), .object(["3": .array([.bool(true)])])]))
        #expect(try JSONValue.parse("\"\\u00e9\\n\"") == .string("é\n"))
        // a hostile depth is an error, not a crash
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(caughtError { _ = try JSONValue.parse(deep) }?.message.contains("nested more than") == true)
        let fine = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect((try? JSONValue.parse(fine)) != nil)
    }
}
