import Foundation

/// The health rule after a wave: are the updated hosts failing more than the hosts not updated
/// yet? Counts are small (a canary wave is two or three hosts running a handful of openQA jobs)
/// and often zero, so a normal approximation (a z-test of two proportions) is meaningless there
/// and Kayenta-style rank tests break on zero-heavy counts. Fisher's exact test conditions on
/// the totals and computes the probability of a split at least this lopsided from the
/// hypergeometric distribution: exact for any counts, defined with zeros, never overconfident.
/// A hard failure limit sits beside it, because with very few baseline jobs no test can show
/// significance, yet five failed canary jobs out of five are reason enough to stop.
public struct HealthComparison: Sendable, Hashable, Codable {
    public var waveFailed: Int
    public var waveTotal: Int
    public var baselineFailed: Int
    public var baselineTotal: Int

    public init(waveFailed: Int, waveTotal: Int, baselineFailed: Int, baselineTotal: Int) {
        self.waveFailed = waveFailed
        self.waveTotal = waveTotal
        self.baselineFailed = baselineFailed
        self.baselineTotal = baselineTotal
    }

    public struct Rule: Sendable, Hashable, Codable {
        /// Fail at more than this many failures in the wave, whatever the baseline.
        public var maxFailures: Int
        /// Fail when the one-sided p-value that the wave fails more often is below this.
        public var significance: Double
        /// Results the wave needs before it can pass (fewer: pending).
        public var minResults: Int

        public init(maxFailures: Int, significance: Double = 0.05, minResults: Int = 1) {
            self.maxFailures = maxFailures
            self.significance = significance
            self.minResults = minResults
        }
    }

    /// Fisher's exact test, one-sided: the probability, with the margins fixed, of the wave having
    /// at least `waveFailed` of all failures.
    public var pValue: Double {
        let failed = waveFailed + baselineFailed, total = waveTotal + baselineTotal
        // no failure in the wave: the whole distribution, exactly 1
        guard total > 0, failed > 0, waveFailed > 0 else { return 1 }
        var p = 0.0
        for k in waveFailed...min(failed, waveTotal) {
            p += Self.hypergeometric(k, population: total, successes: failed, draws: waveTotal)
        }
        return min(1, p)
    }

    /// `passed`, `failed` or `pending`, and why, in words.
    public func decide(_ rule: Rule) -> (status: CheckResult.Status, reason: String) {
        let counts = "wave \(waveFailed)/\(waveTotal) failed, not-yet-updated hosts \(baselineFailed)/\(baselineTotal)"
        if waveFailed > rule.maxFailures {
            return (.failed, "\(counts): more than \(rule.maxFailures) failure\(rule.maxFailures == 1 ? "" : "s")")
        }
        let p = pValue
        let waveRate = waveTotal == 0 ? 0 : Double(waveFailed) / Double(waveTotal)
        let baseRate = baselineTotal == 0 ? 0 : Double(baselineFailed) / Double(baselineTotal)
        if waveRate > baseRate, p < rule.significance {
            return (.failed, "\(counts): fails more often than the rest (Fisher's exact test, one-sided p = \(Self.format(p)) < \(rule.significance))")
        }
        if waveTotal < rule.minResults {
            return (.pending, "\(counts): waiting for at least \(rule.minResults) result\(rule.minResults == 1 ? "" : "s") from the wave")
        }
        return (.passed, "\(counts): no worse than the rest (one-sided p = \(Self.format(p)))")
    }

    /// P(X = k) for X hypergeometric: `draws` from `population` holding `successes`.
    static func hypergeometric(_ k: Int, population: Int, successes: Int, draws: Int) -> Double {
        guard k >= 0, k <= successes, k <= draws, draws - k <= population - successes else { return 0 }
        let log = logChoose(successes, k) + logChoose(population - successes, draws - k) - logChoose(population, draws)
        return exp(log)
    }

    /// ln(n choose k) by summing logarithms: exact enough for the counts of a fleet, no lgamma needed.
    static func logChoose(_ n: Int, _ k: Int) -> Double {
        let k = min(k, n - k)
        guard k > 0 else { return 0 }
        var s = 0.0
        for i in 0..<k { s += log(Double(n - i)) - log(Double(i + 1)) }
        return s
    }

    static func format(_ p: Double) -> String {
        let scaled = (p * 10_000).rounded() / 10_000
        return scaled < 0.0001 ? "< 0.0001" : String(scaled)
    }
}
