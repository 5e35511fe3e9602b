import ArgumentParser
import Foundation
import Synchronization
import TidemarkCore
import TidemarkHosts
import TidemarkRepo

extension BenchCommand {
    /// A load generator in its own process: many distinct hosts reporting to a running server.
    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Play many hosts against a running server: heartbeats/s, changed snapshots/s, p50/p99, errors.",
            discussion: """
                First every host sends its full state once (warm-up, not measured). Then, for half \
                the duration each, concurrent workers send heartbeats (state id only) and changed \
                snapshots (one package of the host's ~N-package state bumped each time), as the \
                agent sends them (what changed since the host's last state) or, with \
                --full-snapshots, whole.
                """)
        @Option(help: "Server URL.") var server: String
        @Option(help: "File with an admin token.") var tokenFile: String
        @Option var hosts = 1000
        @Option var packages = 3000
        @Option(help: "Seconds of measured load (split between heartbeats and changed snapshots).") var duration = 60
        @Option(help: "Workers of the warm-up and the closed loop, each sending its next report once the last is answered (so at most this many requests at once).") var concurrency = 32
        @Option(help: ArgumentHelp(
            "Keep-alive connections to the server (default: one per host, at most 256).",
            discussion: "A fleet's agents each have their own connection, so in open loop a report is sent when it is due. Fewer connections than reports in flight would queue reports in the generator and cap how many the server sees at once, which a fleet does not do."))
        var connections: Int?
        @Option(help: "Heartbeats per second to offer (open loop, latency at that load); 0: as many as the server takes (closed loop, throughput).")
        var heartbeatRate: Double = 0
        @Option(help: "Changed snapshots per second to offer (open loop); 0: closed loop.")
        var snapshotRate: Double = 0
        @Flag(help: "Send changed snapshots whole (all packages) instead of as what changed since the host's last state, as the agent does.")
        var fullSnapshots = false
        @Option(help: ArgumentHelp("A shell command run after the warm-up, before anything is measured.", discussion: "scripts/bench-load.sh gives PostgreSQL's VACUUM ANALYZE here: after the warm-up's bulk load of 3,000,000 rows autovacuum would otherwise do it within the next minute, in the middle of the measured load, which a server in steady state does not see.", valueName: "command"))
        var afterWarmUp: String?
        @Flag(help: "Also print each measured second: answers, p99 and the slowest (where a tail comes from: a stall or a steady spread).")
        var timeline = false
        @Option(help: ArgumentHelp(
            "Also measure the disk under DIR (the store's filesystem): an fdatasync every 10 ms, reported beside the latencies.",
            discussion: "A durable store answers after its commit reached the disk, so a stall of the disk delays every answer in flight, on any store. The probe, run in the same seconds, tells such a stall from one of the server.",
            valueName: "dir"))
        var diskProbe: String?

        func run() async throws {
            let hosts = self.hosts, packages = self.packages, concurrency = self.concurrency
            let connections = max(self.connections ?? min(hosts, 256), 1)
            let token = try readInput(tokenFile).trimmed
            // Connections as a fleet's agents have them: enough that a due report never waits for one.
            let client = try await LoadConnections(server: server, token: token, count: connections)
            // The generator shares the machine with the server, so it should cost it as little as
            // real hosts would (each encodes its own state on its own CPU): every package is
            // encoded once, in state order; a host's state replaces one package by a newer build
            // of the same name (which keeps its place), so a body is a splice of encoded packages
            // and its id the content address of the identity lines (OpenSSL's SHA-256).
            @Sendable func make(_ name: String, version: String, release: String) -> Package {
                Package(format: .rpm, name: name, evr: EVR(version: version, release: release), arch: "x86_64",
                        digest: String(repeating: "ab", count: 16), vendor: "openSUSE", source: "\(name)-1.0-1.src.rpm")
            }
            let base = PackageState((0..<packages).map { make("load-pkg-\($0)", version: "1.0", release: "1") }).packages
            let encoded = base.map { ObservationPayload.WirePackage(InstalledPackage($0, installTime: nil)).json() }
            // Per run: a second run against the same store plays other hosts, never re-reporting old times.
            let run = ProcessInfo.processInfo.processIdentifier
            let names = (0..<hosts).map { "load-\(run)-host-\($0)" }
            let start = Int64(Date().timeIntervalSince1970) - 86400 * 30
            let clock = Shared(start)
            @Sendable func tick() -> Timestamp { clock.value.withLock { $0 += 1; return Timestamp(seconds: $0) } }
            /// Host `host`'s state in round `round`: its id and its body.
            @Sendable func state(host: Int, round: Int) -> (id: StateID, body: (Timestamp) -> [UInt8]) {
                let i = host % packages
                let changed = make(base[i].name, version: "1.\(round)", release: "\(host)")
                let id = PackageState.contentAddress(
                    identityKeys: base.indices.lazy.map { $0 == i ? changed.identityKey : base[$0].identityKey }, sha256: bulkSHA256)
                return (id, { at in
                    var packagesJSON = encoded
                    packagesJSON[i] = ObservationPayload.WirePackage(InstalledPackage(changed, installTime: nil)).json()
                    return ObservationPayload.json(host: names[host], at: at, source: .agent, state: id, encodedPackages: packagesJSON)
                })
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
                            let (status, answer) = try await client.post(observation: s.body(tick()))
                            guard status == 201 else { throw TidemarkError(.conflict, "warm-up: \(status) \(answer)") }
                            current.value.withLock { $0[h] = s.id }
                        }
                    }
                }
                try await group.waitForAll()
            }

            if let afterWarmUp {
                Output.warn("load: after the warm-up: \(afterWarmUp)")
                try Subprocess.check("/bin/sh", ["-c", afterWarmUp])
            }

            /// Each answer: seconds into its phase, and its latency in milliseconds.
            let phaseStart = Shared(ContinuousClock.now), answers = Shared([(at: Double, ms: Double)]())
            let errors = Shared(0), firstError = Shared<String?>(nil)
            /// One report of host `h`; its latency counts from `since` (the scheduled send time
            /// in open loop, so a slow server cannot hide its backlog: no coordinated omission).
            @Sendable func report(_ h: Int, changed: Bool, since: ContinuousClock.Instant? = nil) async {
                let body: [UInt8], id: StateID
                if changed {
                    let r = rounds.value.withLock { $0[h] += 1; return $0[h] }
                    let s = state(host: h, round: r)
                    id = s.id
                    if fullSnapshots {
                        body = s.body(tick())
                    } else {
                        // what the agent sends: the one package that changed since its last state
                        let i = h % packages
                        var p = ObservationPayload(Observation(host: names[h], at: tick(), state: .empty, source: .agent), full: false)
                        p.state = id
                        // (each host is one worker's: its last state is the one acknowledged)
                        p.base = current.value.withLock { $0[h] }
                        p.added = [ObservationPayload.WirePackage(InstalledPackage(make(base[i].name, version: "1.\(r)", release: "\(h)"), installTime: nil))]
                        p.removed = [make(base[i].name, version: "1.\(r - 1)", release: "\(h)").identityKey]
                        body = p.json()
                    }
                } else {
                    id = current.value.withLock { $0[h] }!
                    var p = ObservationPayload(Observation(host: names[h], at: tick(), state: .empty, source: .agent), full: false)
                    p.state = id
                    body = p.json()
                }
                let t = since ?? ContinuousClock.now
                do {
                    let (status, answer) = try await client.post(observation: body)
                    if status != 201 {
                        errors.value.withLock { $0 += 1 }
                        firstError.value.withLock { $0 = $0 ?? "\(status) \(answer)" }
                    } else {
                        let now = ContinuousClock.now, start = phaseStart.value.withLock { $0 }
                        answers.value.withLock { $0.append((inSeconds(now - start), inMilliseconds(now - t))) }
                    }
                    if changed { current.value.withLock { $0[h] = id } }
                } catch {
                    errors.value.withLock { $0 += 1 }
                    firstError.value.withLock { $0 = $0 ?? "\(error)" }
                }
            }
            func phase(_ seconds: Double, changed: Bool, rate: Double) async -> (count: Int, errors: Int, latencies: [Double], elapsed: Double, start: ContinuousClock.Instant) {
                answers.value.withLock { $0 = [] }
                phaseStart.value.withLock { $0 = ContinuousClock.now }
                errors.value.withLock { $0 = 0 }
                let t0 = ContinuousClock.now, wallStart = Date()
                let deadline = t0 + .milliseconds(Int64(seconds * 1000))
                await withTaskGroup(of: Void.self) { group in
                    if rate > 0 {
                        // Open loop: report k is due at t0 + k/rate whether or not earlier ones are
                        // answered. Every 2 ms the generator sends what has fallen due (one timer per
                        // request would cost it more than the server's work).
                        var k = 0
                        let total = Int(seconds * rate)
                        while k < total {
                            let elapsed = inSeconds(ContinuousClock.now - t0)
                            while k < min(total, Int(elapsed * rate) + 1) {
                                let due = t0 + .nanoseconds(Int64(Double(k) / rate * 1e9)), h = k % hosts
                                group.addTask { await report(h, changed: changed, since: due) }
                                k += 1
                            }
                            try? await Task.sleep(for: .milliseconds(2))
                        }
                        return
                    }
                    for w in 0..<min(concurrency, hosts) {
                        group.addTask {
                            // each worker its own hosts (w, w + c, …): one host never reports twice at once, as with one agent per host
                            var h = w
                            while ContinuousClock.now < deadline {
                                await report(h, changed: changed)
                                h += concurrency
                                if h >= hosts { h = w }
                            }
                        }
                    }
                }
                let all = answers.value.withLock { $0 }
                let l = all.map(\.ms)
                if timeline {
                    var bySecond: [Int: [Double]] = [:]
                    for a in all { bySecond[Int(a.at), default: []].append(a.ms) }
                    var diskBySecond: [Int: Double] = [:]
                    for d in probe?.samples(from: t0, to: .now) ?? [] {
                        let second = Int(inSeconds(d.at - t0))
                        diskBySecond[second] = max(diskBySecond[second] ?? 0, d.milliseconds)
                    }
                    for second in bySecond.keys.sorted() {
                        let xs = bySecond[second]!.sorted()
                        let disk = diskBySecond[second].map { String(format: ", disk's slowest fdatasync %.1f ms", $0) } ?? ""
                        let clock = Timestamp(seconds: Int64(wallStart.timeIntervalSince1970) + Int64(second)).iso8601
                        Output.warn(String(format: "load: %@ second %d (%@): %d answered, p99 %.1f ms, slowest %.1f ms", changed ? "snapshots" : "heartbeats", second, clock, xs.count, xs[min(xs.count - 1, Int(Double(xs.count) * 0.99))], xs.last!) + disk)
                    }
                }
                return (l.count, errors.value.withLock { $0 }, l, inSeconds(ContinuousClock.now - t0), t0)
            }
            func pct(_ xs: [Double], _ p: Double) -> String {
                guard !xs.isEmpty else { return "-" }
                let s = xs.sorted()
                return String(format: "%.1f ms", s[min(s.count - 1, Int(Double(s.count) * p))])
            }
            let probe = try diskProbe.map { try DiskProbe(directory: $0) }
            probe?.start()
            defer { probe?.stop() }
            let half = Double(duration) / 2
            Output.warn("load: warm-up took \(ContinuousClock.now - warmup); heartbeats for \(half) s")
            let beats = await phase(half, changed: false, rate: heartbeatRate)
            Output.warn("load: changed snapshots for \(half) s")
            let snaps = await phase(half, changed: true, rate: snapshotRate)
            await client.shutdown()
            if let first = firstError.value.withLock({ $0 }) { Output.warn("load: first error: \(first)") }
            Output.line("load: \(hosts) hosts, \(packages) packages each, \(concurrency) closed-loop workers, \(connections) connections, \(server)")
            func offered(_ rate: Double) -> String { rate > 0 ? String(format: "  offered %.0f/s", rate) : "" }
            Output.line(String(format: "heartbeats:        %.0f/s  (%d in %.1f s)  p50 %@  p99 %@  errors %d", Double(beats.count) / beats.elapsed, beats.count, beats.elapsed, pct(beats.latencies, 0.5), pct(beats.latencies, 0.99), beats.errors) + offered(heartbeatRate))
            Output.line((fullSnapshots ? "(whole) " : "(delta) ") + String(format: "changed snapshots: %.0f/s  (%d in %.1f s)  p50 %@  p99 %@  errors %d", Double(snaps.count) / snaps.elapsed, snaps.count, snaps.elapsed, pct(snaps.latencies, 0.5), pct(snaps.latencies, 0.99), snaps.errors) + offered(snapshotRate))
            if let probe {
                for (name, p) in [("heartbeats", beats), ("snapshots", snaps)] {
                    let ms = probe.samples(from: p.start, to: p.start + .nanoseconds(Int64(p.elapsed * 1e9))).map(\.milliseconds)
                    Output.line(String(format: "disk during %@: %d fdatasyncs, p50 %@  p99 %@  slowest %.1f ms, %d over 50 ms", name, ms.count, pct(ms, 0.5), pct(ms, 0.99), ms.max() ?? 0, ms.filter { $0 > 50 }.count))
                }
            }
        }
    }
}

private func inSeconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
private func inMilliseconds(_ d: Duration) -> Double { inSeconds(d) * 1000 }

/// A mutex-guarded value that escaping concurrent closures can share.
final class Shared<T: Sendable>: Sendable {
    let value: Mutex<T>
    init(_ v: T) { value = Mutex(v) }
}
