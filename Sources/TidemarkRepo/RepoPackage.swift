import TidemarkCore
import TidemarkRPM

/// One package of an rpm-md repository: its three XML fragments (`<package>` of primary.xml,
/// filelists.xml and other.xml), written once from the `.rpm` file exactly as createrepo_c 0.17
/// writes them, so that a repository of thousands of packages is re-assembled by concatenation
/// (`RepoMetadata.assemble`) when one package comes or goes.
///
/// Plain values only (`Sendable`, `Codable`): a store can keep the fragments next to the
/// archived file and never read the `.rpm` again.
public struct RepoPackage: Sendable, Hashable, Codable {
    public let name: String
    /// As primary.xml has it (`src` for a source package).
    public let arch: String
    public let epoch: String
    public let version: String
    public let release: String
    /// SHA-256 of the file, hex: createrepo_c's pkgid.
    public let pkgid: String
    /// `<location href>`: the file's path relative to the repository root.
    public let href: String
    /// `<location xml:base>`, when the file lives elsewhere (nil: below the repository root).
    public let base: String?
    /// Bytes of the `.rpm` file.
    public let packageSize: Int
    /// `<package type="rpm">…</package>\n` for primary.xml.
    public let primary: [UInt8]
    /// `<package pkgid name arch>…</package>\n` for filelists.xml.
    public let filelists: [UInt8]
    /// `<package pkgid name arch>…</package>\n` for other.xml.
    public let other: [UInt8]

    public init(
        name: String, arch: String, epoch: String, version: String, release: String, pkgid: String, href: String,
        base: String? = nil, packageSize: Int, primary: [UInt8], filelists: [UInt8], other: [UInt8]
    ) {
        self.name = name
        self.arch = arch
        self.epoch = epoch
        self.version = version
        self.release = release
        self.pkgid = pkgid
        self.href = href
        self.base = base
        self.packageSize = packageSize
        self.primary = primary
        self.filelists = filelists
        self.other = other
    }

    /// createrepo_c's default `--changelog-limit`: the newest 10 entries go into other.xml.
    public static let defaultChangelogLimit = 10

    /// The fragments of a package file, as createrepo_c writes them for the same file.
    ///
    /// - Parameters:
    ///   - href: the file's path relative to the repository root (`Packages/f/foo-1-1.noarch.rpm`).
    ///   - base: `xml:base` of `<location>`, if any.
    ///   - mtime: the file's modification time, seconds (`<time file=…>`; createrepo_c stats the file).
    ///   - changelogLimit: how many of the newest changelog entries to keep; nil: all.
    /// - Throws: `TidemarkError(.invalidInput)` naming the field when a text has a control
    ///   character createrepo_c refuses (ASCII below 32 other than tab, newline, carriage return).
    public init(file: RPMFile, href: String, base: String? = nil, mtime: Int64, changelogLimit: Int? = RepoPackage.defaultChangelogLimit)
        throws(TidemarkError)
    {
        let model = try RepoPackageModel(file: file, href: href, base: base, mtime: mtime, changelogLimit: changelogLimit)
        self.init(
            name: model.name, arch: model.arch, epoch: model.epoch, version: model.version, release: model.release,
            pkgid: model.pkgid, href: href, base: base, packageSize: file.packageSize,
            primary: model.primaryXML(), filelists: model.filelistsXML(), other: model.otherXML())
    }

