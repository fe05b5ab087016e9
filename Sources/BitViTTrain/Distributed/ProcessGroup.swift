import Foundation

/// The processes that train one model together (data parallelism), and the collective
/// operations they use: PyTorch's process group.
///
/// Process `rank` of `worldSize` trains on its own shard of every epoch; the trainer keeps the
/// replicas identical through these collectives. Every process must start the same
/// collectives, with the same sizes, in the same order; each one completes in the order it was
/// started. A collective's buffers must stay valid and untouched until its request completes.
///
/// A failure of communication (a process that died, or one that stopped answering for longer
/// than the implementation's timeout) is not an error to recover from: the implementation ends
/// the whole job with a message, so no process waits forever. `SingleProcessGroup` is the
/// one-process group (every collective is the identity); `BitViTDistributed` provides
/// `MPIProcessGroup` over Open MPI.
public protocol ProcessGroup: AnyObject {
    /// This process's number in `0..<worldSize`; rank 0 prints, writes and checkpoints.
    var rank: Int { get }
    /// Processes in the group.
    var worldSize: Int { get }
    /// Starts replacing `values` by their elementwise sum over all processes.
    func startSum(_ values: UnsafeMutableBufferPointer<Float>) -> CollectiveRequest
    /// Starts replacing `values` by their elementwise sum over all processes (in double).
    func startSum(_ values: UnsafeMutableBufferPointer<Double>) -> CollectiveRequest
    /// Starts copying `bytes` of process `root` into `bytes` of every other process.
    func startBroadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) -> CollectiveRequest
    /// Starts gathering every process's `contribution` (the same size everywhere) into
    /// `gathered`, rank by rank (`gathered.count == worldSize · contribution.count`).
    func startAllGather(_ contribution: UnsafeRawBufferPointer, into gathered: UnsafeMutableRawBufferPointer)
        -> CollectiveRequest
    /// Ends the whole job after an unrecoverable error on this process: prints `message` on
    /// standard error (with the rank when there are several processes) and stops every process.
    func abort(_ message: String) -> Never
}

/// A collective operation in flight; `wait()` returns once its result is in place.
public final class CollectiveRequest: @unchecked Sendable {
    private let condition = NSCondition()
    private var done: Bool

    /// A request that is already complete (`completed`) or that its group completes later.
    public init(completed: Bool = false) { done = completed }

    /// Marks the operation finished; called by the group implementation.
    public func complete() {
        condition.lock()
        done = true
        condition.broadcast()
        condition.unlock()
    }

    public var isComplete: Bool {
        condition.lock()
        defer { condition.unlock() }
        return done
    }

    /// Blocks until the operation has finished.
    public func wait() {
        condition.lock()
        while !done { condition.wait() }
        condition.unlock()
    }
}

/// One process alone: every collective leaves its buffers as they are.
public final class SingleProcessGroup: ProcessGroup {
    public init() {}
    public var rank: Int { 0 }
    public var worldSize: Int { 1 }
    public func startSum(_ values: UnsafeMutableBufferPointer<Float>) -> CollectiveRequest { CollectiveRequest(completed: true) }
    public func startSum(_ values: UnsafeMutableBufferPointer<Double>) -> CollectiveRequest { CollectiveRequest(completed: true) }
    public func startBroadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) -> CollectiveRequest {
        CollectiveRequest(completed: true)
    }
    public func startAllGather(_ contribution: UnsafeRawBufferPointer, into gathered: UnsafeMutableRawBufferPointer)
        -> CollectiveRequest {
        precondition(gathered.count == contribution.count, "one process gathers its own contribution")
        gathered.copyMemory(from: contribution)
        return CollectiveRequest(completed: true)
    }
    public func abort(_ message: String) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(1)
    }
}

// MARK: Blocking conveniences

extension ProcessGroup {
    /// Whether several processes share the work.
    public var isDistributed: Bool { worldSize > 1 }

    /// Sums `values` elementwise over all processes.
    public func sum(_ values: inout [Double]) {
        values.withUnsafeMutableBufferPointer { startSum($0).wait() }
    }

    /// Sums `values` elementwise over all processes.
    public func sum(_ values: inout [Float]) {
        values.withUnsafeMutableBufferPointer { startSum($0).wait() }
    }

    /// True on every process when `flag` is true on any.
    public func anyTrue(_ flag: Bool) -> Bool {
        var value = [flag ? 1.0 : 0.0]
        sum(&value)
        return value[0] > 0
    }

    /// Every process's `words` (the same count everywhere), rank by rank.
    public func allGather(_ words: [UInt64]) -> [[UInt64]] {
        var gathered = [UInt64](repeating: 0, count: words.count * worldSize)
        words.withUnsafeBytes { mine in
            gathered.withUnsafeMutableBytes { startAllGather(mine, into: $0).wait() }
        }
        return (0..<worldSize).map { Array(gathered[($0 * words.count)..<(($0 + 1) * words.count)]) }
    }

    /// `data` of process `root`, on every process (other processes pass anything, e.g. empty).
    public func broadcast(_ data: Data, root: Int = 0) -> Data {
        var length = [UInt64(rank == root ? data.count : 0)]
        length.withUnsafeMutableBytes { startBroadcast($0, root: root).wait() }
        var bytes = rank == root ? data : Data(count: Int(length[0]))
        if !bytes.isEmpty {
            bytes.withUnsafeMutableBytes { startBroadcast($0, root: root).wait() }
        }
        return bytes
    }

    /// Copies the values of `tensors` on process `root` into the same tensors of every other
    /// process (one packed transfer; shapes must agree everywhere).
    public func broadcast(_ tensors: [Tensor], root: Int = 0) {
        let total = tensors.reduce(0) { $0 + $1.count }
        guard isDistributed, total > 0 else { return }
        let packed = UnsafeMutableBufferPointer<Float>.allocate(capacity: total)
        defer { packed.deallocate() }
        var offset = 0
        if rank == root {
            for t in tensors {
                (packed.baseAddress! + offset).update(from: t.data, count: t.count)
                offset += t.count
            }
        }
        startBroadcast(UnsafeMutableRawBufferPointer(packed), root: root).wait()
        if rank != root {
            offset = 0
            for t in tensors {
                t.data.update(from: packed.baseAddress! + offset, count: t.count)
                offset += t.count
            }
        }
    }

    /// The contents of `url` as process `root` reads it, on every process (the others' `url`
    /// is not read): nil when `root` has no such file (or no `url`); a read error on `root` is
    /// thrown on every process.
    public func broadcastFile(_ url: URL?, root: Int = 0) throws -> Data? {
        var message = Data()
        if rank == root {
            // One tag byte: 0 missing, 1 contents, 2 a read error (its text follows).
            message = Data([0])
            if let url, FileManager.default.fileExists(atPath: url.path) {
                do { message = Data([1]) + (try Data(contentsOf: url)) } catch {
                    message = Data([2]) + Data("cannot read \(url.path): \(error.localizedDescription)".utf8)
                }
            }
        }
        let received = broadcast(message, root: root)
        let payload = received.isEmpty ? Data() : received.subdata(in: 1..<received.count)
        switch received.first {
        case 1: return payload
        case 2: throw BitViTError.io(String(decoding: payload, as: UTF8.self))
        default: return nil
        }
    }
}
