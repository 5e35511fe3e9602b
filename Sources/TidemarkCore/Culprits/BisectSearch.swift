/// The bisection search, pure: given the session's options and the runs recorded so far, the
/// next state to test or the report. Stateless (every call recomputes everything from the runs,
/// deterministically), so a killed session resumes by replaying its stored runs.
///
/// Deterministic (`flaky == false`): `git bisect` over the time-ordered prefixes [0...m]. The
/// good state passes and the full set is taken to fail (the operator said so; not tested up
/// front); each step tests the prefix that halves the groups still consistent with the runs. A
/// skipped or uninstallable prefix is never asked for again: the untried prefix nearest the
/// halving point is tested instead, and when none separates the remaining candidates the
/// search ends `undecided` with them. The last candidate k is then verified alone ([k]; not
/// needed when k is 0 and [0] failed): a failure makes it the culprit, confidence 1. Without
/// any failing run, a passing verify is followed by one `confirm` of the full set (passes:
/// `noFailure`). So a single culprit takes at most `bound` = ceil(log2 N) + 1 runs, no skips.
///
/// When [k] alone passes, or cannot be judged (skip/uninstallable: typically k does not install
/// without a group it depends on), k is necessary but not shown sufficient. Rather than name it
/// on faith (or give up with [k]), the search runs Zeller's ddmin on the smallest failing set
/// known: prefix [0...k], or the full set after a failing confirm. Unresolved outcomes count as
/// "does not fail", so the answer is 1-minimal among the sets that could be installed and
/// tested: a group that only installs with its dependency comes out as a `combination` with
/// it, and a single group that fails alone as `culprit`. Entering ddmin reads only
/// search/verify/confirm runs; ddmin is replayed against the recorded runs (deterministic: a
/// set's first run is its answer, whatever asked for it) and its first unanswered query is the
/// next step, so resuming is stable.
///
/// Flaky (`flaky == true`), after Henderson et al., "Flake Aware Culprit Finding" (ICST 2023):
/// hypotheses "culprit = i", prior (1 - p₀)/N each, and "no failure", prior p₀ =
/// `noFailurePrior`. On a set S the culprit always fails; without it a run fails with the flake
/// rate f, and a pass is always trusted (it rules out every group in S). f is integrated out
/// against a Beta prior (mean `flakeRate ?? defaultFlakeRate`, weight `flakePriorWeight` runs)
/// instead of being plugged in: exact for this model, no EM iterations, and an unlucky early
/// estimate cannot make flakes look like proof. The estimate reported is f's posterior mean.
/// The next step is the testable prefix with the highest expected information gain about the
/// culprit (f = 0 makes it the halving prefix); re-running a prefix is expected, a set once
/// skipped or uninstallable is never asked for again. The search stops when one hypothesis
/// reaches `confidence` ("no failure": `noFailure`); a culprit k is first verified alone, once,
/// and that run counts like any other (so a combination whose verify flakes into a failure,
/// probability f, is still named as k).
///
/// A verify that passes (trusted) or cannot be judged means k does not fail alone. Prefix
/// [0...k] then has to fail r times afresh (the failures that made the search stop at k were
/// selected, not sampled) before ddmin runs on it, with the same rule for "fails" (r failures
/// since the verify and no pass ever). r is the least with f^r ≤ (1 - confidence) / bound(k + 1),
/// so that ddmin's "fails" hold together with `confidence` (f: the larger of the estimate
/// before the verify and the prior mean); the report's confidence is their product. If the
/// prefix passes instead, its groups are ruled out and the search goes on.
///
/// After `budget` search-phase runs, or when no testable prefix separates the groups holding
/// `confidence` of the mass, the flaky search ends `undecided` with the most likely groups.
/// `undecided` reports, as confidence, the probability that the culprit is among its
/// candidates (1 when deterministic).
public enum BisectSearch {
    public enum Next: Sendable, Hashable {
        case test(BisectRequest, BisectProgress)
        case done(BisectReport)
    }

