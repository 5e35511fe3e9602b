import Foundation
import Synchronization
import TidemarkCore

/// The disk's own commit latency beside a benchmark: one small overwrite and `fdatasync` every
/// 10 ms in a file on the store's filesystem, from a thread of its own.
///
/// A durable store answers after its commit reached the disk, so when the disk stalls every
/// answer in flight waits with it. Measured in the same run, this tells a stall of the machine's
/// disk (which any durable store on it would show) from one of the server.
final class DiskProbe: Sendable {
    struct Sample: Sendable {
        var at: ContinuousClock.Instant
        var milliseconds: Double
    }

    let path: String
    private let fd: Int32
    private let samples = Mutex<[Sample]>([])
    private let stopped = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)
    private static let blocks = 256, blockSize = 4096

    /// Creates (and preallocates, so later writes are overwrites, as a database log's are) a probe
    /// file in `directory`.
    init(directory: String) throws {
        path = (directory as NSString).appendingPathComponent("tidemark-disk-probe.\(getpid())")
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw TidemarkError(.invalidArgument, "--disk-probe: cannot create \(path): \(String(cString: strerror(errno)))") }
        let zeros = [UInt8](repeating: 0, count: Self.blocks * Self.blockSize)
        guard zeros.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == zeros.count, fdatasync(fd) == 0 else {
            close(fd)
            throw TidemarkError(.invalidArgument, "--disk-probe: cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    func start() {
        let thread = Thread { [self] in
            let block = [UInt8](repeating: 0x5a, count: Self.blockSize)
            var i = 0
            while !stopped.load(ordering: .relaxed) {
                _ = block.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t((i % Self.blocks) * Self.blockSize)) }
                let start = ContinuousClock.now
                fdatasync(fd)
                let took = ContinuousClock.now - start
                samples.withLock { $0.append(Sample(at: start, milliseconds: Double(took.components.attoseconds) / 1e15 + Double(took.components.seconds) * 1000)) }
                i += 1
                usleep(10_000)
            }
            finished.store(true, ordering: .releasing)
        }
        thread.name = "disk-probe"
        thread.start()
    }

    /// The samples taken between `from` and `to`.
    func samples(from: ContinuousClock.Instant, to: ContinuousClock.Instant) -> [Sample] {
        samples.withLock { $0.filter { $0.at >= from && $0.at < to } }
    }

    func stop() {
        stopped.store(true, ordering: .relaxed)
        while !finished.load(ordering: .acquiring) { usleep(1_000) }
        close(fd)
        unlink(path)
    }
}
