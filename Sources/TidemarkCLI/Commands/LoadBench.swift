import ArgumentParser
import Foundation
import Synchronization
import TidemarkClient
import TidemarkCore

extension BenchCommand {
    /// A load generator in its own process: many distinct hosts reporting to a running server.
    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Play many hosts against a running server: heartbeats/s, changed snapshots/s, p50/p99, errors.",
            discussion: """
                First every host sends its full state once (warm-up, not measured). Then, for half \
                the duration each, concurrent workers send heartbeats (state id only) and changed \
                full snapshots (one package of the host's ~N-package state bumped each time).
                """)
        @Option(help: "Server URL.") var server: String
        @Option(help: "File with an admin token.") var tokenFile: String
        @Option var hosts = 1000
        @Option var packages = 3000
        @Option(help: "Seconds of measured load (split between heartbeats and changed snapshots).") var duration = 60
        @Option(help: "Concurrent requests.") var concurrency = 32

        func run() async throws {
            let hosts = self.hosts, packages = self.packages, concurrency = self.concurrency
            let token = try readInput(tokenFile).trimmed
            // One connection per concurrent request, as that many agents would have.
            let client = try TidemarkClient(baseURL: server, token: token, connections: concurrency)
            // In state order once, so that a host's state (one package replaced by a newer build
            // of the same name, which keeps its place) needs no sorting: the generator shares the
            // machine with the server and should cost it as little as a real host would.
            let base = PackageState((0..<packages).map { i in
                Package(format: .rpm, name: "load-pkg-\(i)", evr: EVR(version: "1.0", release: "1"), arch: "x86_64",
                        digest: String(repeating: "ab", count: 16), vendor: "openSUSE", source: "load-pkg-\(i)-1.0-1.src.rpm")
            }).packages
            let names = (0..<hosts).map { "load-host-\($0)" }
            let start = Int64(Date().timeIntervalSince1970) - 86400 * 30
            let clock = Shared(start)
            @Sendable func tick() -> Timestamp { clock.value.withLock { $0 += 1; return Timestamp(seconds: $0) } }
            @Sendable func state(host: Int, round: Int) -> PackageState {
                var ps = base
                let i = host % packages
                ps[i] = Package(format: .rpm, name: base[i].name, evr: EVR(version: "1.\(round)", release: "\(host)"), arch: "x86_64")
                return PackageState(ps)
            }
            let current = Shared([StateID?](repeating: nil, count: hosts))
            let rounds = Shared([Int](repeating: 0, count: hosts))

            // warm-up: every host known with a full state
            let warmup = ContinuousClock.now
            Output.warn("load: warm-up: \(hosts) full states")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for w in 0..<concurrency {
                    group.addTask {
                        for h in stride(from: w, to: hosts, by: concurrency) {
                            let s = state(host: h, round: 0)
                            _ = try await client.post(ObservationPayload(Observation(host: names[h], at: tick(), state: s, source: .agent), full: true))
                            current.value.withLock { $0[h] = s.id }
                        }
                    }
                }
                try await group.waitForAll()
            }

            func phase(_ seconds: Double, changed: Bool) async -> (count: Int, errors: Int, latencies: [Double], elapsed: Double) {
                let latencies = Shared([Double]()), errors = Shared(0)
                let t0 = ContinuousClock.now
                let deadline = t0 + .milliseconds(Int64(seconds * 1000))
                await withTaskGroup(of: Void.self) { group in
                    for w in 0..<concurrency {
                        group.addTask {
                            var h = w
                            while ContinuousClock.now < deadline {
                                h = (h + concurrency) % hosts
                                let payload: ObservationPayload
                                if changed {
                                    let r = rounds.value.withLock { $0[h] += 1; return $0[h] }
                                    let s = state(host: h, round: r)
                                    payload = ObservationPayload(Observation(host: names[h], at: tick(), state: s, source: .agent), full: true)
                                } else {
                                    let id = current.value.withLock { $0[h] }!
                                    var p = ObservationPayload(Observation(host: names[h], at: tick(), state: .empty, source: .agent), full: false)
                                    p.state = id
                                    payload = p
                                }
                                let t = ContinuousClock.now
                                do {
                                    let outcome = try await client.post(payload)
                                    let ms = Double((ContinuousClock.now - t).components.attoseconds) / 1e15 + Double((ContinuousClock.now - t).components.seconds) * 1000
                                    if outcome == .unknownState { errors.value.withLock { $0 += 1 } } else { latencies.value.withLock { $0.append(ms) } }
                                    if changed { current.value.withLock { $0[h] = payload.state } }
                                } catch {
                                    errors.value.withLock { $0 += 1 }
                                }
                            }
                        }
                    }
                }
                let elapsed = ContinuousClock.now - t0
                let l = latencies.value.withLock { $0 }
                return (l.count, errors.value.withLock { $0 }, l, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
            }
            func pct(_ xs: [Double], _ p: Double) -> String {
                guard !xs.isEmpty else { return "-" }
                let s = xs.sorted()
                return String(format: "%.1f ms", s[min(s.count - 1, Int(Double(s.count) * p))])
            }
            let half = Double(duration) / 2
            Output.warn("load: warm-up took \(ContinuousClock.now - warmup); heartbeats for \(half) s")
            let beats = await phase(half, changed: false)
            Output.warn("load: changed snapshots for \(half) s")
            let snaps = await phase(half, changed: true)
            await client.shutdown()
            Output.line("load: \(hosts) hosts, \(packages) packages each, \(concurrency) concurrent requests, \(server)")
            Output.line(String(format: "heartbeats:        %.0f/s  (%d in %.1f s)  p50 %@  p99 %@  errors %d", Double(beats.count) / beats.elapsed, beats.count, beats.elapsed, pct(beats.latencies, 0.5), pct(beats.latencies, 0.99), beats.errors))
            Output.line(String(format: "changed snapshots: %.0f/s  (%d in %.1f s)  p50 %@  p99 %@  errors %d", Double(snaps.count) / snaps.elapsed, snaps.count, snaps.elapsed, pct(snaps.latencies, 0.5), pct(snaps.latencies, 0.99), snaps.errors))
        }
    }
}

/// A mutex-guarded value that escaping concurrent closures can share.
final class Shared<T: Sendable>: Sendable {
    let value: Mutex<T>
    init(_ v: T) { value = Mutex(v) }
}
