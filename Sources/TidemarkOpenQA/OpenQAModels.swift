import TidemarkCore

/// One openQA job as `GET /api/v1/jobs` serves it, reduced to what a gate or a health check
/// reads. Kept close to the API's own words (`state`, `result`, `reason`) so evidence quotes
/// openQA verbatim and an operator can find the same job in the web UI.
public struct OpenQAJob: Sendable, Hashable, Codable {
    public var id: Int64
    /// `DISTRI-VERSION-FLAVOR-ARCH-BuildBUILD-TEST@MACHINE`.
    public var name: String?
    public var test: String?
    /// `scheduled`, `assigned`, `setup`, `running`, `uploading`, `done`, `cancelled`.
    public var state: String
    /// `none` until finished; then `passed`, `softfailed`, `failed`, `incomplete`, `skipped`,
    /// `user_cancelled`, `obsoleted`, `parallel_failed` …
    public var result: String
    /// Why a job ended as it did (`setup failure: isotovideo can not be started`), if openQA knows.
    public var reason: String?
    /// UTC (openQA prints `2025-01-21T10:00:00` without a zone, meaning UTC).
    public var tStarted: Timestamp?
    public var tFinished: Timestamp?
    /// The worker (`OpenQAWorker.id`) that ran it: the join to a host.
    public var assignedWorkerID: Int64?
    public var groupID: Int64?
    /// The job group's name.
    public var group: String?
    /// Set when the job was restarted: the id of its clone, which supersedes it.
    public var cloneID: Int64?
    /// The job's settings (BUILD, DISTRI, VERSION, FLAVOR, ARCH, MACHINE, TEST …).
    public var settings: [String: String]

    public init(
        id: Int64, name: String? = nil, test: String? = nil, state: String, result: String, reason: String? = nil,
        tStarted: Timestamp? = nil, tFinished: Timestamp? = nil, assignedWorkerID: Int64? = nil, groupID: Int64? = nil,
        group: String? = nil, cloneID: Int64? = nil, settings: [String: String] = [:]
    ) {
        self.id = id
        self.name = name
        self.test = test
        self.state = state
        self.result = result
        self.reason = reason
        self.tStarted = tStarted
        self.tFinished = tFinished
        self.assignedWorkerID = assignedWorkerID
        self.groupID = groupID
        self.group = group
        self.cloneID = cloneID
        self.settings = settings
    }

    public var build: String? { settings["BUILD"] }

    /// Ended for good (openQA's final states): its result will not change any more.
    public var isFinished: Bool { state == "done" || state == "cancelled" }

    /// What makes jobs "the same test" for openQA's `latest=1` (DISTRI, VERSION, FLAVOR, ARCH,
    /// TEST, MACHINE; BUILD aside): of several, only the newest (highest id) counts.
    public var scenario: String {
        let s = settings
        return [s["DISTRI"], s["VERSION"], s["FLAVOR"], s["ARCH"], test ?? s["TEST"], s["MACHINE"]]
            .map { $0 ?? "" }.joined(separator: "\u{1f}")
    }

    enum CodingKeys: String, CodingKey {
        case id, name, test, state, result, reason, group, settings
        case tStarted = "t_started", tFinished = "t_finished", assignedWorkerID = "assigned_worker_id"
        case groupID = "group_id", cloneID = "clone_id"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(Int64.self, forKey: .id)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        test = try c.decodeIfPresent(String.self, forKey: .test)
        state = try c.decode(String.self, forKey: .state)
        result = try c.decodeIfPresent(String.self, forKey: .result) ?? "none"
        reason = try c.decodeIfPresent(String.self, forKey: .reason)
        tStarted = try c.decodeIfPresent(Timestamp.self, forKey: .tStarted)
        tFinished = try c.decodeIfPresent(Timestamp.self, forKey: .tFinished)
        assignedWorkerID = try c.decodeIfPresent(Int64.self, forKey: .assignedWorkerID)
        groupID = try c.decodeIfPresent(Int64.self, forKey: .groupID)
        group = try c.decodeIfPresent(String.self, forKey: .group)
        cloneID = try c.decodeIfPresent(Int64.self, forKey: .cloneID)
        settings = try c.decodeIfPresent([String: SettingValue].self, forKey: .settings)?.mapValues(\.text) ?? [:]
    }
}

/// A setting's value: openQA stores text, but a value posted as JSON may come back as a number.
struct SettingValue: Decodable {
    var text: String

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) { text = s }
        else if let n = try? c.decode(Int64.self) { text = String(n) }
        else if let d = try? c.decode(Double.self) { text = String(d) }
        else if let b = try? c.decode(Bool.self) { text = b ? "1" : "0" }
        else if c.decodeNil() { text = "" }
        else { throw DecodingError.dataCorruptedError(in: c, debugDescription: "a setting must be text or a number") }
    }
}

/// One worker instance as `GET /api/v1/workers` serves it: what a job's `assigned_worker_id`
/// names, and the host it ran on.
public struct OpenQAWorker: Sendable, Hashable, Codable {
    public var id: Int64
    /// The worker's host name as it registered (often short, `worker14`).
    public var host: String
    /// The instance number on that host (several workers per host).
    public var instance: Int
    /// `idle`, `running`, `dead`, `broken` …
    public var status: String?

    public init(id: Int64, host: String, instance: Int, status: String? = nil) {
        self.id = id
        self.host = host
        self.instance = instance
        self.status = status
    }
}

/// The filters `GET /api/v1/jobs` understands (openQA has none on time, reason or worker: those
/// are filtered on the client). `before`/`after` are job-id bounds, the API's only way to page
/// through history without offsets that shift as jobs are created.
public struct OpenQAJobQuery: Sendable, Hashable {
    public var groupID: Int64?
    public var build: String?
    public var test: String?
    public var states: [String]
    public var results: [String]
    public var ids: [Int64]
    /// Only the newest job of each scenario (openQA's `latest=1`).
    public var latest: Bool
    /// At most this many jobs: the newest (highest ids). openQA's default is 10000, its maximum 100000.
    public var limit: Int?
    /// Only jobs with an id below / above.
    public var before: Int64?
    public var after: Int64?

    public init(
        groupID: Int64? = nil, build: String? = nil, test: String? = nil, states: [String] = [], results: [String] = [],
        ids: [Int64] = [], latest: Bool = false, limit: Int? = nil, before: Int64? = nil, after: Int64? = nil
    ) {
        self.groupID = groupID
        self.build = build
        self.test = test
        self.states = states
        self.results = results
        self.ids = ids
        self.latest = latest
        self.limit = limit
        self.before = before
        self.after = after
    }

    /// The query parameters, in a fixed order.
    public var parameters: [(String, String)] {
        var p: [(String, String)] = []
        if let groupID { p.append(("groupid", String(groupID))) }
        if let build { p.append(("build", build)) }
        if let test { p.append(("test", test)) }
        if !states.isEmpty { p.append(("state", states.joined(separator: ","))) }
        if !results.isEmpty { p.append(("result", results.joined(separator: ","))) }
        if !ids.isEmpty { p.append(("ids", ids.map(String.init).joined(separator: ","))) }
        if latest { p.append(("latest", "1")) }
        if let limit { p.append(("limit", String(limit))) }
        if let before { p.append(("before", String(before))) }
        if let after { p.append(("after", String(after))) }
        return p
    }
}
