import Foundation
import TidemarkCore
import TidemarkHosts

/// Describes one binary `.deb` (its `DEBIAN/control` and files).
public struct DebSpec: Sendable, Hashable {
    public var package: String
    /// As dpkg writes it: `[EPOCH:]UPSTREAM[-REVISION]`.
    public var version: String
    public var architecture: String
    public var maintainer: String
    /// First line is the synopsis; further lines become the extended description.
    public var description: String
    /// `Source:` as written (`name` or `name (version)`); nil: no field.
    public var source: String?
    public var depends: [String]
    public var multiArch: String?
    /// Files with `isConfig` are listed in `DEBIAN/conffiles` (so `dpkg -r` leaves `config-files`).
    public var files: [PackageFile]

    public init(
        package: String, version: String, architecture: String = "all",
        maintainer: String = "Tidemark Tests <tests@example.org>", description: String? = nil,
        source: String? = nil, depends: [String] = [], multiArch: String? = nil, files: [PackageFile] = []
    ) {
        self.package = package
        self.version = version
        self.architecture = architecture
        self.maintainer = maintainer
        self.description = description ?? "\(package) test package"
        self.source = source
        self.depends = depends
        self.multiArch = multiArch
        self.files = files
    }

    /// The `DEBIAN/control` text.
    public func control() -> String {
        var s = "Package: \(package)\nVersion: \(version)\nArchitecture: \(architecture)\nMaintainer: \(maintainer)\n"
        if let source { s += "Source: \(source)\n" }
        if !depends.isEmpty { s += "Depends: \(depends.joined(separator: ", "))\n" }
        if let multiArch { s += "Multi-Arch: \(multiArch)\n" }
        let lines = description.split(separator: "\n", omittingEmptySubsequences: false)
        s += "Description: \(lines.first ?? "")\n"
        for l in lines.dropFirst() { s += l.isEmpty ? " .\n" : " \(l)\n" }
        return s
    }
}

/// Builds `.deb` files with the real `dpkg-deb --build`.
public struct DebBuilder: Sendable {
    public let directory: String

    public init(directory: String) throws(TidemarkError) {
        self.directory = directory
        try FileSystem.makeDirectory(directory)
    }

    /// Stages the package tree and builds it; returns the `.deb` path
    /// (`DIR/NAME_VERSION_ARCH.deb`, the epoch's `:` replaced as dpkg-name does: dropped).
    public func build(_ spec: DebSpec) throws(TidemarkError) -> String {
        let version = spec.version.split(separator: ":").last.map(String.init) ?? spec.version
        let base = "\(spec.package)_\(version)_\(spec.architecture)"
        let stage = "\(directory)/stage-\(base)-\(UUID().uuidString.prefix(8))"
        try FileSystem.write(spec.control(), to: "\(stage)/DEBIAN/control")
        let conffiles = spec.files.filter(\.isConfig).map(\.path)
        if !conffiles.isEmpty { try FileSystem.write(conffiles.joined(separator: "\n") + "\n", to: "\(stage)/DEBIAN/conffiles") }
        for f in spec.files {
            let p = stage + f.path
            try FileSystem.write(f.contents, to: p)
            if let mode = Int(f.mode, radix: 8) {
                do { try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: p) } catch {
                    throw TidemarkError(.storage, "cannot chmod \(p): \(error.localizedDescription)")
                }
            }
        }
        let out = "\(directory)/\(base).deb"
        // -Znone: test packages are tiny, compression would only cost time.
        try Subprocess.check("dpkg-deb", ["--root-owner-group", "-Znone", "--build", stage, out])
        return out
    }
}

/// One line of `dpkg-query -W -f '${Package}\t${Version}\t${Architecture}\t${Source}\t${Status}\n'`.
public struct DpkgQueryRecord: Sendable, Hashable {
    public var package: String
    public var version: String
    public var architecture: String
    /// Empty when the package has no `Source:` field.
    public var source: String
    public var status: String

    public init(package: String, version: String, architecture: String, source: String, status: String) {
        self.package = package
        self.version = version
        self.architecture = architecture
        self.source = source
        self.status = status
    }

