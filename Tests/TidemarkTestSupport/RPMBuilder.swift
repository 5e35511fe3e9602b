import Foundation
import TidemarkCore
import TidemarkHosts

/// One file a test package installs.
public struct PackageFile: Sendable, Hashable {
    /// Absolute path on the target system (`/usr/share/foo/bar.txt`).
    public var path: String
    public var contents: String
    /// Octal permission bits as `install -m` takes them.
    public var mode: String
    /// rpm: listed as `%config(noreplace)`; deb: listed in `DEBIAN/conffiles`.
    public var isConfig: Bool

    public init(_ path: String, contents: String = "", mode: String = "0644", isConfig: Bool = false) {
        self.path = path
        self.contents = contents
        self.mode = mode
        self.isConfig = isConfig
    }
}

/// A subpackage of an `RPMSpec` (`%package -n NAME`). It inherits epoch, version, release,
/// vendor and disturl from the main package, as rpm does.
public struct RPMSubpackage: Sendable, Hashable {
    /// The full package name (`-n`).
    public var name: String
    public var summary: String
    public var requires: [String]
    public var provides: [String]
    public var files: [PackageFile]
    /// `BuildArch: noarch` for this subpackage only.
    public var noarch: Bool

    public init(
        name: String, summary: String? = nil, requires: [String] = [], provides: [String] = [],
        files: [PackageFile] = [], noarch: Bool = false
    ) {
        self.name = name
        self.summary = summary ?? "\(name) subpackage"
        self.requires = requires
        self.provides = provides
        self.files = files
        self.noarch = noarch
    }
}

/// An install or erase scriptlet of an `RPMSpec` (`%pre`, `%post`, `%preun`, `%postun`).
public struct RPMScriptlet: Sendable, Hashable {
    public enum Section: String, Sendable, Hashable { case pre, post, preun, postun }
    public var section: Section
    /// The script, literal (no macro expansion).
    public var body: String
    /// Runs in rpm's built-in Lua (`-p <lua>`) rather than `/bin/sh`: a shell scriptlet makes the
    /// package require `/bin/sh`, which an empty test root does not have.
    public var lua: Bool

    public init(_ section: Section, _ body: String, lua: Bool = true) {
        self.section = section
        self.body = body
        self.lua = lua
    }

    /// A Lua scriptlet that fails with `message` (rpm prints it): a `%pre` that fails makes rpm
    /// refuse to install the package.
    public static func failing(_ section: Section, message: String) -> RPMScriptlet {
        let quoted = message.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return RPMScriptlet(section, "error(\"\(quoted)\", 0)")
    }
}

/// Describes one spec file: a main package and its subpackages, all built by one `rpmbuild -bb`.
///
/// Free text (summary, vendor, disturl, changelog) is escaped for rpm's macro expansion (`%`).
/// Dependencies are only what is listed (`AutoReqProv: no`), so packages install into an empty
/// root.
public struct RPMSpec: Sendable, Hashable {
    public var name: String
    public var epoch: Int?
    public var version: String
    public var release: String
    /// `noarch`, or a target such as `x86_64`, `i686`, `aarch64` (passed to `rpmbuild --target`).
    public var arch: String
    public var summary: String
    public var license: String
    public var vendor: String?
    /// Sets the DISTURL tag (through `%define disturl`, which rpmbuild copies into the header).
    public var disturl: String?
    public var requires: [String]
    public var provides: [String]
    public var conflicts: [String]
    public var obsoletes: [String]
    public var files: [PackageFile]
    /// Written newest first; each entry's `time` is kept to the second (rpm's long date format),
    /// `author` is the rest of the `*` line (`Name <mail> - 1.0-1`), `text` the lines below it.
    public var changelog: [ChangelogEntry]
    public var subpackages: [RPMSubpackage]
    /// Whether the main package itself is built (rpm builds only packages with a `%files`).
    public var buildMainPackage: Bool
    /// Fixes BUILDTIME (via `SOURCE_DATE_EPOCH`); nil: the time of the build.
    public var buildTime: Int64?
    /// `Requires(pre):` lines (RPMSENSE_SCRIPT_PRE, createrepo_c's `pre="1"`).
    public var requiresPre: [String] = []
    /// Weak dependencies (`Recommends:` & co).
    public var recommends: [String] = []
    public var suggests: [String] = []
    public var supplements: [String] = []
    public var enhances: [String] = []
    /// Directories the main package owns (`%dir`), created empty.
    public var directories: [String] = []
    /// `%ghost` files of the main package: listed, created empty in the build root, not in the payload.
    public var ghosts: [String] = []
    public var url: String?
    public var group: String?
    public var packager: String?
    /// The `%description` text; nil: the summary.
    public var description: String?
    /// `%_binary_payload` / `%_source_payload`: `w.ufdio` (uncompressed, fast) unless a test
    /// needs a compressed payload (`w9.gzdio`, `w2.xzdio`, `w3.zstdio`).
    public var payload: String = "w.ufdio"
    /// Scriptlets of the main package.
    public var scriptlets: [RPMScriptlet] = []

