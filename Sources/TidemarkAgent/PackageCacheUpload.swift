import Foundation
import TidemarkClient
import TidemarkCore
import TidemarkHosts
import TidemarkRepo

extension Agent {
    /// Uploads the package files in the host's zypp package cache (`keeppackages=1` repositories
    /// keep every file they install there) that the server's archive lacks: a build installed from
    /// a repository the server cannot reach is kept all the same. Files already checked are
    /// remembered in the spool (`package-cache.json`: path, size, mtime, SHA-256), so each file is
    /// hashed and asked about once.
    func uploadCachedPackages(spool: Spool) async throws -> Int {
        let cache = (configuration.root == "/" ? "" : configuration.root) + "/var/cache/zypp/packages"
        guard let walker = FileManager.default.enumerator(atPath: cache) else { return 0 }
        let recordPath = configuration.spool + "/package-cache.json"
        var record: [String: String] = (FileManager.default.contents(atPath: recordPath)).flatMap { try? JSONDecoder().decode([String: String].self, from: $0) } ?? [:]
        var candidates: [(path: String, key: String, sha256: String)] = []
        var present = Set<String>()
        while let relative = walker.nextObject() as? String {
            guard relative.hasSuffix(".rpm") else { continue }
            let path = cache + "/" + relative
            present.insert(path)
            var st = stat()
            guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
            let key = "\(st.st_size):\(st.st_mtim.tv_sec)"
            if let known = record[path], known.hasPrefix(key + ":") { continue }
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            candidates.append((path, key, bulkSHA256Hex([UInt8](data))))
        }
        // files zypper has since cleaned out of its cache are forgotten
        let before = record.count
        record = record.filter { present.contains($0.key) }
        guard !candidates.isEmpty else {
            if record.count != before { try DurableFile.write(try JSONEncoder().encode(record), to: recordPath) }
            return 0
        }
        let missing = Set(try await client.missingFromArchive(candidates.map(\.sha256)))
        var uploaded = 0
        for c in candidates {
            if missing.contains(c.sha256), let data = FileManager.default.contents(atPath: c.path) {
                do {
                    _ = try await client.uploadPackage([UInt8](data))
                    uploaded += 1
                } catch let e as TidemarkError where e.code == .invalidInput {
                    // A broken file in the cache stays broken: note it and don't ask again.
                    logger.warning("package cache file \(c.path) refused by the archive: \(e.message)")
                }
            }
            record[c.path] = c.key + ":" + c.sha256
        }
        let data = try JSONEncoder().encode(record)
        try DurableFile.write(data, to: recordPath)
        return uploaded
    }
}
