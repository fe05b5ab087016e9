import BitViTCore
import Foundation
import Testing

/// `Parallel.withThreadCount`: a per-thread thread count that the kernels' parallel regions
/// (GCD and the spinning pool alike) respect.
@Suite("Parallel thread counts")
struct ParallelThreadCountTests {
    /// The distinct threads that ran parts of a 64-part region started with `count` threads.
    static func threadsUsed(_ count: Int, pool: Bool) -> Int {
        let lock = NSLock()
        var threads = Set<ObjectIdentifier>()
        let region = {
            Parallel.withThreadCount(count) {
                Parallel.forPartitions(64) { _ in
                    usleep(300)
                    lock.withLock { _ = threads.insert(ObjectIdentifier(Thread.current)) }
                }
            }
        }
        if pool { Parallel.withSpinningWorkers(region) } else { region() }
        return threads.count
    }

    @Test("The count applies to the calling thread inside the call only, and nests")
    func scoped() {
        let process = Parallel.threadCount
        Parallel.withThreadCount(3) {
            #expect(Parallel.threadCount == 3)
            Parallel.withThreadCount(1) { #expect(Parallel.threadCount == 1) }
            #expect(Parallel.threadCount == 3)
            var elsewhere = 0
            let done = DispatchSemaphore(value: 0)
            Thread { elsewhere = Parallel.threadCount; done.signal() }.start()
            done.wait()
            #expect(elsewhere == process)
        }
        #expect(Parallel.threadCount == process)
    }

    @Test("Regions run on at most the chosen number of threads, also after larger jobs started more workers")
    func regionsRespectTheCount() {
        _ = Self.threadsUsed(4, pool: true)
        #expect(Self.threadsUsed(2, pool: true) <= 2)
        #expect(Self.threadsUsed(1, pool: true) == 1)
        #expect(Self.threadsUsed(2, pool: false) <= 2)
        #expect(Self.threadsUsed(1, pool: false) == 1)
    }

    @Test("Back-to-back pool jobs of varying sizes run every part exactly once")
    func everyPartOnce() {
        // Alternating small and large part counts is what exposed a late worker claiming a
        // part of a finished job with the next job's part count.
        let sizes = [2, 64, 3, 17, 1, 40, 2, 9]
        var wrong = 0
        Parallel.withSpinningWorkers {
            Parallel.withThreadCount(2) {
                for job in 0..<4000 {
                    let parts = sizes[job % sizes.count]
                    let counts = UnsafeMutablePointer<Int>.allocate(capacity: parts)
                    counts.initialize(repeating: 0, count: parts)
                    Parallel.forPartitions(parts) { p in counts[p] += 1 }
                    for p in 0..<parts where counts[p] != 1 { wrong += 1 }
                    counts.deallocate()
                }
            }
        }
        #expect(wrong == 0)
    }
}