    /// ceil(log2 N) + 1: the most test runs a deterministic search of N groups needs to name a
    /// single culprit when no step is skipped (the halving, then the verify run).
    public static func bound(groups n: Int) -> Int {
        var k = 0
        while k < Int.bitWidth - 2, (1 << k) < n { k += 1 }
        return k + 1
    }

    /// The flaky search's runs (search, verify, confirm) before it gives up `undecided`: ten
    /// deterministic searches' worth, far above what f ≈ 0.2 needs, so it only stops a search
    /// that the runs cannot settle (a flake rate near 1, or culprits that come and go).
    public static func budget(groups n: Int) -> Int { 10 * bound(groups: n) }

    /// The flake rate the flaky search starts from when the operator gives none. Erring high
    /// costs a few re-runs; erring low makes early flakes look like proof.
    public static let defaultFlakeRate = 0.2
    /// The flake-rate prior's weight in runs: light, so a handful of runs overrides it.
    public static let flakePriorWeight = 6.0
    /// Prior probability that the bad state does not fail at all (the operator says it does;
    /// one trusted pass of the full set settles it either way).
    public static let noFailurePrior = 0.02

    public static func next(_ options: BisectOptions, runs: [BisectRun]) -> Next {
        let ledger = Ledger(runs: runs, groups: options.groups)
        guard options.groups > 0 else {
            return .done(ledger.report(.noFailure, [], confidence: 1))
        }
        return options.flaky ? FlakySearch(options: options, ledger: ledger).next() : PlainSearch(ledger: ledger).next()
    }
}

// MARK: - Shared

extension BisectSearch {
    /// The recorded runs with what every strategy needs to know about them.
    fileprivate struct Ledger {
        let runs: [BisectRun]
        let n: Int
        /// A run whose groups are not ascending indices of this session tells nothing; it is only
        /// counted.
        let valid: [Bool]
        let ran: Int
        let uninstallable: Int

        init(runs: [BisectRun], groups n: Int) {
            self.runs = runs
            self.n = n
            valid = runs.map { r in
                guard !r.groups.isEmpty else { return false }
                var previous = -1
                for g in r.groups {
                    guard g > previous, g < n else { return false }
                    previous = g
                }
                return true
            }
            ran = runs.count { $0.outcome.ran }
            uninstallable = runs.count - ran
        }

        /// m when the run's groups are exactly [0...m].
        func prefixEnd(_ i: Int) -> Int? {
            guard valid[i], let last = runs[i].groups.last, last == runs[i].groups.count - 1 else { return nil }
            return last
        }

        func report(
            _ verdict: BisectReport.Verdict, _ culprits: [Int], candidates: [Int] = [], confidence: Double, flake: Double? = nil, evidence: [Int] = []
        ) -> BisectReport {
            BisectReport(
                verdict: verdict, culprits: culprits, candidates: candidates, confidence: confidence, runs: ran, uninstallable: uninstallable,
                flakeEstimate: flake, evidence: Array(Set(evidence)).sorted())
        }
    }
}

extension BisectOutcome {
    /// The test judged the state (passed or failed).
    fileprivate var judged: Bool { self == .good || self == .bad }
}

