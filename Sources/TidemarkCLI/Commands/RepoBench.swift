import ArgumentParser
import Dispatch
import Foundation
import TidemarkArchive
import TidemarkCore
import TidemarkHosts
import TidemarkRPM
import TidemarkRepo
import TidemarkStore

extension BenchCommand {
    /// Issue 4's figures: metadata generation against createrepo_c on the same files, adding one
    /// package to a large archive, and a rollback against the same transaction run by hand.
    struct Repo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Repository metadata vs createrepo_c, archive add + refresh, rollback vs hand-run zypper.",
            discussion: """
                Builds its packages with rpmbuild (one spec of many subpackages, each with a few \
                files, dependencies and changelog entries), then measures: (1) rpm-md metadata for \
                --packages RPMs, Tidemark (read every file, generate, gzip -6, write) vs \
                `createrepo_c --no-database` on the same directory; (2) adding one package to an \
                archive of --archive-packages and refreshing the repository of everything; (3) \
                `tidemark rollback` of --rollback-packages downgrades vs `zypper install \
                --oldpackage` of the same packages from a createrepo_c repository. Medians of --runs.
                """)
        @Option var packages = 2000
        @Option var archivePackages = 10_000
        @Option var rollbackPackages = 50
        @Option var runs = 5
        @Option(help: "Work directory (default: a temporary one, removed afterwards).") var dir: String?
        @Flag(help: "Skip the 10,000-package archive part (it takes minutes to set up).") var skipArchive = false

        func run() async throws {
            try await reportingErrors {
                let base = dir ?? NSTemporaryDirectory() + "tidemark-bench-repo-\(getpid())"
                try DurableFile.makeDirectory(base)
                defer { if dir == nil { try? FileManager.default.removeItem(atPath: base) } }
                try await metadata(base)
                if !skipArchive { try await archiveAdd(base) }
                try await rollback(base)
            }
        }

        // MARK: (1) metadata vs createrepo_c

        func metadata(_ base: String) async throws {
            let files = try Self.buildPackages(prefix: "bench", count: packages, version: "1.0", in: base + "/meta-build")
            let repo = base + "/meta-repo"
            try? FileManager.default.removeItem(atPath: repo)
            try DurableFile.makeDirectory(repo)
            for f in files { try FileManager.default.copyItem(atPath: f, toPath: repo + "/" + (f as NSString).lastPathComponent) }
            let names = files.map { ($0 as NSString).lastPathComponent }
            var ours: [Double] = [], theirs: [Double] = []
            for _ in 0..<runs {
                try? FileManager.default.removeItem(atPath: repo + "/repodata")
                theirs.append(try await BenchCommand.seconds { try Subprocess.check("createrepo_c", ["--quiet", "--no-database", repo]) })
                try? FileManager.default.removeItem(atPath: repo + "/repodata")
                ours.append(try await BenchCommand.seconds {
                    let parsed = try Self.repoPackages(directory: repo, names: names)
                    let md = RepoMetadata.assemble(parsed, revision: String(Int(Date().timeIntervalSince1970)), gzipLevel: 6)
                    try md.write(toRepository: repo)
                })
            }
            let a = BenchCommand.median(theirs), b = BenchCommand.median(ours)
            Output.line("metadata for \(packages) RPMs (primary, filelists, other; gzip -6):")
            Output.line("  createrepo_c --no-database, median:  \(BenchCommand.ms(a))")
            Output.line("  tidemark (read, generate, write):    \(BenchCommand.ms(b))  ratio \(String(format: "%.2f", b / a)) (goal <= 1.5)")
        }

        /// Reads every file (both cores) and makes its metadata fragments.
        static func repoPackages(directory: String, names: [String]) throws -> [RepoPackage] {
            final class Slots: @unchecked Sendable {
                var items: [Result<RepoPackage, TidemarkError>?]
                init(_ n: Int) { items = Array(repeating: nil, count: n) }
            }
            let slots = Slots(names.count)
            let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                var i = w
                while i < names.count {
                    let path = directory + "/" + names[i]
                    let r = Result { () throws(TidemarkError) -> RepoPackage in
                        var st = stat()
                        _ = stat(path, &st)
                        return try RepoPackage(file: try RPMFile(path: path), href: names[i], mtime: Int64(st.st_mtim.tv_sec))
                    }
                    slots.items[i] = r
                    i += workers
                }
            }
            return try slots.items.map { try $0!.get() }
        }

        // MARK: (2) one package into a large archive

        func archiveAdd(_ base: String) async throws {
            let files = try Self.buildPackages(prefix: "arch", count: archivePackages, version: "1.0", in: base + "/archive-build")
            // new packages each run, so that a kept --dir still measures real additions
            let stamp = String(Int(Date().timeIntervalSince1970))
            let extra = try Self.buildPackages(prefix: "late" + stamp, count: runs, version: "1.0", in: base + "/archive-extra-" + stamp)
            let store = try await SQLHistoryStore.openSQLite(path: base + "/archive.sqlite")
            let archive = PackageArchive(directory: base + "/archive", store: SQLArchiveStore(backend: store.backend))
            let now = Timestamp(seconds: Int64(Date().timeIntervalSince1970))
            if try await archive.store.archiveSequence().count < files.count {
                FileHandle.standardError.write(Data("archiving \(files.count) packages (setup, not measured)…\n".utf8))
                for f in files { _ = try await archive.add(path: f, origin: "bench", now: now) }
            }
            _ = try await archive.repositoryOfEverything()
            var times: [Double] = [], adds: [Double] = []
            for f in extra {
                var addTime = 0.0
                times.append(try await BenchCommand.seconds {
                    addTime = try await BenchCommand.seconds { _ = try await archive.add(path: f, origin: "bench", now: now) }
                    _ = try await archive.repositoryOfEverything()
                })
                adds.append(addTime)
            }
            try await store.close()
            Output.line("adding one package to a \(files.count)-package archive and refreshing the repository of everything:")
            Output.line("  median:  \(BenchCommand.ms(BenchCommand.median(times)))  (goal < 200 ms; of which verify + store the file: \(BenchCommand.ms(BenchCommand.median(adds))))")
        }

        // MARK: (3) rollback vs zypper by hand

        func rollback(_ base: String) async throws {
            let me = CommandLine.arguments[0]
            let v1 = try Self.buildPackages(prefix: "rb", count: rollbackPackages, version: "1.0", in: base + "/rb-build-1")
            let v2 = try Self.buildPackages(prefix: "rb", count: rollbackPackages, version: "2.0", in: base + "/rb-build-2")
            let db = base + "/rollback.sqlite", archiveDir = base + "/rollback-archive", root = base + "/rollback-root"
            let repo = base + "/rollback-repo"
            for old in [repo, db, archiveDir, root] { try? FileManager.default.removeItem(atPath: old) }
            try DurableFile.makeDirectory(repo)
            for f in v1 { try FileManager.default.copyItem(atPath: f, toPath: repo + "/" + (f as NSString).lastPathComponent) }
            try Subprocess.check("createrepo_c", ["--quiet", "--no-database", repo])
            try DurableFile.makeDirectory(root)
            try Subprocess.check("rpm", ["--root", root, "--initdb"])
            try Subprocess.check("rpm", ["--root", root, "-i", "--nodeps"] + v1)
            try Subprocess.check(me, ["snapshot", "--root", root, "--host", "bench", "--db", db, "--at", "2025-01-01T00:00:00Z"])
            try Subprocess.check(me, ["archive", "add", "--db", db, "--archive", archiveDir] + v1 + v2)
            let specs = v1.map { f -> String in
                let n = (f as NSString).lastPathComponent
                return String(n.dropLast(".rpm".count))
            }
            var ours: [Double] = [], byHand: [Double] = []
            for _ in 0..<runs {
                try Subprocess.check("rpm", ["--root", root, "-U", "--nodeps"] + v2)
                ours.append(try await BenchCommand.seconds {
                    try Subprocess.check(me, ["rollback", "bench", "--to", "bench@2025-01-01T00:00:00Z", "--root", root, "--db", db, "--archive", archiveDir])
                })
                try Subprocess.check("rpm", ["--root", root, "-U", "--nodeps"] + v2)
                let cache = base + "/zypper-cache"
                try? FileManager.default.removeItem(atPath: cache)
                byHand.append(try await BenchCommand.seconds {
                    try Subprocess.check("zypper", [
                        "--root", root, "--non-interactive", "--no-gpg-checks", "--cache-dir", cache, "--plus-repo", "dir://" + repo,
                        "install", "--oldpackage",
                    ] + specs)
                })
            }
            let a = BenchCommand.median(byHand), b = BenchCommand.median(ours)
            Output.line("rollback of \(rollbackPackages) downgraded packages:")
            Output.line("  zypper install --oldpackage by hand (repository ready), median:  \(BenchCommand.ms(a))")
            Output.line("  tidemark rollback (collect, plan, repository, zypper, verify, record):  \(BenchCommand.ms(b))  ratio \(String(format: "%.2f", b / a))")
        }

        // MARK: packages

        /// `count` noarch packages `PREFIX-NNNNN-VERSION-1` from one spec of subpackages, each
        /// with three files, a few dependencies and changelog entries (so the metadata has some
        /// weight). Returns the file paths, sorted.
        static func buildPackages(prefix: String, count: Int, version: String, in top: String) throws -> [String] {
            let rpms = top + "/RPMS/noarch"
            func built() -> [String] {
                ((try? FileManager.default.contentsOfDirectory(atPath: rpms)) ?? [])
                    .filter { $0.hasPrefix(prefix + "-") && !$0.hasPrefix(prefix + "-main") }.sorted().map { rpms + "/" + $0 }
            }
            // a --dir kept from an earlier run already has them
            let existing = built()
            if existing.count == count { return existing }
            try DurableFile.makeDirectory(top + "/SPECS")
            var spec = """
                Name: \(prefix)-main
                Version: \(version)
                Release: 1
                Summary: benchmark packages
                License: MIT
                BuildArch: noarch
                AutoReqProv: no
                %description
                benchmark packages
                %install
                for i in $(seq -w 0 \(count - 1)); do mkdir -p %{buildroot}/usr/share/\(prefix)-$i; for f in a b c; do echo "$i $f" > %{buildroot}/usr/share/\(prefix)-$i/$f; done; done

                """
            for i in 0..<count {
                let n = String(format: "%0\(String(count - 1).count)d", i)
                spec += """
                    %package -n \(prefix)-\(n)
                    Summary: benchmark package \(n)
                    Provides: \(prefix)-capability-\(n) = \(version)
                    Requires: \(prefix)-capability-\(n) >= 0.1
                    %description -n \(prefix)-\(n)
                    Package \(n) of the benchmark.
                    %files -n \(prefix)-\(n)
                    /usr/share/\(prefix)-\(n)

                    """
            }
            spec += """
                %changelog
                * Mon Jan 06 2025 Bench <bench@example.com> - \(version)-1
                - second entry
                * Wed Jan 01 2025 Bench <bench@example.com> - 0.9-1
                - first entry

                """
            let specFile = top + "/SPECS/bench.spec"
            try DurableFile.write(Data(spec.utf8), to: specFile, mode: 0o644)
            try Subprocess.check("rpmbuild", ["-bb", "--quiet", "--define", "_topdir " + top, "--define", "_binary_payload w.ufdio", specFile])
            return built()
        }
    }
}
