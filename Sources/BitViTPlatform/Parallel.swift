import CBitViTPlatform
import Dispatch
import Foundation

/// Work splitting across the machine's cores. All of BitViT's threading goes through here.
///
/// OpenBLAS runs single-threaded (see `BLAS`); large GEMMs are split across the cores by
/// BitViT itself, so no library thread pool spins while BitViT's kernels run. A parallel
/// region entered from inside another one runs serially on the calling worker, so nested
/// kernels (e.g. a GEMM inside a per-head loop) never oversubscribe the cores.
public enum Parallel {
    /// Number of worker threads kernels split into (defaults to the active core count;
    /// the `BITVIT_NUM_THREADS` environment variable, 1 … 1024, overrides it).
    nonisolated(unsafe) public static var threadCount: Int = {
        if let s = ProcessInfo.processInfo.environment["BITVIT_NUM_THREADS"], let n = Int(s), (1...1024).contains(n) {
            return n
        }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// True on a thread that is executing part of a parallel region.
    public static var isInsideRegion: Bool { bv_in_parallel_region() != 0 }

    /// Calls `body(p)` for every partition index `p` in `0..<parts`, concurrently unless the
    /// caller is already inside a parallel region.
    public static func forPartitions(_ parts: Int, _ body: (Int) -> Void) {
        if parts <= 1 || isInsideRegion {
            for p in 0..<max(parts, 0) { body(p) }
            return
        }
        if bv_pool_mode() != 0 {
            withoutActuallyEscaping(body) { escaping in
                var task = escaping
                withUnsafeMutablePointer(to: &task) { context in
                    bv_pool_run(Int32(parts), Int32(threadCount), { context, part in
                        context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(Int(part))
                    }, context)
                }
            }
            return
        }
        DispatchQueue.concurrentPerform(iterations: parts) { p in
            let previous = bv_parallel_region_enter()
            body(p)
            bv_parallel_region_leave(previous)
        }
    }

    /// Runs `body` with this thread's parallel regions on a pool of persistent workers that
    /// spin between jobs instead of GCD's, which sleep: a region then starts in well under a
    /// microsecond rather than the 5–50 µs of a thread wake-up. For callers that fork and join
    /// many short jobs in a row (the inference engine at batch 1); the workers spin for up to
    /// 200 µs after each job, then sleep. Parts are claimed dynamically, so a worker that is
    /// slow to start costs at most its parts' time, taken over by the caller.
    public static func withSpinningWorkers<R>(_ body: () throws -> R) rethrows -> R {
        let previous = bv_pool_mode_enter()
        defer { bv_pool_mode_leave(previous) }
        return try body()
    }

    /// Runs `body` with every parallel region it enters executed serially on this thread, as
    /// nested regions are. For measuring one core's rate without changing `threadCount`, which
    /// other threads of the process may be using at the same time.
    public static func onCallingThread<R>(_ body: () throws -> R) rethrows -> R {
        let previous = bv_parallel_region_enter()
        defer { bv_parallel_region_leave(previous) }
        return try body()
    }

    /// Calls `body` with disjoint subranges covering `0..<count`, in parallel when each part
    /// would get at least `minimumPerThread` items (one range per thread; up to 4 per thread,
    /// claimed dynamically, inside `withSpinningWorkers`).
    @inlinable
    public static func forRanges(_ count: Int, minimumPerThread: Int = 1,
                                 _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        // On the spinning workers parts are claimed dynamically: up to 4 per thread, so that a
        // worker that starts late costs at most one part.
        let perThread = bv_pool_mode() != 0 && !isInsideRegion ? 4 : 1
        let parts = min(perThread * threadCount, max(1, count / max(1, minimumPerThread)))
        if parts <= 1 { body(0..<count); return }
        forPartitions(parts) { p in
            let lo = count * p / parts, hi = count * (p + 1) / parts
            if lo < hi { body(lo..<hi) }
        }
    }

    /// Calls `body(i)` for every `i` in `0..<count`, spread over the worker threads.
    @inlinable
    public static func forEach(_ count: Int, minimumPerThread: Int = 1, _ body: (Int) -> Void) {
        forRanges(count, minimumPerThread: minimumPerThread) { range in
            for i in range { body(i) }
        }
    }
}