extension BisectSearch {
    /// Zeller and Hildebrandt's ddmin ("Simplifying and Isolating Failure-Inducing Input", 2002),
    /// as a replay: the procedure runs against `judge` and stops at the first set it has no answer
    /// for, which becomes the next step.
    fileprivate enum DeltaDebugging {
        enum Judgement { case fails, doesNotFail, unknown }
        enum Step {
            /// Test `set`; `current` is the smallest failing set so far.
            case query(set: [Int], current: [Int])
            /// `minimal` is 1-minimal; `failing` every set judged failing on the way (the start
            /// first), `checked` the sets whose not failing proves the minimality.
            case done(minimal: [Int], failing: [[Int]], checked: [[Int]])
        }

        static func run(start: [Int], judge: ([Int]) -> Judgement) -> Step {
            var c = start, n = 2
            var failing = [start]
            while true {
                if c.count <= 1 { return .done(minimal: c, failing: failing, checked: []) }
                n = min(n, c.count)
                let bounds = (0...n).map { $0 * c.count / n }
                var reduced: (set: [Int], n: Int)? = nil
                var checked: [[Int]] = []
                for i in 0..<n {
                    let part = Array(c[bounds[i]..<bounds[i + 1]])
                    switch judge(part) {
                    case .unknown: return .query(set: part, current: c)
                    case .fails: reduced = (part, 2)
                    case .doesNotFail: checked.append(part)
                    }
                    if reduced != nil { break }
                }
                // with two parts the complements are the parts themselves
                if reduced == nil && n > 2 {
                    checked = []
                    for i in 0..<n {
                        let complement = Array(c[..<bounds[i]] + c[bounds[i + 1]...])
                        switch judge(complement) {
                        case .unknown: return .query(set: complement, current: c)
                        case .fails: reduced = (complement, max(n - 1, 2))
                        case .doesNotFail: checked.append(complement)
                        }
                        if reduced != nil { break }
                    }
                }
                if let r = reduced {
                    c = r.set
                    n = r.n
                    failing.append(c)
                    continue
                }
                if n < c.count {
                    n = min(c.count, 2 * n)
                    continue
                }
                return .done(minimal: c, failing: failing, checked: checked)
            }
        }
    }
}

extension BisectSearch {
    /// The few real functions the flaky search needs; the core module has no Foundation.
    fileprivate enum Math {
        static let ln2 = 0.693_147_180_559_945_3

        /// Natural logarithm: exponent · ln 2 plus an atanh series for the significand.
        static func log(_ x: Double) -> Double {
            guard x > 0 else { return x == 0 ? -.infinity : .nan }
            guard x.isFinite else { return x }
            var e = Double(x.exponent)
            var m = x.significand
            if m > 1.414_213_562_373_095_1 {
                m *= 0.5
                e += 1
            }
            let z = (m - 1) / (m + 1), z2 = z * z
            var power = z, sum = 0.0, k = 1.0
            while true {
                let term = power / k
                sum += term
                if abs(term) <= 1e-17 * max(abs(sum), 1e-300) { break }
                power *= z2
                k += 2
            }
            return 2 * sum + e * ln2
        }

        /// Binary entropy in nats.
        static func entropy(_ p: Double) -> Double {
            guard p > 0, p < 1 else { return 0 }
            return -(p * log(p) + (1 - p) * log(1 - p))
        }
    }
}

// MARK: - Deterministic

