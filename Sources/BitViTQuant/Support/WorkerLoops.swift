/// Loop drivers for the quantizer kernels. A kernel is a small struct conforming to
/// `ChannelKernel`; `ChannelLayout.run` is generic over it, so each call specializes into a
/// plain loop over raw pointers (the kernel inlines, no per-element calls) whose innermost
/// loop walks contiguous elements and vectorizes. Scale gradients are reduced afterwards from
/// per-element term tensors with the engine's vectorized sums.
///
/// Kernels load every operand into locals before choosing between values: a conditional load
/// such as `inside ? g[i] : 0` compiles to a branch, which mispredicts on random data and made
/// these loops 20× slower; a choice between loaded values is a branch-free select.

/// An elementwise kernel with per-channel parameters: `apply(i, c)` handles flat element `i`,
/// which belongs to channel `c`.
protocol ChannelKernel {
    func apply(_ i: Int, _ c: Int)
}

/// Workers a loop over `units` units of `elementsPerUnit` elements splits into.
@inline(__always)
func workerCount(units: Int, elementsPerUnit: Int) -> Int {
    Swift.max(1, Swift.min(Parallel.threadCount, units * elementsPerUnit / elementwiseGrain, units))
}

/// Calls `body(worker, range)` for disjoint contiguous ranges covering `0..<units`, one per
/// worker, concurrently; returns the number of workers.
@discardableResult
func forEachWorkerRange(_ units: Int, elementsPerUnit: Int = 1,
                        _ body: (_ worker: Int, _ range: Range<Int>) -> Void) -> Int {
    let workers = workerCount(units: units, elementsPerUnit: elementsPerUnit)
    Parallel.forPartitions(workers) { w in body(w, (units * w / workers)..<(units * (w + 1) / workers)) }
    return workers
}

extension ChannelLayout {
    /// Runs `kernel` on every element across the workers: per-tensor layouts in element
    /// ranges, channel-last layouts (`inner == 1`) row by row with the channel loop innermost,
    /// others block by block with the `inner` elements of one channel innermost.
    @inline(__always)
    func run<K: ChannelKernel>(_ kernel: K) {
        let (k, inner) = (channels, self.inner)
        if k == 1 {
            forEachWorkerRange(count) { _, r in for i in r { kernel.apply(i, 0) } }
        } else if inner == 1 {
            forEachWorkerRange(outer, elementsPerUnit: k) { _, rows in
                for o in rows {
                    let base = o * k
                    for c in 0..<k { kernel.apply(base + c, c) }
                }
            }
        } else {
            forEachWorkerRange(outer * k, elementsPerUnit: inner) { _, blocks in
                var c = blocks.lowerBound % k
                for b in blocks {
                    let base = b * inner
                    for j in 0..<inner { kernel.apply(base + j, c) }
                    c = c + 1 == k ? 0 : c + 1
                }
            }
        }
    }

    /// Per-channel sums of `t` (a tensor of this layout), `[channels]`. No autograd.
    func channelSums(_ t: Tensor) -> Tensor {
        withNoGrad {
            if channels == 1 { return t.sum().reshaped([1]) }
            if inner == 1 { return t.reshaped([outer, channels]).sum(axis: 0) }
            return t.reshaped([outer, channels, inner]).sum(axes: [0, 2])
        }
    }
}

/// Round half to even for the small codes of clamped quantizer arguments (|x| < 2^22):
/// adding and subtracting 1.5·2^23 leaves the float rounding (to nearest, ties to even) to
/// the hardware, so the loop vectorizes on every x86-64 (a `rounded()` call does not without
/// SSE4.1).
@inline(__always)
func roundCode(_ x: Float) -> Float { (x + 12_582_912) - 12_582_912 }

/// Per-worker partial sums in double precision (reductions the kernels cannot vectorize,
/// e.g. per-group counts of GSB).
final class PartialSums {
    let workers: Int
    let channels: Int
    private let storage: UnsafeMutablePointer<Double>

    init(workers: Int, channels: Int) {
        self.workers = workers
        self.channels = channels
        storage = .allocate(capacity: workers * channels)
        storage.initialize(repeating: 0, count: workers * channels)
    }

    deinit { storage.deallocate() }

    /// Adds `value` to the partial sum of `channel` owned by `worker`.
    @inline(__always)
    func add(_ value: Double, worker: Int, channel: Int = 0) {
        storage[worker * channels + channel] += value
    }

    /// The sum over workers of `channel`.
    func total(channel: Int = 0) -> Double {
        (0..<workers).reduce(0.0) { $0 + storage[$1 * channels + channel] }
    }
}
