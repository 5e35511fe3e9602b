/// One installed rpm package as `rpm -qa` names it: NAME-[EPOCH:]VERSION-RELEASE[.ARCH].
///
/// rpm's default query format is `%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}`; names may contain
/// dashes and dots, so the string is taken apart from the right, where rpm guarantees that
/// VERSION and RELEASE contain no `-`.
public struct NEVRA: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var evr: EVR
    /// The architecture as rpm prints it (`x86_64`, `noarch`, `(none)` for `gpg-pubkey`), or
    /// empty when the string had none.
    public var arch: String

    public init(name: String, evr: EVR, arch: String) {
        self.name = name
        self.evr = evr
        self.arch = arch
    }

    /// Back in `rpm -qa` form; the epoch appears only when non-zero.
    public var description: String {
        arch.isEmpty ? "\(name)-\(evr.description)" : "\(name)-\(evr.description).\(arch)"
    }

    /// Parses a line of `rpm -qa` output (surrounding whitespace ignored).
    ///
    /// The arch is the text after the last `.` only if it is a known rpm architecture, because
    /// releases contain dots too (`1.1`, `lp155.2.3`) and lines printed with
    /// `%{NAME}-%{VERSION}-%{RELEASE}` or taken from a file name may have no arch at all.
    /// Then RELEASE is after the last `-`, VERSION between the `-` before it and that, and NAME
    /// the rest. A VERSION of the form `EPOCH:VERSION` (as printed by `%{EVR}`-style formats)
    /// yields the epoch. Returns `nil` when NAME, VERSION or RELEASE would be empty, or an epoch
    /// is not a non-negative decimal number.
    public static func parse(_ s: String) -> NEVRA? {
        var text = Substring(s)
        while let f = text.first, f.isWhitespace { text.removeFirst() }
        while let l = text.last, l.isWhitespace { text.removeLast() }

        var arch = ""
        if let dot = text.lastIndex(of: "."), knownArches.contains(String(text[text.index(after: dot)...])) {
            arch = String(text[text.index(after: dot)...])
            text = text[..<dot]
        } else if let dotted = dottedArches.first(where: { text.hasSuffix("." + $0) }) {
            arch = dotted
            text = text.dropLast(dotted.count + 1)
        }

        guard let releaseDash = text.lastIndex(of: "-") else { return nil }
        let release = text[text.index(after: releaseDash)...]
        let nameAndVersion = text[..<releaseDash]
        guard let versionDash = nameAndVersion.lastIndex(of: "-") else { return nil }
        var version = nameAndVersion[nameAndVersion.index(after: versionDash)...]
        let name = nameAndVersion[..<versionDash]

        var epoch = 0
        if let colon = version.firstIndex(of: ":") {
            let digits = version[..<colon]
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let e = Int(digits) else { return nil }
            epoch = e
            version = version[version.index(after: colon)...]
        }
        guard !name.isEmpty, !version.isEmpty, !release.isEmpty else { return nil }
        return NEVRA(name: String(name),
                     evr: EVR(epoch: epoch, version: String(version), release: String(release)),
                     arch: arch)
    }

    /// Architectures rpm knows (its `rpmrc` arch_canon table, the common ones), plus the
    /// pseudo-arches `noarch`, `src`, `nosrc` and `(none)`.
    static let knownArches: Set<String> = [
        "noarch", "src", "nosrc", "(none)",
        "x86_64", "amd64", "ia32e", "em64t", "x86_64_v2", "x86_64_v3", "x86_64_v4",
        "i386", "i486", "i586", "i686", "athlon", "geode", "pentium3", "pentium4",
        "aarch64", "arm", "armv3l", "armv4b", "armv4l", "armv4tl", "armv5tel", "armv5tejl",
        "armv6l", "armv6hl", "armv7l", "armv7hl", "armv7hnl", "armv8l", "armv8hl", "armv8hnl",
        "armv8hcnl",
        "ppc", "ppc64", "ppc64le", "ppc64p7", "ppc64iseries", "ppc64pseries", "ppciseries",
        "ppcpseries", "ppc32dy4", "ppc8260", "ppc8560",
        "s390", "s390x", "ia64", "riscv", "riscv32", "riscv64", "loongarch64",
        "alpha", "alphaev5", "alphaev56", "alphapca56", "alphaev6", "alphaev67",
        "sparc", "sparcv8", "sparcv9", "sparcv9v", "sparc64", "sparc64v",
        "mips", "mipsel", "mips64", "mips64el", "mipsr6", "mipsr6el", "mips64r6", "mips64r6el",
        "m68k", "m68kmint", "sh3", "sh4", "sh4a", "parisc", "xtensa",
    ]

    /// Arches whose name itself contains a dot, so the last `.` does not find them.
    static let dottedArches: [String] = ["hppa1.0", "hppa1.1", "hppa1.2", "hppa2.0"]
}