    /// The record as the `InstalledPackage` that `DpkgDatabase` should return for it.
    public var installedPackage: InstalledPackage? {
        guard let evr = DebianVersion.parse(version) else { return nil }
        return InstalledPackage(
            Package(format: .deb, name: package, evr: evr, arch: architecture, source: source.isEmpty ? nil : source, status: status))
    }
}

/// A root with its own dpkg database, changed with the real `dpkg --root DIR`: installs,
/// upgrades, downgrades (installing an older .deb), removals and purges land in
/// `DIR/var/lib/dpkg`, files in `DIR`, the log in `DIR/var/log/dpkg.log` (`--log`, so this
/// machine's own log is never touched).
public struct DpkgRoot: Sendable {
    public let path: String

    /// Creates `var/lib/dpkg/{status,available,info,updates,triggers}` and `var/log`.
    public init(path: String) throws(TidemarkError) {
        self.path = path
        for d in ["var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "var/log"] {
            try FileSystem.makeDirectory("\(path)/\(d)")
        }
        for f in ["status", "available"] where !FileManager.default.fileExists(atPath: "\(path)/var/lib/dpkg/\(f)") {
            try FileSystem.write("", to: "\(path)/var/lib/dpkg/\(f)")
        }
    }

    public var adminDir: String { path + "/var/lib/dpkg" }
    public var statusFile: String { adminDir + "/status" }
    public var logFile: String { path + "/var/log/dpkg.log" }

    /// Runs `dpkg --root DIR --log=DIR/var/log/dpkg.log ARGS`; a non-zero exit throws.
    @discardableResult
    public func dpkg(_ args: [String]) throws(TidemarkError) -> Subprocess.Result {
        try Subprocess.check("dpkg", ["--root=\(path)", "--log=\(logFile)"] + args)
    }

    /// `dpkg -i DEBS`: installs, upgrades or (given an older version) downgrades.
    public func install(_ debs: [String]) throws(TidemarkError) { try dpkg(["--install"] + debs) }

    /// `dpkg -r NAMES`: conffiles stay, so such packages remain as `config-files`.
    public func remove(_ names: [String]) throws(TidemarkError) { try dpkg(["--remove"] + names) }

    /// `dpkg -P NAMES`.
    public func purge(_ names: [String]) throws(TidemarkError) { try dpkg(["--purge"] + names) }

    /// `dpkg --add-architecture ARCH` (needed before installing a foreign-architecture .deb).
    public func addArchitecture(_ arch: String) throws(TidemarkError) { try dpkg(["--add-architecture", arch]) }

    /// The `dpkg-query` format `dpkgQuery` uses.
    public static let queryFormat = "${Package}\\t${Version}\\t${Architecture}\\t${Source}\\t${Status}\\n"

    /// What the real `dpkg-query --admindir DIR/var/lib/dpkg -W -f queryFormat` reports.
    public func dpkgQuery() throws(TidemarkError) -> [DpkgQueryRecord] { try DpkgRoot.dpkgQuery(adminDir: adminDir) }

    /// `dpkg-query -W` of any admin directory (`/var/lib/dpkg`: this machine's own database).
    public static func dpkgQuery(adminDir: String) throws(TidemarkError) -> [DpkgQueryRecord] {
        let r = try Subprocess.run("dpkg-query", ["--admindir=\(adminDir)", "-W", "-f", queryFormat])
        // dpkg-query -W exits 1 with "No packages found matching" on an empty database.
        guard r.status == 0 || (r.status == 1 && r.stdout.isEmpty) else {
            throw TidemarkError(.toolFailed, "dpkg-query --admindir=\(adminDir) -W failed (\(r.status)): \(r.stderrText.trimmed)")
        }
        return try r.stdoutText.split(separator: "\n").map { (line) throws(TidemarkError) -> DpkgQueryRecord in
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 5 else { throw TidemarkError(.invalidInput, "dpkg-query line has \(f.count) fields: \(line)") }
            return DpkgQueryRecord(package: f[0], version: f[1], architecture: f[2], source: f[3], status: f[4])
        }
    }
}
