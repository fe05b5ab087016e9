import BitViTTrain
import CMPI
import Foundation

/// The processes of an MPI job (`MPI_COMM_WORLD`) as a `ProcessGroup`, over Open MPI.
///
/// Every MPI call runs on one communication thread (`CommunicationThread`): collectives are
/// queued and run in order while the caller goes on computing, which is how gradient sums
/// overlap the backward pass. Sums are `MPI_Iallreduce` (float or double, `MPI_SUM`), broadcasts
/// `MPI_Ibcast` and gathers `MPI_Iallgather` of bytes; transfers above 2³⁰ elements are split.
///
/// Failures end the job: an MPI error, or a collective that waits longer than `timeoutSeconds`
/// (a process died or hangs), makes the communication thread print what happened and call
/// `MPI_Abort`, and `abort(_:)` does the same for an error of the training code.
public final class MPIProcessGroup: ProcessGroup {
    public let rank: Int
    public let worldSize: Int
    /// Processes of this job on this machine (sharing its cores).
    public let localProcessCount: Int
    private let thread: CommunicationThread
    private var finished = false

    /// Seconds a collective may wait for the other processes before the job is ended.
    public var timeoutSeconds: Double {
        get { thread.timeoutSeconds }
        set { thread.timeoutSeconds = newValue }
    }

    /// Initializes MPI (once per process; the process must have been started by an MPI
    /// launcher, or runs as a group of one).
    public init(timeoutSeconds: Double = 1800) throws {
        // Open MPI's non-blocking allreduce defaults to a binomial tree for two processes, half
        // as fast on large buffers as the blocking one; Rabenseifner's reduce-scatter +
        // allgather matches it (measured in docs/distributed.md). The user's setting wins.
        setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "3", 0)
        let thread = CommunicationThread(timeoutSeconds: timeoutSeconds)
        let (code, provided, rank, size, local) = thread.perform { () -> (Int32, Int32, Int32, Int32, Int32) in
            var provided: Int32 = 0
            let code = MPI_Init_thread(nil, nil, Int32(MPI_THREAD_FUNNELED), &provided)
            guard code == MPI_SUCCESS else { return (code, 0, 0, 1, 1) }
            let world = bv_mpi_comm_world()
            MPI_Comm_set_errhandler(world, bv_mpi_errors_return())
            var rank: Int32 = 0, size: Int32 = 1, local: Int32 = 1
            MPI_Comm_rank(world, &rank)
            MPI_Comm_size(world, &size)
            var node: MPI_Comm?
            if MPI_Comm_split_type(world, Int32(MPI_COMM_TYPE_SHARED), rank, bv_mpi_info_null(), &node) == MPI_SUCCESS {
                MPI_Comm_size(node, &local)
                MPI_Comm_free(&node)
            }
            return (code, provided, rank, size, local)
        }
        guard code == MPI_SUCCESS else { throw BitViTError.io("MPI_Init_thread failed (error \(code))") }
        guard provided >= Int32(MPI_THREAD_FUNNELED) else {
            throw BitViTError.io("this MPI library does not support threads (MPI_THREAD_FUNNELED); BitViT calls MPI from one communication thread")
        }
        thread.rank = Int(rank)
        self.thread = thread
        self.rank = Int(rank)
        self.worldSize = Int(size)
        self.localProcessCount = max(1, Int(local))
    }

    /// Finalizes MPI after the collectives already started (call once, on every process, at
    /// the end of the job).
    public func finish() {
        guard !finished else { return }
        finished = true
        thread.perform { _ = MPI_Finalize() }
    }

    /// Largest element count of one MPI transfer (counts are 32-bit).
    static let chunk = 1 << 30

    public func startSum(_ values: UnsafeMutableBufferPointer<Float>) -> CollectiveRequest {
        startSum(values, type: bv_mpi_float(), typeName: "floats")
    }

    public func startSum(_ values: UnsafeMutableBufferPointer<Double>) -> CollectiveRequest {
        startSum(values, type: bv_mpi_double(), typeName: "doubles")
    }

    private func startSum<T>(_ values: UnsafeMutableBufferPointer<T>, type: MPI_Datatype?, typeName: String) -> CollectiveRequest {
        guard let base = values.baseAddress, values.count > 0 else { return CollectiveRequest(completed: true) }
        var last = CollectiveRequest(completed: true)
        for start in stride(from: 0, to: values.count, by: Self.chunk) {
            let count = Int32(min(Self.chunk, values.count - start))
            let pointer = UnsafeMutableRawPointer(base + start)
            last = thread.submit("the sum (MPI_Iallreduce) of \(count) \(typeName)") { request in
                MPI_Iallreduce(bv_mpi_in_place(), pointer, count, type, bv_mpi_sum(), bv_mpi_comm_world(), request)
            }
        }
        return last
    }

    public func startBroadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) -> CollectiveRequest {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return CollectiveRequest(completed: true) }
        var last = CollectiveRequest(completed: true)
        for start in stride(from: 0, to: bytes.count, by: Self.chunk) {
            let count = Int32(min(Self.chunk, bytes.count - start))
            let pointer = base + start
            last = thread.submit("the broadcast (MPI_Ibcast) of \(count) bytes from rank \(root)") { request in
                MPI_Ibcast(pointer, count, bv_mpi_byte(), Int32(root), bv_mpi_comm_world(), request)
            }
        }
        return last
    }

    public func startAllGather(_ contribution: UnsafeRawBufferPointer, into gathered: UnsafeMutableRawBufferPointer)
        -> CollectiveRequest {
        precondition(gathered.count == contribution.count * worldSize, "gathered holds one contribution per process")
        precondition(contribution.count < Self.chunk, "a gathered contribution is below 2³⁰ bytes")
        guard contribution.count > 0 else { return CollectiveRequest(completed: true) }
        let count = Int32(contribution.count)
        let send = contribution.baseAddress!, receive = gathered.baseAddress!
        return thread.submit("the gather (MPI_Iallgather) of \(count) bytes per process") { request in
            MPI_Iallgather(send, count, bv_mpi_byte(), receive, count, bv_mpi_byte(), bv_mpi_comm_world(), request)
        }
    }

    public func abort(_ message: String) -> Never {
        FileHandle.standardError.write(Data("bitvit rank \(rank): \(message)\n".utf8))
        thread.abortJob()
    }
}
