import Synchronization
import TidemarkCore

/// Group commit: concurrent writers share one transaction and one fsync.
///
/// Every durable commit costs a flush to disk, which bounds a store that commits each
/// observation on its own to a few hundred a second, however fast the rest is. Here a call
/// queues its batch and waits; a drain task takes everything queued at that moment, writes it
/// as one group, commits, and only then answers each caller with its own result. Batches that
/// arrive while a group is being written form the next group, so nothing waits for a timer and
/// a lone caller pays no extra latency.
final class GroupCommit: Sendable {
    typealias Write = @Sendable ([[Observation]]) async throws -> [Result<[RecordOutcome], any Error>]

    private struct Waiter: Sendable {
        var batch: [Observation]
        var continuation: CheckedContinuation<[RecordOutcome], any Error>
    }
    private struct Queue: Sendable {
        var waiting: [Waiter] = []
        var draining = 0
    }

    /// Groups written at the same time (1 for a store with a single writer).
    let writers: Int
    /// Observations in one group, unless a single batch is larger.
    let maxObservations: Int
    private let queue = Mutex(Queue())

    init(writers: Int, maxObservations: Int = 1000) {
        self.writers = writers
        self.maxObservations = maxObservations
    }

    /// Returns `batch`'s outcomes once the group that holds it is committed; throws its own error
    /// (or the group's, if the commit itself failed).
    func submit(_ batch: [Observation], write: @escaping Write) async throws -> [RecordOutcome] {
        try await withCheckedThrowingContinuation { continuation in
            let startDrain = queue.withLock { q in
                q.waiting.append(Waiter(batch: batch, continuation: continuation))
                guard q.draining < writers else { return false }
                q.draining += 1
                return true
            }
            if startDrain { Task { await self.drain(write) } }
        }
    }

    private func drain(_ write: Write) async {
        while true {
            let group: [Waiter] = queue.withLock { q in
                var count = 0, taken = 0
                while taken < q.waiting.count, taken == 0 || count + q.waiting[taken].batch.count <= maxObservations {
                    count += q.waiting[taken].batch.count
                    taken += 1
                }
                let group = Array(q.waiting.prefix(taken))
                q.waiting.removeFirst(taken)
                if group.isEmpty { q.draining -= 1 }
                return group
            }
            if group.isEmpty { return }
            do {
                let results = try await write(group.map(\.batch))
                for (waiter, result) in zip(group, results) { waiter.continuation.resume(with: result) }
            } catch {
                for waiter in group { waiter.continuation.resume(throwing: error) }
            }
        }
    }
}