    public init(
        name: String, epoch: Int? = nil, version: String, release: String = "1", arch: String = "noarch",
        summary: String? = nil, license: String = "MIT", vendor: String? = nil, disturl: String? = nil,
        requires: [String] = [], provides: [String] = [], conflicts: [String] = [], obsoletes: [String] = [],
        files: [PackageFile] = [], changelog: [ChangelogEntry] = [], subpackages: [RPMSubpackage] = [],
        buildMainPackage: Bool = true, buildTime: Int64? = nil
    ) {
        self.name = name
        self.epoch = epoch
        self.version = version
        self.release = release
        self.arch = arch
        self.summary = summary ?? "\(name) test package"
        self.license = license
        self.vendor = vendor
        self.disturl = disturl
        self.requires = requires
        self.provides = provides
        self.conflicts = conflicts
        self.obsoletes = obsoletes
        self.files = files
        self.changelog = changelog
        self.subpackages = subpackages
        self.buildMainPackage = buildMainPackage
        self.buildTime = buildTime
    }

    /// Makes text literal for rpm's spec parser (no macro expansion).
    static func escape(_ s: String) -> String { s.replacingOccurrences(of: "%", with: "%%") }

    /// rpm's long changelog date, `Mon Jan 06 10:11:12 UTC 2025`.
    static func changelogDate(_ t: Int64) -> String {
        let days = t >= 0 ? t / 86400 : (t - 86399) / 86400
        let sec = t - days * 86400
        let (y, m, d) = Timestamp.civil(fromDays: days)
        let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][Int(((days % 7) + 7) % 7)]
        let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][Int(m - 1)]
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(weekday) \(month) \(two(d)) \(two(sec / 3600)):\(two(sec / 60 % 60)):\(two(sec % 60)) UTC \(y)"
    }

    /// The spec text. Files are copied from `%{_sourcedir}/tm-N` (written by `RPMBuilder`).
    public func text() -> String {
        var s = """
            # Fast, reproducible test builds: uncompressed payload (unless `payload` is set), no post-install scripts
            # (strip, brp checks), no debuginfo, no build-id links, no automatic dependencies.
            %global _binary_payload \(payload)
            %define __os_install_post %{nil}
            %define debug_package %{nil}
            %define _build_id_links none
            %define _source_payload \(payload)

            """
        if let disturl { s += "%define disturl \(RPMSpec.escape(disturl))\n" }
        s += "Name: \(name)\n"
        if let epoch { s += "Epoch: \(epoch)\n" }
        s += "Version: \(version)\nRelease: \(release)\nSummary: \(RPMSpec.escape(summary))\nLicense: \(RPMSpec.escape(license))\n"
        if let vendor { s += "Vendor: \(RPMSpec.escape(vendor))\n" }
        if let url { s += "URL: \(RPMSpec.escape(url))\n" }
        if let group { s += "Group: \(RPMSpec.escape(group))\n" }
        if let packager { s += "Packager: \(RPMSpec.escape(packager))\n" }
        if arch == "noarch" { s += "BuildArch: noarch\n" }
        s += "AutoReqProv: no\n"
        for r in requires { s += "Requires: \(r)\n" }
        for p in provides { s += "Provides: \(p)\n" }
        for c in conflicts { s += "Conflicts: \(c)\n" }
        for o in obsoletes { s += "Obsoletes: \(o)\n" }
        for r in requiresPre { s += "Requires(pre): \(r)\n" }
        for r in recommends { s += "Recommends: \(r)\n" }
        for r in suggests { s += "Suggests: \(r)\n" }
        for r in supplements { s += "Supplements: \(r)\n" }
        for r in enhances { s += "Enhances: \(r)\n" }
        s += "\n%description\n\(RPMSpec.escape(description ?? summary))\n\n"
        for sub in subpackages {
            s += "%package -n \(sub.name)\nSummary: \(RPMSpec.escape(sub.summary))\n"
            if sub.noarch { s += "BuildArch: noarch\n" }
            for r in sub.requires { s += "Requires: \(r)\n" }
            for p in sub.provides { s += "Provides: \(p)\n" }
            s += "%description -n \(sub.name)\n\(RPMSpec.escape(sub.summary))\n\n"
        }
        s += "%install\n"
        for (n, f) in allFiles.enumerated() {
            s += "install -D -m \(f.mode) %{_sourcedir}/tm-\(n) %{buildroot}\(f.path)\n"
        }
        for d in directories { s += "mkdir -p %{buildroot}\(d)\n" }
        for g in ghosts { s += "mkdir -p \"$(dirname %{buildroot}\(g))\" && touch %{buildroot}\(g)\n" }
        for script in scriptlets {
            s += "\n%\(script.section.rawValue)\(script.lua ? " -p <lua>" : "")\n\(RPMSpec.escape(script.body))\n"
        }
        func filesSection(_ header: String, _ files: [PackageFile]) -> String {
            var t = "\n\(header)\n"
            for f in files { t += (f.isConfig ? "%config(noreplace) " : "") + f.path + "\n" }
            return t
        }
        if buildMainPackage {
            s += filesSection("%files", files)
            for d in directories { s += "%dir \(d)\n" }
            for g in ghosts { s += "%ghost \(g)\n" }
        }
        for sub in subpackages { s += filesSection("%files -n \(sub.name)", sub.files) }
        if !changelog.isEmpty {
            s += "\n%changelog\n"
            for e in changelog.sorted(by: { $0.time > $1.time }) {
                s += "* \(RPMSpec.changelogDate(e.time)) \(RPMSpec.escape(e.author))\n\(RPMSpec.escape(e.text))\n\n"
            }
        }
        return s
    }

    /// Files of the main package and all subpackages, in spec order (`tm-N` numbering).
    var allFiles: [PackageFile] { files + subpackages.flatMap(\.files) }
}

