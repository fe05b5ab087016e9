import BitViTPlatform
import CBitKernels
import CBitViTPlatform

/// How the Swift wrappers split a GEMM's M×N output across `Parallel`'s workers. K is never
/// split: every worker reads whole rows of both operands, so no partial sums are combined.
enum KernelWorkSplit {
    /// Columns per microkernel group (4 panels of 16: the AVX-512 tile width).
    static let columnGroup = 64

    /// Calls `body(rows, columns)` for disjoint blocks covering M×N.
    ///
    /// - Output features (columns) are split in whole 64-column groups when they divide evenly
    ///   over the workers or there are at least 4 groups per worker (the weights each worker
    ///   streams are then disjoint); otherwise rows are split, in whole 6-row tiles (e.g.
    ///   attention with N = d = 64). On `Parallel`'s spinning workers (the engine) a product is
    ///   cut into up to 4 parts per thread, claimed dynamically, and columns split whenever
    ///   there are at least as many groups as threads.
    /// - Work below `minimumWorkPerThread` units per worker runs on the calling thread: waking a
    ///   worker costs a few microseconds, comparable to a whole small binary GEMM.
    /// - With `preferRows` (the AVX2 table-lookup kernel, whose per-row tables each part would
    ///   otherwise rebuild), rows are split whenever there are at least as many row tiles as parts.
    static func run(m: Int, n: Int, work: Int, minimumWorkPerThread: Int, preferRows: Bool = false,
                    _ body: (Range<Int>, Range<Int>) -> Void) {
        guard m > 0 && n > 0 else { return }
        let threads = Parallel.isInsideRegion ? 1 : min(Parallel.threadCount, max(1, work / max(1, minimumWorkPerThread)))
        if threads <= 1 { body(0..<m, 0..<n); return }
        let groups = (n + columnGroup - 1) / columnGroup
        var parts = threads, byColumns = groups >= threads && (groups % threads == 0 || groups >= 4 * threads)
        if bv_pool_mode() != 0 {
            // The spinning workers claim parts dynamically: up to 4 per thread, so that a worker
            // that starts late (another process held its core) costs at most one part.
            parts = min(4 * threads, max(threads, work / max(1, minimumWorkPerThread)))
            byColumns = groups >= threads
            if byColumns { parts = min(parts, groups) }
        }
        if preferRows && (m + 5) / 6 >= parts { byColumns = false }
        if byColumns {
            Parallel.forPartitions(parts) { p in
                let g0 = groups * p / parts, g1 = groups * (p + 1) / parts
                if g0 < g1 { body(0..<m, (g0 * columnGroup)..<min(n, g1 * columnGroup)) }
            }
        } else {
            // Rows in whole 6-row tiles (the AVX-512 microkernel's height).
            let tiles = (m + 5) / 6, rowParts = min(parts, tiles)
            Parallel.forPartitions(rowParts) { p in
                let r0 = min(m, 6 * (tiles * p / rowParts)), r1 = min(m, 6 * (tiles * (p + 1) / rowParts))
                if r0 < r1 { body(r0..<r1, 0..<n) }
            }
        }
    }
}