    /// The same package at another location: only `<location>` of the primary fragment
    /// changes, so a store can serve archived files under any layout without the `.rpm`.
    public func relocated(href: String, base: String? = nil) -> RepoPackage {
        var line: [UInt8] = []
        line.raw("  <location ")
        if let base, !base.isEmpty {
            line.raw("xml:base=\"")
            XMLEscape.attribute(base, into: &line)
            line.raw("\" ")
        }
        line.raw("href=\"")
        XMLEscape.attribute(href, into: &line)
        line.raw("\"/>\n")
        // createrepo_c writes exactly one "\n  <location " line, before "  <format>".
        let marker = Array("\n  <location ".utf8)
        var updated = primary
        if let start = RepoPackage.find(marker, in: primary), let end = primary[(start + 1)...].firstIndex(of: 0x0a) {
            updated.replaceSubrange((start + 1)...end, with: line)
        }
        return RepoPackage(
            name: name, arch: arch, epoch: epoch, version: version, release: release, pkgid: pkgid, href: href,
            base: (base?.isEmpty ?? true) ? nil : base, packageSize: packageSize, primary: updated, filelists: filelists, other: other)
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        let first = needle[0]
        var i = 0
        while i <= haystack.count - needle.count {
            if haystack[i] == first, haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    /// `name-[epoch:]version-release.arch`, for messages.
    public var nevra: String { "\(name)-\(epoch == "0" ? "" : epoch + ":")\(version)-\(release).\(arch)" }
}

/// A createrepo_c `cr_Package` as `cr_package_from_header` fills it: the dependency lists
/// already filtered and re-sorted, the changelog trimmed and re-timed.
struct RepoPackageModel {
    struct Dependency {
        var name: String
        var flags: String?
        var epoch: String?
        var version: String?
        var release: String?
        var pre: Bool
    }

    struct Changelog {
        var author: String
        var date: Int64
        var text: String
    }

    var name, arch, epoch, version, release: String
    var pkgid: String
    var summary, description, packager, url: String
    var license, vendor, group, buildHost, sourceRPM: String
    var fileTime, buildTime: Int64
    var packageSize: Int
    var installedSize, archiveSize: UInt64
    var headerStart, headerEnd: Int
    var href: String
    var base: String?
    var provides: [Dependency] = [], requires: [Dependency] = [], conflicts: [Dependency] = [], obsoletes: [Dependency] = []
    var suggests: [Dependency] = [], enhances: [Dependency] = [], recommends: [Dependency] = [], supplements: [Dependency] = []
    /// (path, type) with type "", "dir" or "ghost", in header order.
    var files: [(path: String, type: String)] = []
    /// Oldest first, as other.xml lists them.
    var changelog: [Changelog] = []

    init(file f: RPMFile, href: String, base: String?, mtime: Int64, changelogLimit: Int?) throws(TidemarkError) {
        name = f.name
        arch = f.isSourcePackage ? "src" : f.arch
        // createrepo_c: "%llu" of headerGetNumber(EPOCH), 0 when absent
        epoch = String(UInt32(truncatingIfNeeded: f.epoch ?? 0))
        version = f.version
        release = f.release
        pkgid = f.fileSHA256
        summary = f.summary ?? ""
        description = f.description ?? ""
        packager = f.packager ?? ""
        url = f.url ?? ""
        license = f.license ?? ""
        vendor = f.vendor ?? ""
        group = f.group ?? ""
        buildHost = f.buildHost ?? ""
        sourceRPM = f.sourceRPM ?? ""
        fileTime = mtime
        buildTime = f.buildTime ?? 0
        packageSize = f.packageSize
        installedSize = f.installedSize ?? 0
        archiveSize = f.archiveSize ?? 0
        headerStart = f.headerRange.lowerBound
        headerEnd = f.headerRange.upperBound
        self.href = href
        self.base = base

        // Files
        var allPaths = Set<String>()
        allPaths.reserveCapacity(f.files.count)
        files.reserveCapacity(f.files.count)
        for e in f.files {
            let type: String
            switch e.kind {
            case .directory: type = "dir"
            case .ghost: type = "ghost"
            case .file: type = ""
            }
            files.append((e.path, type))
            allPaths.insert(e.path)
        }

        // Dependencies, in createrepo_c's order of lists: provides, conflicts, obsoletes,
        // requires, suggests, enhances, recommends, supplements, then the legacy weak ones.
        func make(_ d: RPMDependency, pre: Bool) -> Dependency {
            Dependency(name: d.name, flags: d.comparison?.rawValue, epoch: d.epoch, version: d.version, release: d.release, pre: pre)
        }
        func nfv(_ d: RPMDependency) -> String { d.name + (d.comparison?.rawValue ?? "") + d.evrString }

        var provided = Set<String>()
        for d in f.dependencies(.provides) where !d.hasBadEpoch {
            provided.insert(nfv(d))
            provides.append(make(d, pre: false))
        }
        for d in f.dependencies(.conflicts) where !d.hasBadEpoch { conflicts.append(make(d, pre: false)) }
        for d in f.dependencies(.obsoletes) where !d.hasBadEpoch { obsoletes.append(make(d, pre: false)) }

        // Requires: drop rpmlib(), own primary files, what the package provides (same name,
        // flags and version), repeats of the last require of the same name; MISSINGOK ones are
        // recommends (createrepo_c built with legacy weak deps, as Debian's and SUSE's are);
        // of the libc.so.6 requires only the highest stays, and goes last.
        var lastByName: [String: (flags: String?, version: String, pre: Bool)] = [:]
        var libcHighest: Dependency?
        for d in f.dependencies(.requires) {
            if d.name.utf8.starts(with: "rpmlib(".utf8) { continue }
            if d.name.utf8.first == UInt8(ascii: "/"), allPaths.contains(d.name), RepoPackageModel.isPrimary(d.name) { continue }
            if provided.contains(nfv(d)) { continue }
            let pre = d.isPre
            let flags = d.comparison?.rawValue
            if let last = lastByName[d.name], last.flags == flags, last.version == d.evrString, last.pre == pre { continue }
            if d.hasBadEpoch { continue }
            if d.flags & RPMDependency.Sense.missingOK != 0 {
                recommends.append(make(d, pre: false))
                continue
            }
            let dep = make(d, pre: pre)
            if d.name.utf8.starts(with: "libc.so.6".utf8) {
                if let highest = libcHighest {
                    if RepoPackageModel.compareLibc(highest.name, dep.name) == 2 { libcHighest = dep }
                } else {
                    libcHighest = dep
                }
                continue
            }
            requires.append(dep)
            lastByName[d.name] = (flags, d.evrString, pre)
        }
        if let libcHighest { requires.append(libcHighest) }

        for d in f.dependencies(.suggests) where !d.hasBadEpoch { suggests.append(make(d, pre: false)) }
        for d in f.dependencies(.enhances) where !d.hasBadEpoch { enhances.append(make(d, pre: false)) }
        for d in f.dependencies(.recommends) where !d.hasBadEpoch { recommends.append(make(d, pre: false)) }
        for d in f.dependencies(.supplements) where !d.hasBadEpoch { supplements.append(make(d, pre: false)) }
        for d in f.dependencies(.oldSuggests) where !d.hasBadEpoch {
            if d.flags & RPMDependency.Sense.strong != 0 { recommends.append(make(d, pre: false)) } else { suggests.append(make(d, pre: false)) }
        }
        for d in f.dependencies(.oldEnhances) where !d.hasBadEpoch {
            if d.flags & RPMDependency.Sense.strong != 0 { supplements.append(make(d, pre: false)) } else { enhances.append(make(d, pre: false)) }
        }

        // Changelog: the newest `limit` entries, authors without trailing spaces; entries with
        // the time of the one before (newer) push that one (and its equal-timed run) a second later.
        let limit = changelogLimit ?? Int.max
        var list: [Changelog] = []  // front = last taken (oldest)
        var lastTime: Int64 = 0
        for entry in f.changelog.prefix(max(0, limit)) {
            let time = entry.time
            list.insert(Changelog(author: RepoPackageModel.trimAuthor(entry.author), date: time, text: entry.text), at: 0)
            if lastTime == time {
                var t = Int64(Int32(truncatingIfNeeded: time))  // createrepo_c keeps it in an int
                var i = 1
                while i < list.count, list[i].date == t {
                    list[i].date += 1
                    t += 1
                    i += 1
                }
            } else {
                lastTime = time
            }
        }
        changelog = list

        try checkControlCharacters(file: f)
    }

    /// createrepo_c's `cr_is_primary`: the files primary.xml lists.
    static func isPrimary(_ path: String) -> Bool {
        let u = path.utf8
        if u.starts(with: "/etc/".utf8) { return true }
        if path == "/usr/lib/sendmail" { return true }
        // strstr(path, "bin/")
        var state = 0
        for b in u {
            switch (state, b) {
            case (_, UInt8(ascii: "b")): state = 1
            case (1, UInt8(ascii: "i")): state = 2
            case (2, UInt8(ascii: "n")): state = 3
            case (3, UInt8(ascii: "/")): return true
            default: state = 0
            }
        }
        return false
    }

    /// createrepo_c removes spaces (only) from the end of a changelog author, never its first byte.
    static func trimAuthor(_ s: String) -> String {
        var u = Array(s.utf8)
        while u.count > 1, u[u.count - 1] == 0x20 { u.removeLast() }
        return String(decoding: u, as: UTF8.self)
    }

    /// createrepo_c's `cr_compare_dependency` for two `libc.so.6…` names: 0 same, 1 first
    /// higher, 2 second higher, -1 error. Compares the version in the first parentheses.
    static func compareLibc(_ a: String, _ b: String) -> Int {
        if a == b { return 0 }
        let x = Array(a.utf8), y = Array(b.utf8)
        let open1 = x.firstIndex(of: 0x28), open2 = y.firstIndex(of: 0x28)
        guard open1 != nil || open2 != nil else { return 0 }
        guard var v1 = open1 else { return 2 }
        guard var v2 = open2 else { return 1 }
        let close1 = x[v1...].firstIndex(of: 0x29), close2 = y[v2...].firstIndex(of: 0x29)
        guard close1 != nil || close2 != nil else { return -1 }
        guard let e1 = close1 else { return 2 }
        guard let e2 = close2 else { return 1 }
        v1 += 1
        v2 += 1
        if v1 == e1 && v2 == e2 { return 0 }
        if v1 == e1 { return 2 }
        if v2 == e2 { return 1 }
        func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
        while v1 < x.count, !isDigit(x[v1]) { v1 += 1 }
        while v2 < y.count, !isDigit(y[v2]) { v2 += 1 }
        if v1 > e1 && v2 > e2 { return 0 }
        if v1 > e1 { return 2 }
        if v2 > e2 { return 1 }
        let s1 = String(decoding: x[v1..<e1], as: UTF8.self), s2 = String(decoding: y[v2..<e2], as: UTF8.self)
        let r = RPMVersion.compare(s1, s2)
        return r < 0 ? 2 : (r > 0 ? 1 : 0)
    }

    /// createrepo_c refuses (skips, with an error) a package whose texts contain ASCII control
    /// characters other than tab, newline and carriage return.
    func checkControlCharacters(file f: RPMFile) throws(TidemarkError) {
        func check(_ s: String?, _ what: @autoclosure () -> String) throws(TidemarkError) {
            guard let s else { return }
            for b in s.utf8 where b < 32 && b != 9 && b != 10 && b != 13 {
                throw TidemarkError(
                    .invalidInput,
                    "\(href): \(what()) contains the control character 0x\(String(b, radix: 16)) (ASCII below 32 other than tab, newline, carriage return), which rpm-md metadata cannot carry; createrepo_c refuses the package too")
            }
        }
        try check(name, "the name")
        try check(arch, "the arch")
        try check(version, "the version")
        try check(release, "the release")
        try check(summary, "the summary")
        try check(description, "the description")
        try check(url, "the URL")
        try check(license, "the license")
        try check(vendor, "the vendor")
        try check(group, "the group")
        try check(buildHost, "the build host")
        try check(sourceRPM, "the source rpm")
        try check(packager, "the packager")
        try check(href, "the location href")
        try check(base, "the location base")
        for (label, list) in [
            ("requires", requires), ("provides", provides), ("conflicts", conflicts), ("obsoletes", obsoletes), ("suggests", suggests),
            ("enhances", enhances), ("recommends", recommends), ("supplements", supplements),
        ] {
            for d in list {
                try check(d.name, "\(label) entry '\(d.name)'")
                try check(d.epoch, "the epoch of \(label) entry '\(d.name)'")
                try check(d.version, "the version of \(label) entry '\(d.name)'")
                try check(d.release, "the release of \(label) entry '\(d.name)'")
            }
        }
        for file in files { try check(file.path, "file path '\(file.path)'") }
        for c in changelog {
            try check(c.author, "changelog author '\(c.author)'")
            try check(c.text, "the changelog entry of \(c.date)")
        }
    }

    // MARK: XML

    func primaryXML() -> [UInt8] {
        var o: [UInt8] = []
        o.reserveCapacity(1024 + description.utf8.count + 64 * (provides.count + requires.count) + 48 * files.count)
        o.raw("<package type=\"rpm\">\n  <name>")
        XMLEscape.text(name, into: &o)
        o.raw("</name>\n  <arch>")
        XMLEscape.text(arch, into: &o)
        o.raw("</arch>\n  ")
        versionElement(into: &o)
        o.raw("\n  <checksum type=\"sha256\" pkgid=\"YES\">")
        XMLEscape.text(pkgid, into: &o)
        o.raw("</checksum>\n  <summary>")
        XMLEscape.text(summary, into: &o)
        o.raw("</summary>\n  <description>")
        XMLEscape.text(description, into: &o)
        o.raw("</description>\n  <packager>")
        XMLEscape.text(packager, into: &o)
        o.raw("</packager>\n  <url>")
        XMLEscape.text(url, into: &o)
        o.raw("</url>\n  <time file=\"")
        XMLEscape.decimal(fileTime, into: &o)
        o.raw("\" build=\"")
        XMLEscape.decimal(buildTime, into: &o)
        o.raw("\"/>\n  <size package=\"")
        XMLEscape.decimal(packageSize, into: &o)
        o.raw("\" installed=\"")
        XMLEscape.decimal(installedSize, into: &o)
        o.raw("\" archive=\"")
        XMLEscape.decimal(archiveSize, into: &o)
        o.raw("\"/>\n  <location ")
        if let base, !base.isEmpty {
            o.raw("xml:base=\"")
            XMLEscape.attribute(base, into: &o)
            o.raw("\" ")
        }
        o.raw("href=\"")
        XMLEscape.attribute(href, into: &o)
        o.raw("\"/>\n  <format>\n    <rpm:license>")
        XMLEscape.text(license, into: &o)
        o.raw("</rpm:license>\n    <rpm:vendor>")
        XMLEscape.text(vendor, into: &o)
        o.raw("</rpm:vendor>\n    <rpm:group>")
        XMLEscape.text(group, into: &o)
        o.raw("</rpm:group>\n    <rpm:buildhost>")
        XMLEscape.text(buildHost, into: &o)
        o.raw("</rpm:buildhost>\n    <rpm:sourcerpm>")
        XMLEscape.text(sourceRPM, into: &o)
        o.raw("</rpm:sourcerpm>\n    <rpm:header-range start=\"")
        XMLEscape.decimal(headerStart, into: &o)
        o.raw("\" end=\"")
        XMLEscape.decimal(headerEnd, into: &o)
        o.raw("\"/>\n")
        RepoPackageModel.dependencies("provides", provides, pre: false, into: &o)
        RepoPackageModel.dependencies("requires", requires, pre: true, into: &o)
        RepoPackageModel.dependencies("conflicts", conflicts, pre: false, into: &o)
        RepoPackageModel.dependencies("obsoletes", obsoletes, pre: false, into: &o)
        RepoPackageModel.dependencies("suggests", suggests, pre: false, into: &o)
        RepoPackageModel.dependencies("enhances", enhances, pre: false, into: &o)
        RepoPackageModel.dependencies("recommends", recommends, pre: false, into: &o)
        RepoPackageModel.dependencies("supplements", supplements, pre: false, into: &o)
        for file in files where RepoPackageModel.isPrimary(file.path) {
            RepoPackageModel.file(file, indent: 4, into: &o)
        }
        o.raw("  </format>\n</package>\n")
        return o
    }

    func filelistsXML() -> [UInt8] {
        var o: [UInt8] = []
        o.reserveCapacity(200 + 48 * files.count)
        packageStart(into: &o)
        for file in files { RepoPackageModel.file(file, indent: 2, into: &o) }
        o.raw("</package>\n")
        return o
    }

    func otherXML() -> [UInt8] {
        var o: [UInt8] = []
        o.reserveCapacity(200 + changelog.reduce(0) { $0 + $1.text.utf8.count + 80 })
        packageStart(into: &o)
        for c in changelog {
            o.raw("  <changelog author=\"")
            XMLEscape.attribute(c.author, into: &o)
            o.raw("\" date=\"")
            XMLEscape.decimal(c.date, into: &o)
            o.raw("\">")
            XMLEscape.text(c.text, into: &o)
            o.raw("</changelog>\n")
        }
        o.raw("</package>\n")
        return o
    }

    /// `<package pkgid name arch>` and `<version>` of filelists.xml and other.xml.
    private func packageStart(into o: inout [UInt8]) {
        o.raw("<package pkgid=\"")
        XMLEscape.attribute(pkgid, into: &o)
        o.raw("\" name=\"")
        XMLEscape.attribute(name, into: &o)
        o.raw("\" arch=\"")
        XMLEscape.attribute(arch, into: &o)
        o.raw("\">\n  ")
        versionElement(into: &o)
        o.raw("\n")
    }

    private func versionElement(into o: inout [UInt8]) {
        o.raw("<version epoch=\"")
        XMLEscape.attribute(epoch, into: &o)
        o.raw("\" ver=\"")
        XMLEscape.attribute(version, into: &o)
        o.raw("\" rel=\"")
        XMLEscape.attribute(release, into: &o)
        o.raw("\"/>")
    }

    private static func file(_ file: (path: String, type: String), indent: Int, into o: inout [UInt8]) {
        o.raw(indent == 4 ? "    <file" : "  <file")
        if !file.type.isEmpty {
            o.raw(" type=\"")
            o.raw(file.type)
            o.raw("\"")
        }
        o.raw(">")
        XMLEscape.text(file.path, into: &o)
        o.raw("</file>\n")
    }

    /// `<rpm:KIND>` with its entries; nothing for an empty list (libxml2 would write an empty
    /// element only if every entry had an empty name).
    private static func dependencies(_ kind: StaticString, _ list: [Dependency], pre: Bool, into o: inout [UInt8]) {
        guard !list.isEmpty else { return }
        let named = list.filter { !$0.name.isEmpty }
        if named.isEmpty {
            o.raw("    <rpm:")
            o.raw(kind)
            o.raw("/>\n")
            return
        }
        o.raw("    <rpm:")
        o.raw(kind)
        o.raw(">\n")
        for d in named {
            o.raw("      <rpm:entry name=\"")
            XMLEscape.attribute(d.name, into: &o)
            o.raw("\"")
            if let flags = d.flags, !flags.isEmpty {
                o.raw(" flags=\"")
                o.raw(flags)
                o.raw("\"")
                if let e = d.epoch, !e.isEmpty {
                    o.raw(" epoch=\"")
                    XMLEscape.attribute(e, into: &o)
                    o.raw("\"")
                }
                if let v = d.version, !v.isEmpty {
                    o.raw(" ver=\"")
                    XMLEscape.attribute(v, into: &o)
                    o.raw("\"")
                }
                if let r = d.release, !r.isEmpty {
                    o.raw(" rel=\"")
                    XMLEscape.attribute(r, into: &o)
                    o.raw("\"")
                }
            }
            if pre && d.pre { o.raw(" pre=\"1\"") }
            o.raw("/>\n")
        }
        o.raw("    </rpm:")
        o.raw(kind)
        o.raw(">\n")
    }
}
