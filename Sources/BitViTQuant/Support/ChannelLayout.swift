/// How a per-channel parameter vector lines up with a tensor.
///
/// The tensor is viewed as `[outer, channels, inner]` around the channel axis, so parameter
/// `k` applies to every element `x[o, k, i]`. A per-tensor parameter is the layout with one
/// channel (`axis` nil).
public struct ChannelLayout: Equatable, Sendable {
    public let outer: Int
    public let channels: Int
    public let inner: Int

    /// The layout of a tensor of `shape` with channels on `axis` (negative counts from the
    /// end), or the whole tensor as one channel when `axis` is nil.
    public init(shape: [Int], axis: Int?) {
        guard let axis else {
            outer = 1
            channels = 1
            inner = shapeCount(shape)
            return
        }
        let a = normalizeAxis(axis, rank: shape.count)
        outer = shape[..<a].reduce(1, *)
        channels = shape[a]
        inner = shape[(a + 1)...].reduce(1, *)
    }

    /// Number of elements of the tensor.
    public var count: Int { outer * channels * inner }

    /// Number of elements that share one channel.
    public var elementsPerChannel: Int { outer * inner }

    /// The channel of flat element `i`.
    @inline(__always)
    public func channel(of i: Int) -> Int {
        if channels == 1 { return 0 }
        return inner == 1 ? i % channels : (i / inner) % channels
    }

    /// Per-channel sums of `t` (a tensor of this layout) as `[channels]`, accumulated in
    /// double precision. No autograd.
    public func sumPerChannel(_ t: Tensor) -> [Double] {
        precondition(t.count == count, "sumPerChannel: \(t.shape) does not have \(count) elements")
        return reducePerChannel(t) { $0 + Double($1) }
    }

    /// Per-channel mean of |t|.
    public func meanAbsolutePerChannel(_ t: Tensor) -> [Double] {
        let n = Double(Swift.max(elementsPerChannel, 1))
        return reducePerChannel(t) { $0 + Double(Swift.abs($1)) }.map { $0 / n }
    }

    /// Per-channel minimum.
    public func minimumPerChannel(_ t: Tensor) -> [Float] {
        var out = [Float](repeating: .infinity, count: channels)
        let p = t.data
        for i in 0..<count {
            let c = channel(of: i)
            out[c] = Swift.min(out[c], p[i])
        }
        return out
    }

    /// Folds every element into its channel's accumulator (threads split the outer axis).
    private func reducePerChannel(_ t: Tensor, _ combine: (Double, Float) -> Double) -> [Double] {
        let parts = Swift.min(Parallel.threadCount, Swift.max(1, count / elementwiseGrain), outer)
        var partials = [[Double]](repeating: [Double](repeating: 0, count: channels), count: Swift.max(parts, 1))
        let p = t.data
        partials.withUnsafeMutableBufferPointer { buffers in
            Parallel.forPartitions(Swift.max(parts, 1)) { part in
                let lo = outer * part / Swift.max(parts, 1), hi = outer * (part + 1) / Swift.max(parts, 1)
                var acc = [Double](repeating: 0, count: channels)
                for o in lo..<hi {
                    for c in 0..<channels {
                        let base = (o * channels + c) * inner
                        var s = acc[c]
                        for i in 0..<inner { s = combine(s, p[base + i]) }
                        acc[c] = s
                    }
                }
                buffers[part] = acc
            }
        }
        var total = [Double](repeating: 0, count: channels)
        for partial in partials { for c in 0..<channels { total[c] += partial[c] } }
        return total
    }
}

/// Round half to even (PyTorch `torch.round`).
@inline(__always)
func roundHalfEven(_ x: Float) -> Float { x.rounded(.toNearestOrEven) }

/// sgn with sgn(0) = 0 (branch-free: a difference of two comparisons).
@inline(__always)
func signum(_ x: Float) -> Float { (x > 0 ? 1 : 0) - (x < 0 ? 1 : 0) }
