import TidemarkCore

/// An archived file with its rpm-md fragments (primary, filelists and other `<package>`
/// elements, located at `file.href`): what a generated repository is assembled from.
public struct ArchiveEntry: Sendable {
    public var file: ArchivedFile
    public var primary: [UInt8]
    public var filelists: [UInt8]
    public var other: [UInt8]

    public init(file: ArchivedFile, primary: [UInt8], filelists: [UInt8], other: [UInt8]) {
        self.file = file
        self.primary = primary
        self.filelists = filelists
        self.other = other
    }
}

/// Where the archive's metadata lives: the same database as the history, so that one backup
/// holds both and a state and the files it needs can be checked in one place. The files
/// themselves live on disk (`PackageArchive`).
public protocol ArchiveStore: Sendable {
    /// Records a file. Returns false, changing nothing, when that SHA-256 is already archived.
    func addArchived(_ entry: ArchiveEntry) async throws -> Bool
    func archivedFile(sha256: String) async throws -> ArchivedFile?
    /// Every archived file, oldest first.
    func archivedFiles() async throws -> [ArchivedFile]
    /// Which of these SHA-256s are archived (an agent asks before uploading).
    func archivedSHA256s(among sha256s: [String]) async throws -> Set<String>
    /// A file for each of these package identities that has one (the oldest, when a package was
    /// archived as several files, e.g. signed and unsigned).
    func archivedFiles(packageKeys: [String]) async throws -> [String: ArchivedFile]
    /// Entries by SHA-256, in the order asked; unknown ones are left out.
    func archiveEntries(sha256s: [String]) async throws -> [ArchiveEntry]
    /// How many files are archived and the sequence number of the newest: a repository of
    /// everything is fresh while both are unchanged.
    func archiveSequence() async throws -> (count: Int, last: Int64)
    /// Entries added after sequence number `after`, with their sequence numbers.
    func archiveEntries(after: Int64) async throws -> [(sequence: Int64, entry: ArchiveEntry)]
    func deleteArchived(sha256s: [String]) async throws

    func pins() async throws -> [ArchivePin]
    /// Pins a state the store knows (`notFound` otherwise); pinning again updates ref and note.
    func pin(_ pin: ArchivePin) async throws
    /// Returns false when the state was not pinned.
    func unpin(_ state: StateID) async throws -> Bool
}
