/// What `archive gc` deletes and why it keeps the rest. Pure: the caller gathers what needs which
/// package (pinned states, states observed within the window, files added within it) and this
/// decides, so the rule is tested without a store.
public struct RetentionPlan: Sendable, Hashable, Codable {
    /// Something that keeps every file of one package identity.
    public struct Need: Sendable, Hashable {
        public var packageKey: String
        public var reason: String
        public init(packageKey: String, reason: String) {
            self.packageKey = packageKey
            self.reason = reason
        }
    }

    public struct Kept: Sendable, Hashable, Codable {
        public var file: ArchivedFile
        /// The first reason found, in the order the needs were given (pins first, by convention).
        public var reason: String
    }

    public var delete: [ArchivedFile]
    public var keep: [Kept]
    public var bytesDeleted: Int64 { delete.reduce(0) { $0 + $1.size } }

    /// - Parameters:
    ///   - files: every archived file.
    ///   - needs: package identities something needs; earlier needs give the reason.
    ///   - addedSince: files added at or after this are kept (just mirrored builds that no host
    ///     runs yet are what the archive is for); nil keeps none for that reason.
    public static func plan(files: [ArchivedFile], needs: [Need], addedSince: Timestamp?) -> RetentionPlan {
        var reason: [String: String] = [:]
        for n in needs where reason[n.packageKey] == nil { reason[n.packageKey] = n.reason }
        var delete: [ArchivedFile] = [], keep: [Kept] = []
        for f in files.sorted(by: { ($0.fileName, $0.sha256) < ($1.fileName, $1.sha256) }) {
            if let r = reason[f.package.identityKey] {
                keep.append(Kept(file: f, reason: r))
            } else if let addedSince, f.addedAt >= addedSince {
                keep.append(Kept(file: f, reason: "added \(f.addedAt), within the window"))
            } else {
                delete.append(f)
            }
        }
        return RetentionPlan(delete: delete, keep: keep)
    }
}
