import Testing
import TidemarkCore

/// A bisection driven to its end against an oracle, as the runner would drive it.
private struct Session {
    var requests: [BisectRequest] = []
    var runs: [BisectRun] = []
    var report: BisectReport
}

private func drive(_ options: BisectOptions, seed: UInt64 = 1, limit: Int = 5000, oracle: (BisectRequest, inout SplitMix64) -> BisectOutcome) -> Session {
    var rng = SplitMix64(seed: seed)
    var requests: [BisectRequest] = [], runs: [BisectRun] = []
    while runs.count < limit {
        switch BisectSearch.next(options, runs: runs) {
        case .done(let report): return Session(requests: requests, runs: runs, report: report)
        case .test(let request, _):
            requests.append(request)
            runs.append(BisectRun(groups: request.groups, purpose: request.purpose, outcome: oracle(request, &rng)))
        }
    }
    Issue.record("the search did not end within \(limit) steps")
    return Session(requests: requests, runs: runs, report: BisectReport(verdict: .undecided, culprits: [], confidence: 0, runs: runs.count, uninstallable: 0))
}

/// Fails iff every group of `failing` is applied (deterministic).
private func needs(_ failing: Set<Int>) -> (BisectRequest, inout SplitMix64) -> BisectOutcome {
    { request, _ in failing.isSubset(of: request.groups) ? .bad : .good }
}

/// Fails iff every group of `failing` is applied, and otherwise with probability `flake`.
private func flaky(_ failing: Set<Int>, _ flake: Double) -> (BisectRequest, inout SplitMix64) -> BisectOutcome {
    { request, rng in failing.isSubset(of: request.groups) || rng.unit() < flake ? .bad : .good }
}

/// Every evidence index names a recorded run, in order, without repeats.
private func evidenceIsValid(_ s: Session) -> Bool {
    s.report.evidence.allSatisfy { s.runs.indices.contains($0) } && s.report.evidence == Array(Set(s.report.evidence)).sorted()
}

/// Resuming after any number of steps asks for what the uninterrupted session asked next.
private func replays(_ options: BisectOptions, _ s: Session) -> Bool {
    for i in 0...s.runs.count {
        let prefix = Array(s.runs[..<i])
        let a = BisectSearch.next(options, runs: prefix), b = BisectSearch.next(options, runs: prefix)
        guard a == b else { return false }
        switch a {
        case .test(let request, _): if i == s.runs.count || request != s.requests[i] { return false }
        case .done(let report): if i != s.runs.count || report != s.report { return false }
        }
    }
    return true
}

@Suite struct BisectSearchTests {
    // MARK: Deterministic

    @Test func boundIsExactForEveryCulpritPosition() {
        for n in 1...40 {
            var worst = 0
            for culprit in 0..<n {
                let s = drive(BisectOptions(groups: n), oracle: needs([culprit]))
                #expect(s.report.verdict == .culprit && s.report.culprits == [culprit], "N \(n), culprit \(culprit): \(s.report)")
                #expect(s.report.confidence == 1)
                #expect(s.report.runs == s.runs.count && s.report.uninstallable == 0)
                #expect(s.report.runs <= BisectSearch.bound(groups: n), "N \(n), culprit \(culprit): \(s.report.runs) runs")
                #expect(evidenceIsValid(s))
                // the evidence holds a failing run with the culprit in it
                #expect(s.report.evidence.contains { s.runs[$0].outcome == .bad && s.runs[$0].groups.contains(culprit) })
                worst = max(worst, s.report.runs)
            }
            #expect(worst == BisectSearch.bound(groups: n), "N \(n): the bound is tight")
        }
        #expect(BisectSearch.bound(groups: 1) == 1 && BisectSearch.bound(groups: 2) == 2 && BisectSearch.bound(groups: 512) == 10 && BisectSearch.bound(groups: 513) == 11)
    }

    @Test func searchTestsPrefixesInHalvingOrder() {
        let s = drive(BisectOptions(groups: 16), oracle: needs([11]))
        #expect(s.requests.map(\.groups.last) == [7, 11, 9, 10, 11])
        #expect(s.requests.dropLast().allSatisfy { $0.purpose == .search && $0.groups == Array(0...($0.groups.last ?? 0)) })
        #expect(s.requests.last == BisectRequest(groups: [11], purpose: .verify))
    }

