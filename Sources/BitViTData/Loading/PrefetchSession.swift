import Foundation

/// Produces the batches of one epoch ahead of the consumer on background threads and hands them
/// over in order.
///
/// Workers claim batch numbers in increasing order, never more than `depth` ahead of the next one
/// to deliver, and file each result under its number; the consumer takes number after number.
/// A batch's content depends only on its number, so thread timing cannot change the epoch. A
/// failed batch stops further claims and is delivered (as its error) in its turn.
final class PrefetchSession: @unchecked Sendable {
    typealias Producer = (_ batchIndex: Int, _ isCancelled: () -> Bool) throws -> Batch

    private let condition = NSCondition()
    private let batchCount: Int
    private let depth: Int
    private let producer: Producer
    private let synchronous: Bool
    private var results: [Int: Result<Batch, Error>] = [:]
    private var nextToClaim = 0
    private var claimLimit: Int
    private var nextToDeliver = 0
    private var stopped = false
    private var liveWorkers = 0

    /// Starts `workers` threads (0: each batch is produced inside `next()` on the caller's thread).
    init(batchCount: Int, depth: Int, workers: Int, producer: @escaping Producer) {
        self.batchCount = batchCount
        self.depth = max(1, depth)
        self.producer = producer
        self.claimLimit = batchCount
        self.synchronous = workers == 0
        guard workers > 0 && batchCount > 0 else { return }
        liveWorkers = workers
        for number in 0..<workers {
            let thread = Thread { [self] in workerLoop() }
            thread.name = "BitViTData loader \(number)"
            thread.start()
        }
    }

    /// The next batch in order, nil after the last one or after `close()`; rethrows the error of
    /// a failed batch (after which no batch follows).
    func next() throws -> Batch? {
        if synchronous { return try nextSynchronously() }
        condition.lock()
        defer { condition.unlock() }
        guard !stopped, nextToDeliver < batchCount else { return nil }
        while results[nextToDeliver] == nil { condition.wait() }
        let result = results.removeValue(forKey: nextToDeliver)!
        nextToDeliver += 1
        condition.broadcast()
        switch result {
        case .success(let batch):
            return batch
        case .failure(let error):
            nextToDeliver = batchCount
            throw error
        }
    }

    /// Stops the workers and waits until every one has exited; undelivered batches are dropped.
    func close() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while liveWorkers > 0 { condition.wait() }
        results.removeAll()
        condition.unlock()
    }

    /// Number of worker threads still running.
    var runningWorkers: Int {
        condition.lock()
        defer { condition.unlock() }
        return liveWorkers
    }

    private var isStopped: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopped
    }

    private func nextSynchronously() throws -> Batch? {
        guard !stopped, nextToDeliver < batchCount else { return nil }
        let index = nextToDeliver
        nextToDeliver += 1
        do {
            return try producer(index, { false })
        } catch {
            nextToDeliver = batchCount
            throw error
        }
    }

    private func workerLoop() {
        while true {
            condition.lock()
            while !stopped && nextToClaim < claimLimit && nextToClaim >= nextToDeliver + depth {
                condition.wait()
            }
            if stopped || nextToClaim >= claimLimit {
                liveWorkers -= 1
                condition.broadcast()
                condition.unlock()
                return
            }
            let index = nextToClaim
            nextToClaim += 1
            condition.unlock()

            let result = Result { try producer(index, { self.isStopped }) }

            condition.lock()
            if case .failure = result { claimLimit = min(claimLimit, index + 1) }
            if !stopped { results[index] = result }
            condition.broadcast()
            condition.unlock()
        }
    }
}
