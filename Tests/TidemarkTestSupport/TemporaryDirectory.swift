import Foundation
import TidemarkCore

/// A fresh directory under `$TMPDIR` (or `/tmp`) for one test, removed when the value goes away
/// (or on `remove()`), so tests running in parallel never share or leak roots and repositories.
///
/// Set `TIDEMARK_KEEP_TMP=1` to keep every such directory for a post-mortem; its path is then
/// printed to stderr when it would have been removed.
///
/// Swift may end an object's lifetime right after its last use, not at the end of the scope,
/// so a test that keeps using paths inside the directory should say how long it lives:
/// `defer { tmp.remove() }` right after creating it (or use `TemporaryDirectory.with`).
public final class TemporaryDirectory: Sendable {
    public let path: String

    /// Whether directories are kept (`TIDEMARK_KEEP_TMP=1`).
    public static var keep: Bool { ProcessInfo.processInfo.environment["TIDEMARK_KEEP_TMP"] == "1" }

    /// Creates `$TMPDIR/tidemark-LABEL-XXXXXX` with `mkdtemp`.
    public init(_ label: String = "test") throws(TidemarkError) {
        var base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        if base.isEmpty { base = "/tmp" }
        while base.count > 1, base.hasSuffix("/") { base.removeLast() }
        let safe = String(label.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }.prefix(40))
        var template = Array("\(base)/tidemark-\(safe)-XXXXXX".utf8CString)
        guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw TidemarkError(.storage, "cannot create a temporary directory in \(base): \(String(cString: strerror(errno)))")
        }
        path = String(cString: p)
    }

    /// `path/relative`.
    public func path(_ relative: String) -> String { path + "/" + relative }

    /// Creates `path/relative` (and its parents) and returns it.
    @discardableResult
    public func makeDirectory(_ relative: String) throws(TidemarkError) -> String {
        let p = path(relative)
        try FileSystem.makeDirectory(p)
        return p
    }

    /// Removes the directory now (idempotent); kept instead when `TIDEMARK_KEEP_TMP=1`.
    public func remove() {
        if TemporaryDirectory.keep {
            FileHandle.standardError.write(Data("TIDEMARK_KEEP_TMP: kept \(path)\n".utf8))
            return
        }
        guard FileManager.default.fileExists(atPath: path) else { return }
        do { try FileManager.default.removeItem(atPath: path) } catch {
            // A tool may still have been writing (e.g. a lock file): one retry, then say so,
            // because a silent leak fills $TMPDIR on CI machines.
            do { try FileManager.default.removeItem(atPath: path) } catch {
                FileHandle.standardError.write(Data("TemporaryDirectory: could not remove \(path): \(error.localizedDescription)\n".utf8))
            }
        }
    }

    deinit { remove() }

    /// Runs `body` with a fresh directory that lives exactly as long as the call.
    public static func with<T>(_ label: String = "test", _ body: (TemporaryDirectory) throws -> T) throws -> T {
        let tmp = try TemporaryDirectory(label)
        defer { tmp.remove() }
        return try body(tmp)
    }
}

/// Small file helpers that throw `TidemarkError` naming the path.
public enum FileSystem {
    public static func makeDirectory(_ path: String) throws(TidemarkError) {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw TidemarkError(.storage, "cannot create directory \(path): \(error.localizedDescription)")
        }
    }

    public static func write(_ data: some Sequence<UInt8>, to path: String) throws(TidemarkError) {
        try makeDirectory((path as NSString).deletingLastPathComponent)
        guard FileManager.default.createFile(atPath: path, contents: Data(data)) else {
            throw TidemarkError(.storage, "cannot write \(path)")
        }
    }

    public static func write(_ text: String, to path: String) throws(TidemarkError) {
        try write(Array(text.utf8), to: path)
    }

    public static func read(_ path: String) throws(TidemarkError) -> [UInt8] {
        guard let d = FileManager.default.contents(atPath: path) else { throw TidemarkError(.unreadable, "cannot read \(path)") }
        return Array(d)
    }

    public static func copy(_ from: String, to: String) throws(TidemarkError) {
        do {
            if FileManager.default.fileExists(atPath: to) { try FileManager.default.removeItem(atPath: to) }
            try FileManager.default.copyItem(atPath: from, toPath: to)
        } catch {
            throw TidemarkError(.storage, "cannot copy \(from) to \(to): \(error.localizedDescription)")
        }
    }

    public static func remove(_ path: String) throws(TidemarkError) {
        do { try FileManager.default.removeItem(atPath: path) } catch {
            throw TidemarkError(.storage, "cannot remove \(path): \(error.localizedDescription)")
        }
    }
}

/// The `TidemarkError` a call throws, or nil when it returns: lets a test check an error's code
/// and message. Any other error type comes back as `.invalidInput` naming it, so it fails checks.
public func caughtError(_ body: () throws -> Void) -> TidemarkError? {
    do {
        try body()
        return nil
    } catch let e as TidemarkError {
        return e
    } catch {
        return TidemarkError(.invalidInput, "not a TidemarkError: \(error)")
    }
}
