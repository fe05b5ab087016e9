import BitViTTrain
import CMPI
import Foundation

/// The one thread that calls MPI (MPI_THREAD_FUNNELED): it initializes and finalizes MPI and
/// runs the collectives one after the other, in the order they were submitted.
///
/// A collective is started as a non-blocking operation and then tested in a loop that yields
/// the core (first with `sched_yield`, then with short sleeps) so that the compute threads of
/// its process keep running while it waits (communication overlaps the backward pass). The loop
/// is also the watchdog: a collective still incomplete after `timeoutSeconds` means another
/// process has died or hangs, and the job is ended with `MPI_Abort`.
final class CommunicationThread: @unchecked Sendable {
    private enum Job {
        case call(() -> Void, CollectiveRequest)
        case collective(name: String, start: (UnsafeMutablePointer<MPI_Request?>) -> Int32, CollectiveRequest)
    }

    private let condition = NSCondition()
    private var jobs: [Job] = []
    private var abortRequested = false
    private var timeout: Double
    /// Set once MPI is initialized: prefixes the messages of this process.
    var rank = 0

    init(timeoutSeconds: Double) {
        timeout = timeoutSeconds
        let thread = Thread { [self] in loop() }
        thread.name = "BitViT MPI"
        thread.start()
    }

    var timeoutSeconds: Double {
        get { condition.lock(); defer { condition.unlock() }; return timeout }
        set { condition.lock(); timeout = newValue; condition.unlock() }
    }

    /// Runs `body` on the thread after the jobs already submitted, and waits for it.
    func perform<T>(_ body: @escaping () -> T) -> T {
        var result: T?
        let request = CollectiveRequest()
        enqueue(.call({ result = body() }, request))
        request.wait()
        return result!
    }

    /// Queues a non-blocking collective that `start` begins (returning an MPI error code).
    func submit(_ name: String, _ start: @escaping (UnsafeMutablePointer<MPI_Request?>) -> Int32) -> CollectiveRequest {
        let request = CollectiveRequest()
        enqueue(.collective(name: name, start: start, request))
        return request
    }

    /// Ends the job from any thread: the MPI thread calls `MPI_Abort` as soon as it can (it
    /// stops waiting for a collective); if it cannot within 10 s the process exits anyway,
    /// which makes the launcher end the others.
    func abortJob() -> Never {
        condition.lock()
        abortRequested = true
        condition.broadcast()
        condition.unlock()
        Thread.sleep(forTimeInterval: 10)
        _exit(1)
    }

    private func enqueue(_ job: Job) {
        condition.lock()
        jobs.append(job)
        condition.broadcast()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty && !abortRequested { condition.wait() }
            if abortRequested { condition.unlock(); abortNow() }
            let job = jobs.removeFirst()
            let limit = timeout
            condition.unlock()
            switch job {
            case .call(let body, let request):
                body()
                request.complete()
            case .collective(let name, let start, let request):
                run(name, start, timeout: limit)
                request.complete()
            }
        }
    }

    private func run(_ name: String, _ start: @escaping (UnsafeMutablePointer<MPI_Request?>) -> Int32, timeout: Double) {
        var request: MPI_Request?
        check(start(&request), name)
        let began = DispatchTime.now().uptimeNanoseconds
        var polls = 0
        while true {
            var done: Int32 = 0
            check(MPI_Test(&request, &done, bv_mpi_status_ignore()), name)
            if done != 0 { return }
            polls += 1
            if polls % 64 == 0 {
                let waited = Double(DispatchTime.now().uptimeNanoseconds - began) / 1e9
                if waited > timeout {
                    fail("\(name) has waited \(Int(waited)) s for the other processes (distributed.timeout_seconds "
                         + "\(timeout)): one of them has failed or hangs; ending the job")
                }
                condition.lock()
                let aborting = abortRequested
                condition.unlock()
                if aborting { abortNow() }
            }
            if polls < 4096 { sched_yield() } else { usleep(50) }
        }
    }

    /// Ends the job with an error naming the failed MPI call, unless `code` is MPI_SUCCESS.
    func check(_ code: Int32, _ what: String) {
        guard code != MPI_SUCCESS else { return }
        var text = [CChar](repeating: 0, count: Int(bv_mpi_max_error_string()) + 1)
        var length: Int32 = 0
        MPI_Error_string(code, &text, &length)
        fail("\(what) failed: \(String(cString: text))")
    }

    /// On the MPI thread: prints `message` and aborts the job.
    private func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("bitvit rank \(rank): \(message)\n".utf8))
        abortNow()
    }

    private func abortNow() -> Never {
        MPI_Abort(bv_mpi_comm_world(), 1)
        _exit(1)
    }
}