    @Test func singleGroup() {
        let bad = drive(BisectOptions(groups: 1), oracle: needs([0]))
        #expect(bad.requests == [BisectRequest(groups: [0], purpose: .verify)])
        #expect(bad.report.verdict == .culprit && bad.report.culprits == [0] && bad.report.runs == 1)
        // the verify already ran the full set: no confirm
        let good = drive(BisectOptions(groups: 1)) { _, _ in .good }
        #expect(good.report.verdict == .noFailure && good.report.runs == 1 && good.report.culprits.isEmpty)
    }

    @Test func noGroupsIsNothingToFind() {
        #expect(BisectSearch.next(BisectOptions(groups: 0), runs: []) == .done(BisectReport(verdict: .noFailure, culprits: [], confidence: 1, runs: 0, uninstallable: 0)))
    }

    @Test func culpritAtTheEdges() {
        let first = drive(BisectOptions(groups: 16), oracle: needs([0]))
        #expect(first.report.verdict == .culprit && first.report.culprits == [0])
        #expect(!first.requests.contains { $0.purpose == .verify }, "[0] failing in the search is its verify")
        let last = drive(BisectOptions(groups: 16), oracle: needs([15]))
        #expect(last.report.verdict == .culprit && last.report.culprits == [15] && last.report.runs == 5)
        #expect(last.runs.dropLast().allSatisfy { $0.outcome == .good }, "every prefix passed; the verify named 15")
        #expect(!last.requests.contains { $0.purpose == .confirm })
    }

    @Test func badStateThatDoesNotFailIsConfirmed() {
        for n in [2, 9, 32] {
            let s = drive(BisectOptions(groups: n)) { _, _ in .good }
            #expect(s.report.verdict == .noFailure && s.report.culprits.isEmpty, "\(s.report)")
            #expect(s.requests.last == BisectRequest(groups: Array(0..<n), purpose: .confirm))
            #expect(s.report.runs == BisectSearch.bound(groups: n) + 1)
            #expect(s.report.evidence.contains(s.runs.count - 1) && evidenceIsValid(s))
        }
    }

    @Test func failureOnlyInTheFullSetIsMinimizedAfterConfirm() {
        // every prefix passes and the last group alone passes, but all together fail: 4 and 7 interact
        let s = drive(BisectOptions(groups: 8), oracle: needs([4, 7]))
        #expect(s.requests.contains(BisectRequest(groups: Array(0..<8), purpose: .confirm)))
        #expect(s.report.verdict == .combination && s.report.culprits == [4, 7], "\(s.report)")
    }

    @Test func skippedAndUninstallablePrefixesAreRoutedAround() {
        // prefix [0...7] (the first halving point) cannot be installed, [0...10] cannot be judged
        let s = drive(BisectOptions(groups: 16)) { request, _ in
            if request.groups == Array(0...7) { return .uninstallable }
            if request.groups == Array(0...10) { return .skip }
            return request.groups.contains(9) ? .bad : .good
        }
        #expect(s.report.verdict == .culprit && s.report.culprits == [9], "\(s.report)")
        #expect(s.report.uninstallable == 1 && s.report.runs == s.runs.count - 1)
        #expect(Set(s.requests).count == s.requests.count, "nothing asked twice")
        #expect(s.requests[1].groups == Array(0...6) || s.requests[1].groups == Array(0...8), "the nearest untried prefix")
    }

    @Test func undecidedWhenNoTestablePrefixSeparates() {
        // 8 vs 9 needs prefix [0...8], which cannot be judged
        let s = drive(BisectOptions(groups: 16)) { request, _ in
            if request.groups == Array(0...8) { return .skip }
            return request.groups.contains(9) ? .bad : .good
        }
        #expect(s.report.verdict == .undecided && s.report.candidates == [8, 9] && s.report.culprits.isEmpty, "\(s.report)")
        #expect(evidenceIsValid(s))
        // the whole upper half cannot be installed: the candidates are exactly what is left
        let t = drive(BisectOptions(groups: 16)) { request, _ in
            (request.groups.last ?? 0) >= 4 && request.groups.count < 16 ? .uninstallable : (request.groups.contains(13) ? .bad : .good)
        }
        #expect(t.report.verdict == .undecided && t.report.candidates == Array(4...15), "\(t.report)")
        #expect(t.report.runs == t.runs.count { $0.outcome.ran })
    }

