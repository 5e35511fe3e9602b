import Foundation
import TidemarkCore
import TidemarkHosts

/// A directory of RPMs made into an rpm-md repository by the real `createrepo_c`, so zypper
/// sees exactly what it sees on a real mirror.
public struct RPMRepository: Sendable {
    public let path: String

    /// Creates the directory, copies `rpms` in and runs `createrepo_c`.
    public init(path: String, rpms: [String] = []) throws(TidemarkError) {
        self.path = path
        try FileSystem.makeDirectory(path)
        try add(rpms, update: true)
    }

    /// `file://PATH`, what `zypper ar` takes.
    public var url: String { "file://" + path }

    /// The `.rpm` file names in the repository, sorted.
    public var files: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".rpm") }.sorted()
    }

    /// Copies RPMs in; by default the metadata is regenerated right away.
    public func add(_ rpms: [String], update: Bool = true) throws(TidemarkError) {
        for r in rpms { try FileSystem.copy(r, to: path + "/" + (r as NSString).lastPathComponent) }
        if update { try self.update() }
    }

    /// Deletes RPMs by file name (`foo-1.0-1.noarch.rpm`), then regenerates the metadata.
    public func remove(_ fileNames: [String], update: Bool = true) throws(TidemarkError) {
        for f in fileNames { try FileSystem.remove(path + "/" + f) }
        if update { try self.update() }
    }

    /// Re-runs `createrepo_c` (full run, with filelists, without the optional sqlite files).
    public func update() throws(TidemarkError) {
        try Subprocess.check("createrepo_c", ["--quiet", "--no-database", path])
    }
}

/// One line of `rpm -qa --qf` with the identity fields, `(none)` mapped to nil (EPOCHNUM is
/// never absent; an absent ARCH, as of `gpg-pubkey`, becomes "" like `RPMDatabase` does).
public typealias RPMQueryRecord = InstalledPackage

/// A host root with its own rpm database (`rpm --root DIR --initdb`), changed only with the
/// real tools: `zypper --root DIR -n …` and `rpm --root DIR -i …`.
///
/// On this Debian machine rpm's `%_dbpath` is `~/.rpmdb`, so the database lives at
/// `DIR/root/.rpmdb/rpmdb.sqlite`; zypper writes `DIR/var/log/zypp/history`.
public struct RPMRoot: Sendable {
    public let path: String

    /// Creates the directory and an empty rpm database in it.
    public init(path: String) throws(TidemarkError) {
        self.path = path
        try FileSystem.makeDirectory(path)
        try Subprocess.check("rpm", ["--root", path, "--initdb"])
    }

    /// A root that exists already (a copy of another).
    public init(existing path: String) { self.path = path }

    /// The rpm database file, wherever rpm put it.
    public var databaseFile: String? { (try? RPMDatabase.locate(root: path))?.file }

    /// `DIR/var/log/zypp/history`.
    public var zyppHistory: String { path + "/var/log/zypp/history" }

    // MARK: zypper

    /// Runs `zypper --root DIR -n --gpg-auto-import-keys ARGS`; a non-zero exit throws.
    @discardableResult
    public func zypper(_ args: [String]) throws(TidemarkError) -> Subprocess.Result {
        try Subprocess.check("zypper", ["--root", path, "--non-interactive", "--gpg-auto-import-keys"] + args)
    }

    /// `zypper ar -G` (no gpg check: test packages are unsigned), with priority and `keeppackages`.
    public func addRepo(alias: String, url: String, priority: Int? = nil, keepPackages: Bool = false) throws(TidemarkError) {
        var args = ["addrepo", "--no-gpgcheck"]
        if let priority { args += ["--priority", String(priority)] }
        if keepPackages { args.append("--keep-packages") }
        try zypper(args + [url, alias])
    }

    public func removeRepo(_ alias: String) throws(TidemarkError) { try zypper(["removerepo", alias]) }

    /// `zypper refresh --force`: forced because repository metadata regenerated within the same
    /// second carries the same revision and zypper would keep its cached copy.
    public func refresh() throws(TidemarkError) { try zypper(["refresh", "--force"]) }

    /// `zypper in NAMES` (names, `name=version`, `name.arch` or rpm paths).
    public func install(_ names: [String]) throws(TidemarkError) { try zypper(["install"] + names) }

    /// `zypper in --oldpackage NAMES`: the downgrade openQA's rollback script does.
    public func installOldPackage(_ names: [String]) throws(TidemarkError) { try zypper(["install", "--oldpackage"] + names) }

    /// `zypper up`.
    public func update() throws(TidemarkError) { try zypper(["update"]) }

    /// `zypper dup`, how openQA workers follow their repositories.
    public func dup() throws(TidemarkError) { try zypper(["dist-upgrade"]) }

    /// `zypper rm NAMES`.
    public func remove(_ names: [String]) throws(TidemarkError) { try zypper(["remove"] + names) }

    // MARK: rpm

    /// `rpm --root DIR -i FILES` in one transaction (fast for thousands of packages, where zypper
    /// would take minutes). Real installs: files land in the root, the database records them.
    public func rpmInstall(_ files: [String], nodeps: Bool = false) throws(TidemarkError) {
        try Subprocess.check("rpm", ["--root", path, "-i"] + (nodeps ? ["--nodeps"] : []) + files)
    }

