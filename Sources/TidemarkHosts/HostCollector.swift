import TidemarkCore

/// Collects the inventory of one host root: its package manager, packages and repositories.
public enum HostCollector {
    /// Reads the root's package database and configured repositories.
    ///
    /// Which database: the rpm database (see `RPMDatabase.locate`) makes an rpm host, dpkg's
    /// `var/lib/dpkg/status` a deb host. Some hosts have both (rpm installed on Debian keeps an
    /// empty database; alien-converted packages). Then both are read and the one with more
    /// packages wins, rpm on a tie: the package manager that manages the system is the one
    /// that installed the system; the other one's packages are not recorded.
    /// Repositories come from the winner's configuration (zypp `.repo` files or apt sources).
    ///
    /// Errors: the root is missing (`notFound`), it has neither database (`notFound`), or a
    /// database or repository file is unreadable or corrupt (the error names the file).
    public static func collect(root: String) throws(TidemarkError) -> HostInventory {
        try RootPath.requireDirectory(root)
        let rpmLocation = try RPMDatabase.locate(root: root)
        let hasDpkg = DpkgDatabase.exists(root: root)
        switch (rpmLocation, hasDpkg) {
        case (nil, false):
            throw TidemarkError(
                .notFound,
                "no package database under '\(root)': no rpm database (looked in \(RPMDatabase.candidateDBPaths.joined(separator: ", "))) and no \(DpkgDatabase.adminDir)/status")
        case (let loc?, false):
            return try rpmInventory(root: root, try RPMDatabase.read(loc))
        case (nil, true):
            return try debInventory(root: root, try DpkgDatabase.read(root: root))
        case (let loc?, true):
            let rpm = try RPMDatabase.read(loc)
            let deb = try DpkgDatabase.read(root: root)
            if deb.count > rpm.packages.count { return try debInventory(root: root, deb) }
            return try rpmInventory(root: root, rpm)
        }
    }

    private static func rpmInventory(root: String, _ contents: RPMDatabase.Contents) throws(TidemarkError) -> HostInventory {
        HostInventory(
            format: .rpm, packages: contents.packages, repositories: try ZyppRepositories.read(root: root),
            changelogs: contents.changelogs)
    }

    private static func debInventory(root: String, _ packages: [InstalledPackage]) throws(TidemarkError) -> HostInventory {
        HostInventory(format: .deb, packages: packages, repositories: try AptSources.read(root: root))
    }
}
