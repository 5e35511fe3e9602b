import Foundation
import Testing
import TidemarkAgent
import TidemarkClient
import TidemarkCore
import TidemarkTestSupport

/// The spool is the agent's promise that nothing is lost: entries are durable, ordered, and stay
/// until acknowledged. (The end-to-end agent/server tests run the real server; here the server is
/// a closed loopback port, which is a real "cannot connect", not a stand-in.)
@Suite struct SpoolTests {
    func observation(_ t: Int64, _ versions: [String]) -> Observation {
        let ps = versions.enumerated().map { Package(format: .rpm, name: "p\($0.offset)", evr: EVR(version: $0.element, release: "1"), arch: "noarch") }
        return Observation(host: "w1", at: Timestamp(seconds: t), state: PackageState(ps), source: .agent)
    }

    @Test func entriesAreOrderedDurableAndHeartbeatsKeepTheirState() throws {
        let dir = try TemporaryDirectory("spool")
        defer { dir.remove() }
        let spool = try Spool(directory: dir.path("spool"))
        let a = observation(100, ["1", "1"]), b = observation(200, ["1", "2"])
        try spool.enqueue(a, heartbeat: false)
        try spool.enqueue(b, heartbeat: false)
        try spool.enqueue(observation(300, ["1", "2"]), heartbeat: true)
        let pending = try spool.pending()
        #expect(pending == ["000000000001.json", "000000000002.json", "000000000003.json"])
        #expect(try spool.read(pending[0]).packages?.count == 2)
        let beat = try spool.read(pending[2])
        #expect(beat.isHeartbeat && beat.state == b.state.id)
        let full = try #require(try spool.fullPayload(for: beat))
        let fullObservation = try full.observation()
        #expect(full.at == Timestamp(seconds: 300) && fullObservation?.state == b.state)
        // a new Spool on the same directory (a restarted agent) sees the same queue
        let again = try Spool(directory: dir.path("spool"))
        #expect(try again.pending() == pending)
        try again.remove(pending[0])
        try again.enqueue(observation(400, ["2", "2"]), heartbeat: false)
        #expect(try again.pending() == ["000000000002.json", "000000000003.json", "000000000004.json"])
        #expect(!FileManager.default.fileExists(atPath: dir.path("spool/queue/000000000004.json.tmp")))
    }

    @Test func anUnreachableServerLeavesEverythingQueued() async throws {
        let dir = try TemporaryDirectory("spool-down")
        defer { dir.remove() }
        // a port nobody listens on: bind one, note it, close it
        let client = try TidemarkClient(baseURL: "http://127.0.0.1:\(try ServerProcess.freePort())", token: "t")
        let spool = try Spool(directory: dir.path("spool"))
        try spool.enqueue(observation(100, ["1"]), heartbeat: false)
        let agent = Agent(configuration: .init(root: "/nonexistent", host: "w1", spool: dir.path("spool"), interval: .seconds(60)), client: client)
        await #expect(throws: TidemarkError.self) { _ = try await agent.deliver(spool) }
        #expect(try spool.pending().count == 1)
        await client.shutdown()
        #expect(Agent.backoff(failures: 3, max: .seconds(60)) <= .seconds(8))
        #expect(Agent.backoff(failures: 30, max: .seconds(60)) <= .seconds(60))
    }
}
