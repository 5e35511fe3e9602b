/// The bisection search against a simulated test, to measure it: a single culprit, uniform over
/// the groups; a set fails iff it contains the culprit, or else with the flake rate (flakes only
/// fail good states; a pass is never wrong). Pure and seeded, so a measurement reproduces.
public enum BisectSimulation {
    public struct Result: Sendable, Hashable {
        public var trials: Int
        /// Trials whose verdict was `culprit` with exactly the simulated culprit.
        public var correct: Int
        public var accuracy: Double
        /// Test runs per trial (the report's `runs`).
        public var meanRuns: Double
        public var maxRuns: Int
        /// Steps per trial the simulated zypper could not install.
        public var meanUninstallable: Double
    }

    /// One simulated session: the runs it made and how it ended.
    public struct Trial: Sendable, Hashable {
        public var culprit: Int
        public var runs: [BisectRun]
        public var report: BisectReport
    }

    /// `trials` sessions of `groups` groups at flake rate `flakeRate`: plain bisection
    /// (`flaky: false`) or the flake-aware search without the rate (`flakeRate: nil`, so it has to
    /// estimate it). With `uninstallableRate`, that share of the sets (the full set excepted)
    /// cannot be installed, the same sets throughout a trial.
    public static func run(groups: Int, flakeRate: Double, trials: Int, flaky: Bool, seed: UInt64, uninstallableRate: Double = 0) -> Result {
        var rng = SplitMix64(seed: seed)
        var correct = 0, totalRuns = 0, maxRuns = 0, totalUninstallable = 0
        let options = BisectOptions(groups: groups, flaky: flaky)
        for _ in 0..<max(trials, 0) {
            let trialSeed = rng.next()
            let t = trial(options: options, flakeRate: flakeRate, uninstallableRate: uninstallableRate, seed: trialSeed)
            if t.report.verdict == .culprit && t.report.culprits == [t.culprit] { correct += 1 }
            totalRuns += t.report.runs
            maxRuns = max(maxRuns, t.report.runs)
            totalUninstallable += t.report.uninstallable
        }
        let count = Double(max(trials, 1))
        return Result(
            trials: max(trials, 0), correct: correct, accuracy: Double(correct) / count, meanRuns: Double(totalRuns) / count, maxRuns: maxRuns,
            meanUninstallable: Double(totalUninstallable) / count)
    }

    /// One session from its seed: the culprit is drawn first, then every outcome.
    public static func trial(options: BisectOptions, flakeRate: Double, uninstallableRate: Double = 0, seed: UInt64) -> Trial {
        var rng = SplitMix64(seed: seed)
        let n = max(options.groups, 1)
        let culprit = rng.below(n)
        let salt = rng.next()
        var runs: [BisectRun] = []
        // far above any budget: a search that does not end is a bug, reported as undecided
        let cap = 100 * BisectSearch.budget(groups: n) + 10 * n * n
        while runs.count < cap {
            switch BisectSearch.next(options, runs: runs) {
            case .done(let report):
                return Trial(culprit: culprit, runs: runs, report: report)
            case .test(let request, _):
                let outcome: BisectOutcome
                if request.groups.count < n && uninstallableRate > 0 && unit(hash(request.groups, salt)) < uninstallableRate {
                    outcome = .uninstallable
                } else if request.groups.contains(culprit) {
                    outcome = .bad
                } else {
                    outcome = rng.unit() < flakeRate ? .bad : .good
                }
                runs.append(BisectRun(groups: request.groups, purpose: request.purpose, outcome: outcome))
            }
        }
        let ran = runs.count { $0.outcome.ran }
        return Trial(
            culprit: culprit, runs: runs,
            report: BisectReport(verdict: .undecided, culprits: [], confidence: 0, runs: ran, uninstallable: runs.count - ran))
    }

    /// Whether a set installs must not depend on when it is asked: a hash of the set, not the
    /// generator.
    static func hash(_ set: [Int], _ salt: UInt64) -> UInt64 {
        var h = SplitMix64(seed: salt)
        var x = h.next()
        for g in set {
            h.state ^= UInt64(truncatingIfNeeded: g) &* 0xD6E8_FEB8_6659_FD93
            x = h.next()
        }
        return x ^ UInt64(truncatingIfNeeded: set.count)
    }

    static func unit(_ x: UInt64) -> Double { Double(x >> 11) * 0x1p-53 }
}