    @Test func randomSkipsNeverMisleadTheSearch() {
        var rng = SplitMix64(seed: 2024)
        for _ in 0..<300 {
            let n = 1 + rng.below(40), culprit = rng.below(n), salt = rng.next()
            let s = drive(BisectOptions(groups: n)) { request, _ in
                // a fixed third of the prefixes cannot be judged
                var h = SplitMix64(seed: salt ^ UInt64(request.groups.count) &* 0x9E37_79B9)
                if request.purpose == .search && h.below(3) == 0 { return h.below(2) == 0 ? .skip : .uninstallable }
                return request.groups.contains(culprit) ? .bad : .good
            }
            let unresolved = s.runs.filter { !($0.outcome == .good || $0.outcome == .bad) }.map(\.groups)
            #expect(Set(unresolved).count == unresolved.count, "an unresolved prefix was asked for again")
            switch s.report.verdict {
            case .culprit: #expect(s.report.culprits == [culprit])
            case .undecided:
                #expect(s.report.candidates.contains(culprit) && s.report.candidates.count >= 2)
                #expect(s.report.candidates == Array((s.report.candidates.first ?? 0)...(s.report.candidates.last ?? 0)))
            default: Issue.record("N \(n), culprit \(culprit): \(s.report)")
            }
            #expect(evidenceIsValid(s))
        }
    }

    @Test func twoGroupCombinationIsMinimized() {
        let s = drive(BisectOptions(groups: 16), oracle: needs([2, 9]))
        #expect(s.report.verdict == .combination && s.report.culprits == [2, 9], "\(s.report)")
        #expect(s.report.confidence == 1)
        // the search stopped at 9, whose verify passed, then ddmin ran on [0...9]
        #expect(s.requests.contains(BisectRequest(groups: [9], purpose: .verify)))
        #expect(s.requests.filter { $0.purpose == .minimize }.allSatisfy { Set($0.groups).isSubset(of: 0...9) })
        #expect(evidenceIsValid(s))
        // the evidence shows the pair failing, and each of its halves not failing
        let proof = s.report.evidence.map { s.runs[$0] }
        #expect(proof.contains { $0.outcome == .bad && $0.groups == [2, 9] })
        #expect(proof.contains { $0.outcome == .good && $0.groups == [2] } && proof.contains { $0.outcome == .good && $0.groups == [9] })
    }

