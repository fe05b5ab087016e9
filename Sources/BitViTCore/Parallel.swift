import Dispatch
import Foundation

/// Work splitting across the machine's cores for the Swift-side kernels.
///
/// BitViT's own kernels and OpenBLAS never run concurrently at the same level: a kernel either
/// calls BLAS on the calling thread (BLAS then uses its own threads) or splits its work here and
/// calls BLAS single-threaded inside (`BLAS.singleThreaded`), so the cores are never
/// oversubscribed.
public enum Parallel {
    /// Number of worker threads kernels split into (defaults to the active core count;
    /// the `BITVIT_NUM_THREADS` environment variable overrides it).
    nonisolated(unsafe) public static var threadCount: Int = {
        if let s = ProcessInfo.processInfo.environment["BITVIT_NUM_THREADS"], let n = Int(s), n > 0 {
            return n
        }
        return Swift.max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Calls `body` with disjoint subranges covering `0..<count`, in parallel when each part
    /// would get at least `minimumPerThread` items.
    @inlinable
    public static func forRanges(_ count: Int, minimumPerThread: Int = 1,
                                 _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let parts = Swift.min(threadCount, Swift.max(1, count / Swift.max(1, minimumPerThread)))
        if parts <= 1 { body(0..<count); return }
        DispatchQueue.concurrentPerform(iterations: parts) { p in
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

    /// Calls `body(p)` for every partition index `p` in `0..<parts`, concurrently.
    public static func forPartitions(_ parts: Int, _ body: (Int) -> Void) {
        if parts <= 1 { if parts == 1 { body(0) }; return }
        DispatchQueue.concurrentPerform(iterations: parts, execute: body)
    }
}