/// Builds RPMs with the real `rpmbuild`, one `rpmbuild -bb` per spec, each in its own
/// `_topdir` below `directory` so that parallel tests never collide.
public struct RPMBuilder: Sendable {
    public let directory: String

    public init(directory: String) throws(TidemarkError) {
        self.directory = directory
        try FileSystem.makeDirectory(directory)
    }

    /// Builds every package of the spec; returns the paths of the `.rpm` files rpmbuild wrote.
    public func build(_ spec: RPMSpec) throws(TidemarkError) -> [String] {
        let top = try uniqueTopdir(spec.name)
        for (n, f) in spec.allFiles.enumerated() {
            try FileSystem.write(f.contents, to: "\(top)/SOURCES/tm-\(n)")
        }
        let specFile = "\(top)/SPECS/\(spec.name).spec"
        try FileSystem.write(spec.text(), to: specFile)
        var args = ["-bb", "--define", "_topdir \(top)", "--define", "_buildhost tidemark-test"]
        var env: [String: String] = [:]
        if let t = spec.buildTime {
            env["SOURCE_DATE_EPOCH"] = String(t)
            args += ["--define", "use_source_date_epoch_as_buildtime 1"]
        }
        if spec.arch != "noarch" { args += ["--target", spec.arch] }
        return try run(args + [specFile], env: env)
    }

    /// Builds the source package of the spec (`rpmbuild -bs`); returns the `.src.rpm` path.
    public func buildSource(_ spec: RPMSpec) throws(TidemarkError) -> String {
        let top = try uniqueTopdir(spec.name)
        let specFile = "\(top)/SPECS/\(spec.name).spec"
        try FileSystem.write(spec.text(), to: specFile)
        var env: [String: String] = [:]
        var args = ["-bs", "--define", "_topdir \(top)", "--define", "_buildhost tidemark-test"]
        if let t = spec.buildTime {
            env["SOURCE_DATE_EPOCH"] = String(t)
            args += ["--define", "use_source_date_epoch_as_buildtime 1"]
        }
        let paths = try run(args + [specFile], env: env)
        guard let src = paths.first(where: { $0.hasSuffix(".src.rpm") }) else {
            throw TidemarkError(.toolFailed, "rpmbuild -bs wrote no .src.rpm (wrote \(paths))")
        }
        return src
    }

    /// Builds `count` empty noarch packages `PREFIX-00000` … from ONE spec of subpackages: the
    /// fast way to a root of thousands of packages (3,000 take about two seconds).
    public func buildMany(
        prefix: String, count: Int, version: String = "1.0", release: String = "1", vendor: String? = nil
    ) throws(TidemarkError) -> [String] {
        let width = max(5, String(count - 1).count)
        func name(_ i: Int) -> String {
            let s = String(i)
            return "\(prefix)-" + String(repeating: "0", count: max(0, width - s.count)) + s
        }
        let spec = RPMSpec(
            name: prefix, version: version, release: release, vendor: vendor,
            subpackages: (0..<count).map { RPMSubpackage(name: name($0), summary: "s") }, buildMainPackage: false)
        return try build(spec)
    }

    private func uniqueTopdir(_ name: String) throws(TidemarkError) -> String {
        let top = "\(directory)/rpmbuild-\(name)-\(UUID().uuidString.prefix(8))"
        for d in ["SOURCES", "SPECS", "BUILD", "RPMS", "SRPMS", "BUILDROOT"] { try FileSystem.makeDirectory("\(top)/\(d)") }
        return top
    }

    private func run(_ args: [String], env: [String: String]) throws(TidemarkError) -> [String] {
        let r = try Subprocess.check("rpmbuild", args, environment: env)
        var paths: [String] = []
        for line in (r.stdoutText + "\n" + r.stderrText).split(separator: "\n") where line.hasPrefix("Wrote: ") {
            let p = String(line.dropFirst(7)).trimmed
            if p.hasSuffix(".rpm") { paths.append(p) }
        }
        guard !paths.isEmpty else {
            throw TidemarkError(.toolFailed, "rpmbuild \(args.joined(separator: " ")) wrote no .rpm file:\n\(r.stdoutText.suffix(2000))")
        }
        return paths
    }
}
