import ArgumentParser
import Foundation
import SQLKit
import TidemarkCore
import TidemarkCulprits
import TidemarkHosts
import TidemarkStore

/// Benchmarks, reported as ratios against an anchor measured in the same run. Not tests: they
/// assert nothing; they print figures for the closing notes. Run them on a release build.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure Tidemark against its anchors (rpm -qa, a naive table).",
        subcommands: [Snapshot.self, Fleet.self, Load.self, Repo.self, Bisect.self])

    static func seconds(_ body: () async throws -> Void) async rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try await body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    static func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
    static func ms(_ s: Double) -> String { String(format: "%.2f ms", s * 1000) }

    struct Bisect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bisection against a simulated flaky test: plain bisection (the anchor, as git bisect) vs the flake-aware search.",
            discussion: """
                Each trial draws a culprit among N groups; a state fails if it holds the culprit, \
                else with the flake rate. Prints accuracy (the culprit named exactly), mean and \
                most test runs for both searches; the flake-aware one is not told the rate.
                """)
        @Option(help: "Sessions per cell.") var trials = 1000
        @Option(help: "Group counts, comma-separated.") var groups = "8,32,128,512"
        @Option(help: "Flake rates, comma-separated.") var flakeRates = "0,0.05,0.2"
        @Option(help: "Seed (a run reproduces exactly).") var seed: UInt64 = 1

        func run() async throws {
            let ns = groups.split(separator: ",").compactMap { Int($0) }, fs = flakeRates.split(separator: ",").compactMap { Double($0) }
            var t = Table("N", "FLAKES", "BOUND", "PLAIN ACC", "PLAIN RUNS", "PLAIN MAX", "AWARE ACC", "AWARE RUNS", "AWARE MAX", "SECONDS")
            for n in ns {
                for f in fs {
                    var plain: BisectSimulation.Result?, aware: BisectSimulation.Result?
                    let secs = try await BenchCommand.seconds {
                        plain = BisectSimulation.run(groups: n, flakeRate: f, trials: trials, flaky: false, seed: seed)
                        aware = BisectSimulation.run(groups: n, flakeRate: f, trials: trials, flaky: true, seed: seed)
                    }
                    guard let p = plain, let a = aware else { continue }
                    func pct(_ x: Double) -> String { String(format: "%.1f%%", x * 100) }
                    t.add(String(n), String(f), String(BisectSearch.bound(groups: n)), pct(p.accuracy), String(format: "%.2f", p.meanRuns), String(p.maxRuns),
                          pct(a.accuracy), String(format: "%.2f", a.meanRuns), String(a.maxRuns), String(format: "%.1f", secs))
                }
            }
            Output.line("\(trials) trials per cell, seed \(seed); bound = ceil(log2 N) + 1")
            t.print()
        }
    }

    struct Snapshot: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "`tidemark snapshot` of an rpm root vs `rpm --root DIR -qa --qf` with the same fields.")
        @Option(help: "The rpm root to read.") var root: String
        @Option(help: "Runs of each command (the median is reported).") var runs = 7

        func run() async throws {
            let me = CommandLine.arguments[0]
            let dir = NSTemporaryDirectory() + "tidemark-bench-\(getpid())"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let qf = "%{NAME}|%{EPOCHNUM}|%{VERSION}|%{RELEASE}|%{ARCH}|%{VENDOR}|%{SOURCERPM}|%{DISTURL}|%{BUILDTIME}|%{INSTALLTIME}|%{SIGMD5}\\n"
            var rpmTimes: [Double] = [], firstTimes: [Double] = [], repeatTimes: [Double] = []
            var count = 0
            for i in 0..<runs {
                rpmTimes.append(try await BenchCommand.seconds {
                    let r = try Subprocess.check("rpm", ["--root", root, "-qa", "--qf", qf])
                    count = r.stdoutText.split(separator: "\n").count
                })
                let db = "\(dir)/fresh-\(i).sqlite"
                firstTimes.append(try await BenchCommand.seconds {
                    try Subprocess.check(me, ["snapshot", "--root", root, "--host", "bench", "--db", db, "--at", "2025-01-01T00:00:00Z"])
                })
                repeatTimes.append(try await BenchCommand.seconds {
                    try Subprocess.check(me, ["snapshot", "--root", root, "--host", "bench", "--db", db, "--at", "2025-01-02T00:00:00Z"])
                })
            }
            let anchor = BenchCommand.median(rpmTimes)
            Output.line("packages in root:                      \(count)")
            Output.line("rpm -qa --qf (11 fields), median:      \(BenchCommand.ms(anchor))")
            Output.line("tidemark snapshot, new store, median:  \(BenchCommand.ms(BenchCommand.median(firstTimes)))  ratio \(String(format: "%.2f", BenchCommand.median(firstTimes) / anchor))")
            Output.line("tidemark snapshot, known state:        \(BenchCommand.ms(BenchCommand.median(repeatTimes)))  ratio \(String(format: "%.2f", BenchCommand.median(repeatTimes) / anchor))")
            Output.line("(each tidemark figure is a whole process: start, read rpmdb, hash the state, one SQLite transaction with fsync)")
        }
    }

    struct Fleet: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A synthetic fleet: ingest time, store size vs a naive table, `where` and `diff` latency.",
            discussion: """
                Hosts belong to roles (package sets); each day about --churn of the packages get a \
                new version and each host takes the day's updates with probability 0.9 (else the next \
                day), as a fleet updating from shared repositories does. With --unique-hosts every \
                host also carries a package of its own, so no two hosts ever share a state (the \
                worst case for content addressing). The naive table (one row per host, package and \
                observation, no index) is measured on a sample of hosts and scaled linearly.
                """)
        @Option var hosts = 1000
        @Option var packages = 3000
        @Option var days = 60
        @Option var churn = 0.01
        @Option var roles = 10
        @Flag var uniqueHosts = false
        @Option(help: "Hosts written to the naive table (it grows linearly).") var naiveSample = 10
        @Option(help: "Directory for the databases (default: a temporary one).") var dir: String?

        func run() async throws {
            let base = dir ?? NSTemporaryDirectory() + "tidemark-fleet-\(getpid())"
            try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
            defer { if dir == nil { try? FileManager.default.removeItem(atPath: base) } }
            var gen = FleetGenerator(hosts: hosts, packages: packages, roles: roles, churn: churn, uniqueHosts: uniqueHosts)
            let store = try await SQLHistoryStore.openSQLite(path: base + "/tidemark.sqlite")
            let start = Timestamp(seconds: 1_735_718_400)  // 2025-01-01
            var ingest = 0.0, generate = 0.0, observations = 0
            for day in 0..<days {
                var batch: [Observation] = []
                generate += await BenchCommand.seconds { batch = gen.observations(day: day, start: start) }
                for chunk in stride(from: 0, to: batch.count, by: 100) {
                    let part = Array(batch[chunk..<min(chunk + 100, batch.count)])
                    ingest += try await BenchCommand.seconds { _ = try await store.record(part) }
                }
                observations += batch.count
            }
            let size = try await store.storageSize()

            // naive anchor: the same observations of a sample of hosts, one row per package
            let naive = try await SQLiteBackend.open(path: base + "/naive.sqlite")
            try await naive.transaction { db in
                try await db.raw("CREATE TABLE naive (host TEXT, at BIGINT, name TEXT, epoch INTEGER, version TEXT, release TEXT, arch TEXT, digest TEXT)").run()
            }
            var sampleGen = FleetGenerator(hosts: hosts, packages: packages, roles: roles, churn: churn, uniqueHosts: uniqueHosts)
            let sample = min(naiveSample, hosts)
            for day in 0..<days {
                let obs = sampleGen.observations(day: day, start: start).prefix(sample)
                try await naive.transaction { db in
                    for o in obs {
                        for chunk in o.state.packages.chunked(100) {
                            var sql = SQLQueryString("INSERT INTO naive VALUES ")
                            for (i, p) in chunk.enumerated() {
                                if i > 0 { sql.appendLiteral(", ") }
                                sql.appendLiteral("(")
                                sql.appendInterpolation(bind: o.host); sql.appendLiteral(", ")
                                sql.appendInterpolation(bind: o.at.seconds); sql.appendLiteral(", ")
                                sql.appendInterpolation(bind: p.name); sql.appendLiteral(", ")
                                sql.appendInterpolation(bind: p.evr.epoch); sql.appendLiteral(", ")
                                sql.appendInterpolation(bind: p.evr.version); sql.appendLiteral(", ")
                                sql.appendInterpolation(bind: p.evr.release); sql.appendLiteral(", ")
                                sql.appendInterpolation(bind: p.arch); sql.appendLiteral(", ")
                                sql.appendInterpolation(bind: p.digest)
                                sql.appendLiteral(")")
                            }
                            try await db.raw(sql).run()
                        }
                    }
                }
            }
            let naiveSize = Double(try await naive.size()) * Double(hosts) / Double(sample)
            try await naive.close()

            // queries, warm (median of 21) and the first, cold run
            let queries = HistoryQueries(store: store, loadFile: { _ in [] }, now: { Timestamp(seconds: start.seconds + Int64(days) * 86400) })
            let name = gen.churnedName(day: days / 2)
            let past = TimeSpec.absolute(Timestamp(seconds: start.seconds + Int64(days / 2) * 86400 + 43200))
            var whereTimes: [Double] = [], diffTimes: [Double] = []
            var whereHosts = 0, diffChanges = 0
            for _ in 0..<22 {
                whereTimes.append(try await BenchCommand.seconds { whereHosts = try await queries.whereIs(name, at: past).versions.reduce(0) { $0 + $1.hosts.count } })
            }
            let a = "host0003@\(Timestamp(seconds: start.seconds + 20 * 86400 + 43200).iso8601)"
            let b = "host0003@\(Timestamp(seconds: start.seconds + Int64(min(40, days - 1)) * 86400 + 43200).iso8601)"
            for _ in 0..<22 {
                diffTimes.append(try await BenchCommand.seconds { diffChanges = try await queries.diff(a, b).changes.count })
            }
            // suspects: the hosts that took the last day's update of one package fail, the others
            // stay healthy; the whole fleet's evidence ranked (that day's updates arrived together,
            // so they tie: what the ranking can honestly say)
            let culprit = gen.churnedName(day: days - 1)
            let signalAt = Timestamp(seconds: start.seconds + Int64(days - 1) * 86400 + 72000)
            let seen = try await queries.whereIs(culprit, at: .absolute(signalAt))
            let newest = seen.versions.max { RPMVersion.compareEVRStrings($0.evr, $1.evr) < 0 }
            let failing = Set(newest?.hosts ?? [])
            let culprits = SQLCulpritStore(backend: store.backend)
            let allHosts = seen.versions.flatMap(\.hosts) + seen.absent
            _ = try await culprits.recordSignals(allHosts.map { Signal(host: $0, at: signalAt, status: failing.contains($0) ? .failing : .healthy, source: "bench") }, now: signalAt)
            var suspectTimes: [Double] = []
            var report: SuspectReport?
            for _ in 0..<5 {
                suspectTimes.append(try await BenchCommand.seconds {
                    report = try await SuspectFinder(history: store, culprits: culprits).report(reason: nil, window: 48 * 3600, at: signalAt)
                })
            }
            try await store.close()
            let distinct = gen.distinctStates
            Output.line("fleet: \(hosts) hosts x ~\(packages) packages x \(days) daily observations, churn \(churn)/day, \(roles) roles\(uniqueHosts ? ", unique host packages" : "")")
            Output.line("observations: \(observations), distinct states: \(distinct)")
            Output.line("ingest (store.record only): \(String(format: "%.1f s", ingest)) (\(String(format: "%.0f", Double(observations) / ingest)) observations/s); generating states: \(String(format: "%.1f s", generate))")
            Output.line("store size: \(String(format: "%.1f MiB", Double(size) / 1_048_576)); naive table (scaled from \(sample) hosts): \(String(format: "%.1f MiB", naiveSize / 1_048_576)); ratio 1/\(String(format: "%.0f", naiveSize / Double(size)))")
            Output.line("where \(name) at day \(days / 2): median \(BenchCommand.ms(BenchCommand.median(Array(whereTimes.dropFirst())))), cold \(BenchCommand.ms(whereTimes[0])) (\(whereHosts) hosts)")
            let source = gen.package(gen.churned[days - 1]?.first ?? 0, version: 0).sourceName
            let rank = report?.suspects.first { $0.source == source }
            Output.line("suspects (\(failing.count) failing, \(allHosts.count - failing.count) healthy hosts, \(report?.suspects.count ?? 0) suspects): median \(BenchCommand.ms(BenchCommand.median(Array(suspectTimes.dropFirst())))), cold \(BenchCommand.ms(suspectTimes[0])); the culprit's source ranked \(rank.map { "#\($0.rank), score \(String(format: "%.2f", $0.score)), tied with \($0.tiedWith.count)" } ?? "not at all")")
            Output.line("diff host0003 day 20 -> day 40: median \(BenchCommand.ms(BenchCommand.median(Array(diffTimes.dropFirst())))), cold \(BenchCommand.ms(diffTimes[0])) (\(diffChanges) changes)")
        }
    }
}