    /// `rpm --root DIR -U FILES` (upgrade), optionally `--oldpackage`.
    public func rpmUpgrade(_ files: [String], oldPackage: Bool = false) throws(TidemarkError) {
        try Subprocess.check("rpm", ["--root", path, "-U"] + (oldPackage ? ["--oldpackage"] : []) + files)
    }

    /// `rpm --root DIR -e NAMES`.
    public func rpmErase(_ names: [String]) throws(TidemarkError) {
        try Subprocess.check("rpm", ["--root", path, "-e"] + names)
    }

    /// `rpm --root DIR --import KEYFILE`: adds a `gpg-pubkey` pseudo package, as a key import
    /// does on every real host (`rpm -qa` lists it, so Tidemark must too).
    public func importKey(_ armoredKeyFile: String) throws(TidemarkError) {
        try Subprocess.check("rpm", ["--root", path, "--import", armoredKeyFile])
    }

    /// The raw `Packages` rows of the root's `rpmdb.sqlite` (hnum, header blob without magic).
    public func headerBlobs() throws(TidemarkError) -> [(hnum: Int64, blob: [UInt8])] {
        guard let file = databaseFile else { throw TidemarkError(.notFound, "no rpm database under \(path)") }
        return try RPMDatabase.headerBlobs(file: file)
    }

    /// What `rpm --root DIR -qa --qf FORMAT` prints, verbatim.
    public func rpmQuery(_ queryFormat: String) throws(TidemarkError) -> String {
        try Subprocess.check("rpm", ["--root", path, "-qa", "--qf", queryFormat]).stdoutText
    }

    /// The query format `rpmQA` runs (the oracle the database readers are compared against).
    public static let qaFormat =
        "%{NAME}|%{EPOCHNUM}|%{VERSION}|%{RELEASE}|%{ARCH}|%{VENDOR}|%{SOURCERPM}|%{DISTURL}|%{BUILDTIME}|%{INSTALLTIME}|%{SIGMD5}\\n"

    /// `rpm --root DIR -qa --qf qaFormat`, parsed: one record per installed package.
    public func rpmQA() throws(TidemarkError) -> [RPMQueryRecord] {
        try RPMRoot.parseQA(try rpmQuery(RPMRoot.qaFormat))
    }

    /// The packages in `.rpm` files, as `rpmQA` will show them once installed (`rpm -qp --qf
    /// qaFormat FILES`): the exact binaries of a target state.
    public static func packages(inFiles files: [String]) throws(TidemarkError) -> [Package] {
        guard !files.isEmpty else { return [] }
        return try parseQA(try Subprocess.check("rpm", ["-qp", "--qf", qaFormat] + files).stdoutText).map(\.package)
    }

    /// Parses `qaFormat` output, mapping `(none)` to nil.
    public static func parseQA(_ text: String) throws(TidemarkError) -> [RPMQueryRecord] {
        var out: [RPMQueryRecord] = []
        for line in text.split(separator: "\n") {
            let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 11 else {
                throw TidemarkError(.invalidInput, "rpm -qa line has \(f.count) fields, expected 11: \(line)")
            }
            func opt(_ i: Int) -> String? { f[i] == "(none)" ? nil : f[i] }
            guard let epoch = Int(f[1]) else { throw TidemarkError(.invalidInput, "rpm -qa: bad EPOCHNUM in \(line)") }
            let pkg = Package(
                format: .rpm, name: f[0], evr: EVR(epoch: epoch, version: f[2], release: f[3]), arch: opt(4) ?? "",
                digest: opt(10), vendor: opt(5), source: opt(6), disturl: opt(7), buildTime: opt(8).flatMap { Int64($0) })
            out.append(InstalledPackage(pkg, installTime: opt(9).flatMap { Int64($0) }))
        }
        return out
    }

    // MARK: configuration

    /// Writes the root's `etc/zypp/zypp.conf` (which `zypper --root DIR` reads) with
    /// `multiversion = VALUE`, e.g. `provides:multiversion(kernel)` as openSUSE ships it.
    public func setZyppMultiversion(_ value: String) throws(TidemarkError) {
        try FileSystem.write("[main]\nmultiversion = \(value)\n", to: path + "/etc/zypp/zypp.conf")
    }

    /// Points `etc/localtime` at `/usr/share/zoneinfo/ZONE` (as systemd does), e.g. `Europe/Berlin`.
    public func setTimeZone(_ zone: String) throws(TidemarkError) {
        let zoneFile = "/usr/share/zoneinfo/" + zone
        guard FileManager.default.fileExists(atPath: zoneFile) else {
            throw TidemarkError(.notFound, "no time zone '\(zone)': \(zoneFile) does not exist (is tzdata installed?)")
        }
        try FileSystem.makeDirectory(path + "/etc")
        let link = path + "/etc/localtime"
        try? FileManager.default.removeItem(atPath: link)
        do { try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: zoneFile) } catch {
            throw TidemarkError(.storage, "cannot create \(link): \(error.localizedDescription)")
        }
    }
}

extension RPMRoot {
    /// An ASCII-armored public key present on every Debian machine (debian-archive-keyring),
    /// for `importKey`: tests need a real key, not one they made up.
    public static func systemArmoredKey() throws(TidemarkError) -> String {
        let dir = "/etc/apt/trusted.gpg.d"
        let keys = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".asc") }.sorted()
        guard let first = keys.first else {
            throw TidemarkError(.notFound, "no ASCII-armored key in \(dir) (install debian-archive-keyring)")
        }
        return dir + "/" + first
    }
}