extension BisectSearch {
    fileprivate struct PlainSearch {
        let ledger: Ledger

        func next() -> BisectSearch.Next {
            let n = ledger.n, runs = ledger.runs
            // the earliest failing prefix (the full set when none failed: the operator's word)
            var hi = n - 1, hiRun: Int? = nil
            for i in runs.indices where runs[i].purpose == .search && runs[i].outcome == .bad {
                if let m = ledger.prefixEnd(i), m < hi || (m == hi && hiRun == nil) {
                    hi = m
                    hiRun = i
                }
            }
            // the latest passing prefix below it (a pass above it contradicts a failure: ignored)
            var lo = -1, loRun: Int? = nil
            var untestable: Set<Int> = []
            for i in runs.indices where runs[i].purpose == .search {
                guard let m = ledger.prefixEnd(i) else { continue }
                switch runs[i].outcome {
                case .good where m < hi && m > lo:
                    lo = m
                    loRun = i
                case .skip, .uninstallable: untestable.insert(m)
                default: break
                }
            }
            let bracket = [loRun, hiRun].compactMap { $0 }
            if hi - lo > 1 {
                let candidates = Array((lo + 1)...hi)
                let mid = lo + (hi - lo) / 2
                for d in 0..<(hi - lo) {
                    for m in (d == 0 ? [mid] : [mid - d, mid + d]) where m > lo && m < hi && !untestable.contains(m) {
                        return .test(BisectRequest(groups: Array(0...m), purpose: .search), BisectProgress(candidates: candidates))
                    }
                }
                return .done(ledger.report(.undecided, [], candidates: candidates, confidence: 1, evidence: bracket))
            }

            let k = hi
            func alone(_ i: Int) -> Bool { ledger.valid[i] && runs[i].groups == [k] && (runs[i].purpose == .verify || runs[i].purpose == .search) }
            if let v = runs.indices.first(where: { alone($0) && runs[$0].outcome == .bad }) {
                return .done(ledger.report(.culprit, [k], confidence: 1, evidence: bracket + [v]))
            }
            guard let verify = runs.indices.first(where: { alone($0) && runs[$0].purpose == .verify }) else {
                return .test(BisectRequest(groups: [k], purpose: .verify), BisectProgress(candidates: [k]))
            }

            // [k] alone passed or could not be judged: find what the failure needs
            let start: [Int], startRun: Int
            if let h = hiRun {
                start = Array(0...k)
                startRun = h
            } else if n == 1 {
                // the verify ran the full set
                if runs[verify].outcome == .good { return .done(ledger.report(.noFailure, [], confidence: 1, evidence: [verify])) }
                return .done(ledger.report(.undecided, [], candidates: [0], confidence: 1, evidence: [verify]))
            } else {
                let full = Array(0..<n)
                guard let confirm = runs.indices.first(where: { ledger.valid[$0] && runs[$0].purpose == .confirm && runs[$0].groups == full }) else {
                    return .test(BisectRequest(groups: full, purpose: .confirm), BisectProgress(candidates: [k]))
                }
                switch runs[confirm].outcome {
                case .bad:
                    start = full
                    startRun = confirm
                case .good:
                    return .done(ledger.report(.noFailure, [], confidence: 1, evidence: bracket + [verify, confirm]))
                case .skip, .uninstallable:
                    return .done(ledger.report(.undecided, [], candidates: [k], confidence: 1, evidence: bracket + [verify, confirm]))
                }
            }

            // deterministic: a set's first recorded run is its answer
            var first: [[Int]: Int] = [:]
            for i in runs.indices where ledger.valid[i] && first[runs[i].groups] == nil { first[runs[i].groups] = i }
            let step = DeltaDebugging.run(start: start) { set in
                if set == start { return .fails }
                guard let i = first[set] else { return .unknown }
                return runs[i].outcome == .bad ? .fails : .doesNotFail
            }
            switch step {
            case .query(let set, let current):
                return .test(BisectRequest(groups: set, purpose: .minimize), BisectProgress(candidates: current))
            case .done(let minimal, _, let checked):
                let proof = (minimal == start ? [startRun] : [first[minimal]].compactMap { $0 }) + checked.compactMap { first[$0] }
                return .done(ledger.report(minimal.count == 1 ? .culprit : .combination, minimal, confidence: 1, evidence: proof))
            }
        }
    }
}

// MARK: - Flaky