/// Deterministic synthetic fleet for `bench fleet`.
struct FleetGenerator {
    let hosts: Int, packages: Int, roles: Int, churn: Double, uniqueHosts: Bool
    var rng: UInt64 = 0x5EED
    /// Current version number per package name index.
    var versions: [Int]
    /// Per host, the last day whose updates it took.
    var applied: [Int]
    /// Versions as of each day (kept for the last two days).
    var history: [Int: [Int]] = [:]
    struct StateKey: Hashable { var role: Int; var day: Int; var host: Int }
    var memo: [StateKey: PackageState] = [:]
    var distinctStates = 0
    var churned: [Int: [Int]] = [:]
    let universe: Int

    init(hosts: Int, packages: Int, roles: Int, churn: Double, uniqueHosts: Bool) {
        self.hosts = hosts
        self.packages = packages
        self.roles = roles
        self.churn = churn
        self.uniqueHosts = uniqueHosts
        universe = packages + packages / 10
        versions = Array(repeating: 1, count: universe)
        applied = Array(repeating: 0, count: hosts)
    }

    mutating func next() -> UInt64 {
        rng &+= 0x9E37_79B9_7F4A_7C15
        var z = rng
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    static func name(_ i: Int) -> String {
        let s = String(i)
        return "pkg-" + String(repeating: "0", count: max(0, 5 - s.count)) + s
    }

    func churnedName(day: Int) -> String { Self.name(churned[day]?.first ?? 0) }

    func package(_ i: Int, version: Int) -> Package {
        Package(
            format: .rpm, name: Self.name(i), evr: EVR(version: "1.\(version)", release: "1.1"), arch: i % 5 == 0 ? "noarch" : "x86_64",
            digest: "\(i)-\(version)".padding(toLength: 32, withPad: "0", startingAt: 0), vendor: "openSUSE",
            source: Self.name(i / 3 * 3) + "-1.\(version)-1.1.src.rpm", buildTime: 1_700_000_000 + Int64(version))
    }

    mutating func state(role: Int, day: Int, host: Int) -> PackageState {
        let key = StateKey(role: role, day: day, host: uniqueHosts ? host : -1)
        if let s = memo[key] { return s }
        let v = history[day]!
        var ps: [Package] = []
        ps.reserveCapacity(packages + 1)
        for i in 0..<universe where (i + role * 7) % 11 != 0 { ps.append(package(i, version: v[i])) }
        if uniqueHosts {
            ps.append(Package(format: .rpm, name: "zz-host-\(host)", evr: EVR(version: "\(day / 10)", release: "1"), arch: "noarch"))
        }
        let s = PackageState(ps)
        memo[key] = s
        distinctStates += 1
        return s
    }

    mutating func observations(day: Int, start: Timestamp) -> [Observation] {
        if day > 0 {
            let n = max(1, Int(Double(packages) * churn))
            var picked: [Int] = []
            for _ in 0..<n {
                let i = Int(next() % UInt64(universe))
                versions[i] += 1
                picked.append(i)
            }
            churned[day] = picked
        }
        history[day] = versions
        history[day - 2] = nil
        memo = memo.filter { $0.key.day >= day - 1 }
        var out: [Observation] = []
        for h in 0..<hosts {
            // a host misses a day's updates one time in ten, and catches up the next day
            if day == 0 || applied[h] < day - 1 || next() % 10 != 0 { applied[h] = day }
            let s = state(role: h % roles, day: applied[h], host: h)
            out.append(Observation(
                host: "host" + String(repeating: "0", count: max(0, 4 - String(h).count)) + String(h),
                at: Timestamp(seconds: start.seconds + Int64(day) * 86400 + 21600 + Int64(h)), state: s, source: .agent))
        }
        return out
    }
}
