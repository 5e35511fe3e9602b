/// What one test run of a bisection said about the state it ran on.
public enum BisectOutcome: String, Sendable, Hashable, Codable, CaseIterable {
    /// The test passed (exit 0). Trusted even when the test is flaky: a flaky test fails good
    /// states, it does not pass bad ones.
    case good
    /// The test failed (exit 1–127 but 125).
    case bad
    /// The test ran and said it cannot judge this state (exit 125, `git bisect run`'s skip).
    case skip
    /// The step's state could not be installed (zypper could not resolve it): the test never ran.
    case uninstallable

    /// Whether the test command ran (what "test runs used" counts).
    public var ran: Bool { self != .uninstallable }
}

/// One recorded run, as the search reads it: which groups were applied on top of the good
/// state, why the search asked for it, and what the test said.
public struct BisectRun: Sendable, Hashable, Codable {
    /// Indices into the session's groups, ascending.
    public var groups: [Int]
    public var purpose: BisectRequest.Purpose
    public var outcome: BisectOutcome

    public init(groups: [Int], purpose: BisectRequest.Purpose, outcome: BisectOutcome) {
        self.groups = groups
        self.purpose = purpose
        self.outcome = outcome
    }
}

/// How a bisection searches: over how many groups, and whether a failure may be a flake.
public struct BisectOptions: Sendable, Hashable, Codable {
    /// The number of groups (N); groups are indexed 0..<N in the order their changes happened.
    public var groups: Int
    /// A failure may be a flake (the test fails a good state now and then): the search re-runs
    /// where it is most informative and stops at `confidence`.
    public var flaky: Bool
    /// The operator's guess of the flake rate (`--flaky 0.2`); nil: the search's own prior.
    /// Either way the rate is re-estimated from the runs as they come in.
    public var flakeRate: Double?
    /// With `flaky`: the posterior probability at which the search stops and names a culprit.
    public var confidence: Double

    public static let defaultConfidence = 0.99

    public init(groups: Int, flaky: Bool = false, flakeRate: Double? = nil, confidence: Double = BisectOptions.defaultConfidence) {
        self.groups = groups
        self.flaky = flaky
        self.flakeRate = flakeRate
        self.confidence = confidence
    }
}

/// The state the search wants tested next: the good state plus these groups' changes.
public struct BisectRequest: Sendable, Hashable, Codable {
    public enum Purpose: String, Sendable, Hashable, Codable, CaseIterable {
        /// Narrowing down: the good state plus the changes up to some point.
        case search
        /// The one remaining candidate alone on the good state: does it fail by itself?
        case verify
        /// The whole bad state: does it fail at all?
        case confirm
        /// Delta debugging: a subset of a failing combination.
        case minimize
    }

    /// Indices into the session's groups, ascending.
    public var groups: [Int]
    public var purpose: Purpose

    public init(groups: [Int], purpose: Purpose) {
        self.groups = groups
        self.purpose = purpose
    }
}

/// Where the search stands before a step (shown as progress).
public struct BisectProgress: Sendable, Hashable, Codable {
    /// Groups that may still be the culprit (deterministic), or that hold posterior probability
    /// above 1/(100 N) (flaky).
    public var candidates: [Int]
    /// With `flaky`: the most probable culprit and its probability.
    public var leading: Int?
    public var probability: Double?
    /// With `flaky`: the flake rate estimated from the runs so far.
    public var flakeEstimate: Double?

    public init(candidates: [Int], leading: Int? = nil, probability: Double? = nil, flakeEstimate: Double? = nil) {
        self.candidates = candidates
        self.leading = leading
        self.probability = probability
        self.flakeEstimate = flakeEstimate
    }
}

/// How a bisection ended: the culprit (or minimal failing combination), how sure, and what it
/// took. Group indices refer to the session's groups; the CLI names them.
public struct BisectReport: Sendable, Hashable, Codable {
    public enum Verdict: String, Sendable, Hashable, Codable {
        /// One group's change makes the test fail on its own.
        case culprit
        /// No single group fails alone; `culprits` is a 1-minimal failing combination (removing
        /// any one of them makes the failure go away).
        case combination
        /// The runs could not separate `candidates` (steps between them could not be installed
        /// or tested, or the flaky search ran out of its run budget).
        case undecided
        /// The bad state does not fail the test (or, flaky, its failures are explained by flakes
        /// alone): there is nothing to find.
        case noFailure
    }

    public var verdict: Verdict
    /// The culprit (one index) or the minimal combination (several); empty for `noFailure`.
    public var culprits: [Int]
    /// With `undecided`: the groups that may still be the culprit.
    public var candidates: [Int]
    /// Probability that `culprits` is right: 1 when every run was deterministic and it was
    /// proven by a failing run; the posterior with `flaky`.
    public var confidence: Double
    /// Test runs used (the test command ran: good, bad or skip).
    public var runs: Int
    /// Steps that could not be installed (no test run).
    public var uninstallable: Int
    /// With `flaky`: the final flake-rate estimate.
    public var flakeEstimate: Double?
    /// The runs that prove the verdict, as indices into the run list: the last good run before
    /// the culprit and the failing runs that name it (or the minimization's final runs).
    public var evidence: [Int]

    public init(
        verdict: Verdict, culprits: [Int], candidates: [Int] = [], confidence: Double, runs: Int, uninstallable: Int, flakeEstimate: Double? = nil, evidence: [Int] = []
    ) {
        self.verdict = verdict
        self.culprits = culprits
        self.candidates = candidates
        self.confidence = confidence
        self.runs = runs
        self.uninstallable = uninstallable
        self.flakeEstimate = flakeEstimate
        self.evidence = evidence
    }
}