    @Test func threeGroupCombinationIsMinimized() {
        let s = drive(BisectOptions(groups: 20), oracle: needs([1, 5, 11]))
        #expect(s.report.verdict == .combination && s.report.culprits == [1, 5, 11], "\(s.report)")
        let proof = s.report.evidence.map { s.runs[$0] }
        // 1-minimal: every one-smaller subset was seen not to fail
        for pair in [[1, 5], [1, 11], [5, 11]] { #expect(proof.contains { $0.groups == pair && $0.outcome == .good }, "\(pair)") }
        #expect(replays(BisectOptions(groups: 20), s))
    }

    @Test func minimizingCanEndOnASingleGroup() {
        // 2 fails alone unless 1 is there too; with 1 the failure needs 6 as well. The prefix
        // search stops at 6, [6] alone passes, and ddmin finds [2] failing on its own
        let s = drive(BisectOptions(groups: 8)) { request, _ in
            let g = Set(request.groups)
            return g.contains(2) && !g.contains(1) || g.isSuperset(of: [1, 2, 6]) ? .bad : .good
        }
        #expect(s.requests.contains(BisectRequest(groups: [6], purpose: .verify)))
        #expect(s.report.verdict == .culprit && s.report.culprits == [2], "\(s.report)")
        #expect(s.report.evidence.contains { s.runs[$0].groups == [2] && s.runs[$0].outcome == .bad })
    }

    @Test func unverifiableCulpritIsMinimizedWithWhatItNeeds() {
        // 7 breaks the test but only installs together with 3 (its dependency): [7] alone is
        // uninstallable, so the answer is the combination the failure needs
        let s = drive(BisectOptions(groups: 12)) { request, _ in
            if request.groups.contains(7) && !request.groups.contains(3) { return .uninstallable }
            return request.groups.contains(7) ? .bad : .good
        }
        #expect(s.requests.contains(BisectRequest(groups: [7], purpose: .verify)))
        #expect(s.report.verdict == .combination && s.report.culprits == [3, 7], "\(s.report)")
        #expect(s.report.uninstallable >= 1)
        // with a skip (the test cannot judge 7 alone) likewise
        let t = drive(BisectOptions(groups: 12)) { request, _ in
            if request.groups == [7] { return .skip }
            return request.groups.contains(7) ? .bad : .good
        }
        #expect(t.report.verdict == .combination && t.report.culprits.contains(7) && t.report.culprits.count == 2, "\(t.report)")
    }

    @Test func deterministicSessionsReplay() {
        let cases: [(BisectOptions, (BisectRequest, inout SplitMix64) -> BisectOutcome)] = [
            (BisectOptions(groups: 37), needs([23])),
            (BisectOptions(groups: 16), needs([2, 9])),
            (BisectOptions(groups: 9), { _, _ in .good }),
            (BisectOptions(groups: 16), { r, _ in r.groups == Array(0...8) ? .skip : (r.groups.contains(9) ? .bad : .good) }),
            (BisectOptions(groups: 12), { r, _ in r.groups.contains(7) && !r.groups.contains(3) ? .uninstallable : (r.groups.contains(7) ? .bad : .good) }),
        ]
        for (options, oracle) in cases {
            let s = drive(options, oracle: oracle)
            #expect(replays(options, s), "\(s.report)")
        }
    }

    @Test func invalidRunsAreIgnored() {
        // out-of-range, unordered and empty sets say nothing about the search
        let junk = [
            BisectRun(groups: [99], purpose: .search, outcome: .bad), BisectRun(groups: [3, 1], purpose: .search, outcome: .bad),
            BisectRun(groups: [], purpose: .verify, outcome: .good),
        ]
        #expect(BisectSearch.next(BisectOptions(groups: 8), runs: junk) == BisectSearch.next(BisectOptions(groups: 8), runs: []))
        let s = drive(BisectOptions(groups: 8), oracle: needs([5]))
        guard case .done(let report) = BisectSearch.next(BisectOptions(groups: 8), runs: junk + s.runs) else {
            Issue.record("the junk changed the search")
            return
        }
        #expect(report.verdict == .culprit && report.culprits == [5] && report.runs == s.runs.count + 3)
    }

    // MARK: Flaky

    @Test func flakyAccuracyAtTwentyPercent() {
        let options = BisectOptions(groups: 32, flaky: true)
        var master = SplitMix64(seed: 0xB15E_C7)
        var correct = 0
        for _ in 0..<200 {
            let seed = master.next()
            let t = BisectSimulation.trial(options: options, flakeRate: 0.2, seed: seed)
            if t.report.verdict == .culprit && t.report.culprits == [t.culprit] {
                correct += 1
                #expect(t.report.confidence >= options.confidence)
                #expect(t.report.evidence.allSatisfy { t.runs.indices.contains($0) })
                // verified: [k] itself failed
                #expect(t.report.evidence.contains { t.runs[$0].groups == [t.culprit] && t.runs[$0].outcome == .bad })
            }
            #expect(t.report.runs <= BisectSearch.budget(groups: 32) + 1)
        }
        #expect(Double(correct) / 200 >= 0.97, "\(correct) of 200")
    }

    @Test func flakyCulpritAtTheEdgesAndOneGroup() {
        for (n, culprit) in [(1, 0), (2, 0), (2, 1), (24, 0), (24, 23)] {
            for seed: UInt64 in 1...5 {
                let options = BisectOptions(groups: n, flaky: true, flakeRate: 0.2)
                let s = drive(options, seed: seed, oracle: flaky([culprit], 0.2))
                #expect(s.report.verdict == .culprit && s.report.culprits == [culprit], "N \(n), seed \(seed): \(s.report)")
                #expect(s.report.confidence >= options.confidence && evidenceIsValid(s))
            }
        }
    }

    @Test func flakeRateIsEstimated() {
        // the estimator alone: 100 runs below the culprit (20 flaky failures), 20 failures above
        var runs: [BisectRun] = []
        for i in 0..<100 { runs.append(BisectRun(groups: Array(0...19), purpose: .search, outcome: i % 5 == 0 ? .bad : .good)) }
        for _ in 0..<20 { runs.append(BisectRun(groups: Array(0...20), purpose: .search, outcome: .bad)) }
        guard case .test(let request, let progress) = BisectSearch.next(BisectOptions(groups: 32, flaky: true), runs: runs) else {
            Issue.record("expected the verify of 20")
            return
        }
        #expect(request == BisectRequest(groups: [20], purpose: .verify))
        #expect(progress.leading == 20 && (progress.probability ?? 0) > 0.99)
        #expect(abs((progress.flakeEstimate ?? 0) - 0.2) < 0.02, "\(progress)")
        // and in sessions: near the truth at 0.2, and pulled up from the prior by a flakier test
        func meanEstimate(_ flake: Double) -> Double {
            var master = SplitMix64(seed: 77)
            var total = 0.0
            for _ in 0..<100 {
                let t = BisectSimulation.trial(options: BisectOptions(groups: 64, flaky: true), flakeRate: flake, seed: master.next())
                total += t.report.flakeEstimate ?? -1
            }
            return total / 100
        }
        let at20 = meanEstimate(0.2), at40 = meanEstimate(0.4), at0 = meanEstimate(0)
        #expect(abs(at20 - 0.2) < 0.05, "\(at20)")
        #expect(at40 > at20 + 0.05 && at0 < at20 - 0.03, "\(at0) \(at20) \(at40)")
    }

    @Test func flakyVerifyPassLeadsToCombination() {
        var minimized = 0
        for seed: UInt64 in 1...12 {
            let options = BisectOptions(groups: 16, flaky: true)
            let s = drive(options, seed: seed, oracle: flaky([3, 12], 0.2))
            #expect(s.runs.contains { $0.purpose == .verify && $0.groups == [12] }, "the search stops at 12 and verifies it")
            if s.runs.contains(where: { $0.purpose == .verify && $0.groups == [12] && $0.outcome == .good }) {
                // the pass is trusted: 12 does not fail alone, so ddmin names the pair
                minimized += 1
                #expect(s.report.verdict == .combination && s.report.culprits == [3, 12], "seed \(seed): \(s.report)")
                #expect(s.runs.contains { $0.purpose == .minimize })
                #expect(s.report.confidence >= options.confidence && s.report.confidence <= 1)
            } else {
                // the verify flaked (probability f): it counts as a failure of [12], as designed
                #expect(s.report.verdict == .culprit && s.report.culprits == [12], "seed \(seed): \(s.report)")
            }
            #expect(evidenceIsValid(s) && replays(options, s))
        }
        #expect(minimized >= 8, "\(minimized) of 12")
    }

    @Test func flakyFailuresThatAreAllFlakesEndNoFailure() {
        var right = 0
        for seed: UInt64 in 1...20 {
            let options = BisectOptions(groups: 16, flaky: true)
            let s = drive(options, seed: seed) { _, rng in rng.unit() < 0.2 ? .bad : .good }
            if s.report.verdict == .noFailure {
                right += 1
                #expect(s.report.culprits.isEmpty && s.report.confidence >= options.confidence)
                #expect(s.report.evidence.allSatisfy { s.runs[$0].outcome == .good })
            }
        }
        #expect(right >= 19, "\(right) of 20")
    }

    @Test func flakySearchRoutesAroundUnresolvedSets() {
        // every prefix of 3, 6, 9, ... groups cannot be installed: [0...19] (20 groups) separates
        // 19 from 20, nothing separates 20 from 21 ([0...20] has 21)
        func oracle(_ culprit: Int) -> (BisectRequest, inout SplitMix64) -> BisectOutcome {
            { request, rng in
                if request.groups.count > 1 && request.groups.count % 3 == 0 && request.groups.count < 32 { return .uninstallable }
                return request.groups.contains(culprit) || rng.unit() < 0.2 ? .bad : .good
            }
        }
        for seed: UInt64 in 1...10 {
            let options = BisectOptions(groups: 32, flaky: true)
            let s = drive(options, seed: seed, oracle: oracle(19))
            let unresolved = s.runs.filter { $0.outcome == .uninstallable }.map(\.groups)
            #expect(Set(unresolved).count == unresolved.count, "an uninstallable set was asked for again")
            #expect(s.report.verdict == .culprit && s.report.culprits == [19], "\(s.report)")
            #expect(replays(options, s))
            let t = drive(options, seed: seed, oracle: oracle(20))
            #expect(t.report.verdict == .undecided && t.report.candidates == [20, 21], "\(t.report)")
        }
    }

    @Test func flakySearchEndsUndecidedAtItsBudget() {
        // groups 0...3 are never separated and keep failing together: the budget stops it
        let runs = (0..<BisectSearch.budget(groups: 8)).map { i in BisectRun(groups: Array(0...(i % 2 == 0 ? 3 : 5)), purpose: .search, outcome: .bad) }
        guard case .done(let report) = BisectSearch.next(BisectOptions(groups: 8, flaky: true), runs: runs) else {
            Issue.record("expected the budget to end it")
            return
        }
        #expect(report.verdict == .undecided && report.candidates == [0, 1, 2, 3] && report.confidence >= 0.99, "\(report)")
    }

    @Test func flakyUndecidedWhenTheCulpritCannotBeSeparated() {
        // [0...8] cannot be installed: 8 and 9 stay together
        for seed: UInt64 in 1...5 {
            let s = drive(BisectOptions(groups: 16, flaky: true), seed: seed) { request, rng in
                if request.groups == Array(0...8) { return .uninstallable }
                return request.groups.contains(9) || rng.unit() < 0.1 ? .bad : .good
            }
            #expect(s.report.verdict == .undecided && s.report.candidates == [8, 9], "\(s.report)")
        }
    }

    @Test func flakySessionsReplay() {
        for seed: UInt64 in 1...5 {
            let options = BisectOptions(groups: 40, flaky: true)
            let s = drive(options, seed: seed, oracle: flaky([17], 0.25))
            #expect(replays(options, s))
            #expect(s.report.verdict == .culprit && s.report.culprits == [17])
        }
    }

    @Test func progressReportsCandidatesAndEstimate() {
        guard case .test(_, let p) = BisectSearch.next(BisectOptions(groups: 10, flaky: true), runs: [BisectRun(groups: Array(0...4), purpose: .search, outcome: .good)]) else {
            Issue.record("expected a step")
            return
        }
        #expect(p.candidates == Array(5...9) && p.leading.map { (5...9).contains($0) } == true && p.flakeEstimate != nil)
        guard case .test(_, let q) = BisectSearch.next(BisectOptions(groups: 10), runs: [BisectRun(groups: Array(0...4), purpose: .search, outcome: .good)]) else {
            Issue.record("expected a step")
            return
        }
        #expect(q.candidates == Array(5...9) && q.flakeEstimate == nil)
    }

    // MARK: Simulation

    @Test func simulationMeetsTheDeterministicBoundAndIsSeeded() {
        for n in [8, 32, 100] {
            let r = BisectSimulation.run(groups: n, flakeRate: 0, trials: 200, flaky: false, seed: 5)
            #expect(r.accuracy == 1 && r.correct == 200 && r.maxRuns <= BisectSearch.bound(groups: n), "\(r)")
        }
        let a = BisectSimulation.run(groups: 32, flakeRate: 0.2, trials: 50, flaky: true, seed: 9)
        let b = BisectSimulation.run(groups: 32, flakeRate: 0.2, trials: 50, flaky: true, seed: 9)
        #expect(a == b && a.accuracy >= 0.95)
        // plain bisection is not built for flakes: it is measurably worse than the flake-aware search
        let plain = BisectSimulation.run(groups: 32, flakeRate: 0.2, trials: 200, flaky: false, seed: 9)
        let aware = BisectSimulation.run(groups: 32, flakeRate: 0.2, trials: 200, flaky: true, seed: 9)
        #expect(plain.accuracy < 0.9 && aware.accuracy >= 0.97, "plain \(plain), flake-aware \(aware)")
    }

    @Test func splitMixIsUniformEnough() {
        var rng = SplitMix64(seed: 42)
        var counts = [Int](repeating: 0, count: 10)
        for _ in 0..<100_000 { counts[rng.below(10)] += 1 }
        #expect(counts.allSatisfy { abs($0 - 10_000) < 500 }, "\(counts)")
        var u = 0.0
        for _ in 0..<100_000 { u += rng.unit() }
        #expect(abs(u / 100_000 - 0.5) < 0.01)
    }
}