extension BisectSearch {
    fileprivate struct FlakySearch {
        let ledger: Ledger
        let confidence: Double
        let priorMean: Double
        let alpha: Double
        let beta: Double
        /// Valid search, verify and confirm runs: the evidence the culprit posterior reads.
        let searchPhase: [Int]

        init(options: BisectOptions, ledger: Ledger) {
            self.ledger = ledger
            let c = options.confidence
            confidence = c.isFinite ? min(max(c, 0.5), 1 - 1e-9) : BisectOptions.defaultConfidence
            let rate = options.flakeRate.flatMap { $0.isFinite ? $0 : nil } ?? BisectSearch.defaultFlakeRate
            priorMean = min(max(rate, 0.001), 0.999)
            alpha = priorMean * BisectSearch.flakePriorWeight
            beta = (1 - priorMean) * BisectSearch.flakePriorWeight
            searchPhase = ledger.runs.indices.filter { ledger.valid[$0] && ledger.runs[$0].purpose != .minimize }
        }

        /// The posterior over "culprit = i" (index i) and "no failure" (index n), with the flake
        /// rate integrated out, and that rate's posterior mean.
        struct Belief {
            var p: [Double]
            var flake: Double
        }

        func belief(_ indices: [Int]) -> Belief {
            let n = ledger.n, runs = ledger.runs
            var contains = [Int](repeating: 0, count: n + 1)
            var dead = [Bool](repeating: false, count: n + 1)
            var failures = 0, passes = 0
            for i in indices {
                switch runs[i].outcome {
                case .bad:
                    failures += 1
                    for g in runs[i].groups { contains[g] += 1 }
                case .good:
                    passes += 1
                    for g in runs[i].groups { dead[g] = true }
                case .skip, .uninstallable: break
                }
            }
            // flakes each hypothesis needs: the failures of sets without it
            let flakes = contains.map { failures - $0 }
            var fewest = failures
            for h in 0...n where !dead[h] { fewest = min(fewest, flakes[h]) }
            // ∫ f^x (1-f)^P Beta(f; α, β) df ∝ Π_{j<x} (α + j)/(α + β + P + j), relative to the fewest
            var weight = [Double](repeating: 1, count: failures - fewest + 1)
            var j = 1
            while j < weight.count {
                let x = Double(fewest + j - 1)
                weight[j] = weight[j - 1] * (alpha + x) / (alpha + beta + Double(passes) + x)
                j += 1
            }
            let groupPrior = (1 - BisectSearch.noFailurePrior) / Double(n)
            var p = [Double](repeating: 0, count: n + 1)
            var total = 0.0
            for h in 0...n where !dead[h] {
                p[h] = (h == n ? BisectSearch.noFailurePrior : groupPrior) * weight[flakes[h] - fewest]
                total += p[h]
            }
            var flake = 0.0
            for h in 0...n where p[h] > 0 {
                p[h] /= total
                let x = Double(flakes[h])
                flake += p[h] * (alpha + x) / (alpha + beta + x + Double(passes))
            }
            return Belief(p: p, flake: flake)
        }

        func next() -> BisectSearch.Next {
            // a verify that did not fail: the failure needs more than k (replay-stable: it reads
            // only search-phase runs)
            let runs = ledger.runs
            for i in searchPhase where runs[i].purpose == .verify && runs[i].outcome != .bad && runs[i].groups.count == 1 {
                let k = runs[i].groups[0], prefix = Array(0...k)
                if !searchPhase.contains(where: { runs[$0].outcome == .good && runs[$0].groups == prefix }) {
                    return combination(k, trigger: i)
                }
            }
            return search()
        }

        /// How many failures, with no pass, make a set count as failing at flake rate f: ddmin on
        /// s groups judges about ceil(log2 s) + 1 sets failing, and all of them together have to
        /// be right with `confidence`.
        func repeats(_ f: Double, groups s: Int) -> Int {
            let allowed = (1 - confidence) / Double(BisectSearch.bound(groups: s))
            var r = 1, tail = f
            while tail > allowed && r < 64 {
                tail *= f
                r += 1
            }
            return r
        }

        func combination(_ k: Int, trigger: Int) -> BisectSearch.Next {
            let n = ledger.n, runs = ledger.runs
            let prefix = Array(0...k)
            // the estimate before the verify: after it the single-culprit model no longer fits
            let before = belief(searchPhase.filter { $0 < trigger })
            let flake = max(before.flake, priorMean)
            let r = repeats(flake, groups: prefix.count)
            // failures from before the verify were what made the search stop at k (selected, not
            // sampled), so the prefix has to fail r times afresh
            var prefixFails: [Int] = [], prefixUnresolved: Int? = nil
            for i in searchPhase where runs[i].groups == prefix {
                if runs[i].outcome == .bad {
                    if i > trigger { prefixFails.append(i) }
                } else if !runs[i].outcome.judged {
                    prefixUnresolved = prefixUnresolved ?? i
                }
            }
            if prefixFails.count < r {
                if let u = prefixUnresolved {
                    return .done(ledger.report(.undecided, [], candidates: [k], confidence: before.p[k], flake: flake, evidence: prefixFails + [trigger, u]))
                }
                return .test(
                    BisectRequest(groups: prefix, purpose: k == n - 1 ? .confirm : .search),
                    BisectProgress(candidates: [k], leading: k, probability: nil, flakeEstimate: flake))
            }

            struct Tally {
                var fails: [Int] = []
                var decisive: Int? = nil
            }
            var tally: [[Int]: Tally] = [:]
            for i in runs.indices where ledger.valid[i] {
                if runs[i].outcome == .bad {
                    // likewise, only failures ddmin asked for count; a pass counts whenever it came
                    if i > trigger { tally[runs[i].groups, default: Tally()].fails.append(i) }
                } else if tally[runs[i].groups]?.decisive == nil {
                    tally[runs[i].groups, default: Tally()].decisive = i
                }
            }
            let step = DeltaDebugging.run(start: prefix) { set in
                if set == prefix { return .fails }
                guard let t = tally[set] else { return .unknown }
                if t.decisive != nil { return .doesNotFail }  // a pass is trusted; unresolved is not asked again
                return t.fails.count >= r ? .fails : .unknown
            }
            switch step {
            case .query(let set, let current):
                return .test(BisectRequest(groups: set, purpose: .minimize), BisectProgress(candidates: current, flakeEstimate: flake))
            case .done(let minimal, let failing, let checked):
                var sure = 1.0
                for s in failing {
                    let count = s == prefix ? prefixFails.count : (tally[s]?.fails.count ?? 0)
                    var tail = 1.0
                    for _ in 0..<count { tail *= flake }
                    sure *= 1 - tail
                }
                let proof = (minimal == prefix ? prefixFails : (tally[minimal]?.fails ?? [])) + checked.compactMap { tally[$0]?.decisive } + [trigger]
                return .done(ledger.report(minimal.count == 1 ? .culprit : .combination, minimal, confidence: sure, flake: flake, evidence: proof))
            }
        }

        func search() -> BisectSearch.Next {
            let n = ledger.n, runs = ledger.runs
            let b = belief(searchPhase)
            let p = b.p
            var top = 0, leading = 0
            for h in 0...n where p[h] > p[top] { top = h }
            for h in 0..<n where p[h] > p[leading] { leading = h }
            let threshold = 1 / (100 * Double(n))
            let progress = BisectProgress(candidates: (0..<n).filter { p[$0] > threshold }, leading: leading, probability: p[leading], flakeEstimate: b.flake)

            if p[top] >= confidence {
                if top == n { return .done(ledger.report(.noFailure, [], confidence: p[n], flake: b.flake, evidence: noFailureProof())) }
                let alone = searchPhase.filter { runs[$0].groups == [top] }
                if alone.contains(where: { runs[$0].outcome == .bad }) {
                    return .done(ledger.report(.culprit, [top], confidence: p[top], flake: b.flake, evidence: culpritProof(top)))
                }
                if !alone.isEmpty {
                    // [0] could not be judged (for k > 0 an unresolved verify leads to ddmin)
                    return .done(ledger.report(.undecided, [], candidates: [top], confidence: p[top], flake: b.flake, evidence: alone))
                }
                return .test(BisectRequest(groups: [top], purpose: .verify), progress)
            }
            if searchPhase.count >= BisectSearch.budget(groups: n) { return mostLikely(p, flake: b.flake) }

            // prefix m separates hypotheses ≤ m from those above (m = n - 1: the full set, "no failure")
            var untestable = [Bool](repeating: false, count: n)
            for i in searchPhase where !runs[i].outcome.judged {
                if let m = ledger.prefixEnd(i) { untestable[m] = true }
            }
            var lo = top, hi = top
            while lo > 0 && untestable[lo - 1] { lo -= 1 }
            while hi < n && untestable[hi] { hi += 1 }
            if hi > lo {
                var mass = 0.0
                for h in lo...hi { mass += p[h] }
                if mass >= confidence {
                    let candidates = (lo...min(hi, n - 1)).filter { p[$0] > 0 }
                    return .done(ledger.report(.undecided, [], candidates: candidates, confidence: mass, flake: b.flake))
                }
            }

            // the prefix whose outcome tells most about the culprit: I = H(outcome) - H(outcome | culprit)
            let f = b.flake, noise = Math.entropy(f)
            var below = 0.0, best = -1, bestGain = 1e-9
            for m in 0..<n {
                below += p[m]
                guard !untestable[m] else { continue }
                let a = min(max(below, 0), 1)
                let gain = Math.entropy(a + (1 - a) * f) - (1 - a) * noise
                if gain > bestGain * (1 + 1e-12) {
                    best = m
                    bestGain = gain
                }
            }
            guard best >= 0 else { return mostLikely(p, flake: b.flake) }
            return .test(BisectRequest(groups: Array(0...best), purpose: best == n - 1 ? .confirm : .search), progress)
        }

        /// Undecided: the fewest groups that hold `confidence` of the culprit mass.
        func mostLikely(_ p: [Double], flake: Double) -> BisectSearch.Next {
            let n = ledger.n
            let order = (0..<n).filter { p[$0] > 0 }.sorted { p[$0] != p[$1] ? p[$0] > p[$1] : $0 < $1 }
            var groupMass = 0.0
            for h in order { groupMass += p[h] }
            var chosen: [Int] = [], mass = 0.0
            for h in order {
                chosen.append(h)
                mass += p[h]
                if mass >= confidence * groupMass { break }
            }
            return .done(ledger.report(.undecided, [], candidates: chosen.sorted(), confidence: mass, flake: flake))
        }

        /// The latest pass of the longest prefix below k, and the failures that name k: of [k], of
        /// [0...k], or else of the shortest failing prefix above it.
        func culpritProof(_ k: Int) -> [Int] {
            let runs = ledger.runs
            var proof: [Int] = []
            var lastPass: (m: Int, i: Int)? = nil
            var failsAt: [Int: [Int]] = [:]
            for i in searchPhase {
                if runs[i].groups == [k] && runs[i].outcome == .bad { proof.append(i) }
                guard let m = ledger.prefixEnd(i) else { continue }
                if runs[i].outcome == .good && m < k && m >= (lastPass?.m ?? -1) { lastPass = (m, i) }
                if runs[i].outcome == .bad && m >= k { failsAt[m, default: []].append(i) }
            }
            if let l = lastPass { proof.append(l.i) }
            if let m = failsAt.keys.min(), let fails = failsAt[m] { proof += fails }
            return proof
        }

        /// The passes that rule every group out: those of the full set, or else the longest passing
        /// prefix and the passes of the last group.
        func noFailureProof() -> [Int] {
            let runs = ledger.runs, n = ledger.n
            let passes = searchPhase.filter { runs[$0].outcome == .good }
            let full = passes.filter { runs[$0].groups.count == n }
            if !full.isEmpty { return full }
            var proof = passes.filter { runs[$0].groups.last == n - 1 }
            var longest: (m: Int, i: Int)? = nil
            for i in passes {
                if let m = ledger.prefixEnd(i), m >= (longest?.m ?? -1) { longest = (m, i) }
            }
            if let l = longest { proof.append(l.i) }
            return proof
        }
    }
}
