import Foundation
import TidemarkCore

/// Files that survive kill -9 and power loss whole or not at all: written to a temporary name,
/// fsync'd, renamed into place, and the directory fsync'd. The agent's spool and the package
/// archive both write this way, so "acknowledged" always means "on disk".
public enum DurableFile {
    public static func write(_ data: Data, to path: String, mode: mode_t = 0o600) throws(TidemarkError) {
        try data.withUnsafeBytes { buf in Result { () throws(TidemarkError) in try write(buf, to: path, mode: mode) } }.get()
    }

    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600) throws(TidemarkError) {
        try bytes.withUnsafeBytes { buf in Result { () throws(TidemarkError) in try write(buf, to: path, mode: mode) } }.get()
    }

    static func write(_ buf: UnsafeRawBufferPointer, to path: String, mode: mode_t) throws(TidemarkError) {
        let tmp = path + ".tmp.\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode)
        guard fd >= 0 else { throw TidemarkError(.storage, "cannot write \(tmp): \(String(cString: strerror(errno)))") }
        var off = 0, ok = true
        while off < buf.count {
            let n = Foundation.write(fd, buf.baseAddress! + off, buf.count - off)
            if n < 0, errno == EINTR { continue }
            if n <= 0 { ok = false; break }
            off += n
        }
        let error = errno
        if ok { ok = fsync(fd) == 0 }
        close(fd)
        guard ok, rename(tmp, path) == 0 else {
            let why = String(cString: strerror(ok ? errno : error))
            unlink(tmp)
            throw TidemarkError(.storage, "cannot write \(path): \(why)")
        }
        syncDirectory(of: path)
    }

    /// fsync of the directory holding `path`, so that a rename or unlink in it is durable.
    public static func syncDirectory(of path: String) {
        let dir = open((path as NSString).deletingLastPathComponent, O_RDONLY)
        if dir >= 0 {
            fsync(dir)
            close(dir)
        }
    }

    /// A whole file's bytes; an unreadable or missing file is an error that names it and says which.
    public static func read(_ path: String) throws(TidemarkError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TidemarkError(.unreadable, "cannot read \(path): \(FileManager.default.fileExists(atPath: path) ? "permission denied or not a regular file" : "no such file")")
        }
        return [UInt8](data)
    }

    /// `mkdir -p`, naming the directory when it fails.
    public static func makeDirectory(_ path: String) throws(TidemarkError) {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw TidemarkError(.storage, "cannot create directory \(path): \(error.localizedDescription)")
        }
    }
}
