import CBitKernels
import Foundation

/// How an axis reduction combines values.
enum ReduceKind { case sum, max, min }

extension Tensor {
    /// Reduces one axis with `kind`, keeping it with extent 1. Kernel only (no autograd).
    func reduceAxisKeepingDims(_ axis: Int, _ kind: ReduceKind) -> Tensor {
        let a = normalizeAxis(axis, rank: rank)
        let outer = shape[..<a].reduce(1, *), n = shape[a], inner = shape[(a + 1)...].reduce(1, *)
        var outShape = shape
        outShape[a] = 1
        let out = Tensor(uninitialized: outShape)
        let src = data, dst = out.data
        precondition(n > 0 || kind == .sum, "max/min over an empty axis")
        if inner == 1 {
            Parallel.forRanges(outer, minimumPerThread: Swift.max(1, elementwiseGrain / Swift.max(n, 1))) { r in
                for o in r {
                    let row = src + o * n
                    switch kind {
                    case .sum: dst[o] = Float(bv_sum_f32(row, n))
                    case .max:
                        var m = row[0]
                        for i in 1..<Swift.max(n, 1) where row[i] > m || row[i].isNaN { m = row[i] }
                        dst[o] = m
                    case .min:
                        var m = row[0]
                        for i in 1..<Swift.max(n, 1) where row[i] < m || row[i].isNaN { m = row[i] }
                        dst[o] = m
                    }
                }
            }
            return out
        }
        // Accumulate whole rows of `inner` values: vectorizes along the contiguous axis.
        let splitInner = outer < Parallel.threadCount
        let tasks = splitInner ? inner : outer
        Parallel.forRanges(tasks, minimumPerThread: Swift.max(1, elementwiseGrain / Swift.max(1, n * (splitInner ? 1 : inner)))) { r in
            let (oRange, iRange) = splitInner ? (0..<outer, r) : (r, 0..<inner)
            for o in oRange {
                let acc = dst + o * inner
                let base = src + o * n * inner
                for i in iRange { acc[i] = n > 0 ? base[i] : 0 }
                if n > 1 {
                    for j in 1..<n {
                        let row = base + j * inner
                        switch kind {
                        case .sum: for i in iRange { acc[i] += row[i] }
                        case .max: for i in iRange where row[i] > acc[i] || row[i].isNaN { acc[i] = row[i] }
                        case .min: for i in iRange where row[i] < acc[i] || row[i].isNaN { acc[i] = row[i] }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Reduces several axes (kernel only), result keeps the reduced axes with extent 1.
    func reduceKeepingDims(_ axes: [Int], _ kind: ReduceKind) -> Tensor {
        var t = self
        for a in Set(axes.map { normalizeAxis($0, rank: rank) }).sorted(by: >) {
            t = t.reduceAxisKeepingDims(a, kind)
        }
        return t
    }

    private func reducedShape(_ axes: [Int], keepDims: Bool) -> [Int] {
        let set = Set(axes.map { normalizeAxis($0, rank: rank) })
        if keepDims { return shape.enumerated().map { set.contains($0.offset) ? 1 : $0.element } }
        return shape.enumerated().filter { !set.contains($0.offset) }.map(\.element)
    }

    // MARK: Sum and mean

    /// Sum of all elements (accumulated in double precision), as a rank-0 tensor.
    public func sum() -> Tensor {
        let out = Tensor(Float(bv_sum_f32(data, count)))
        return Autograd.record(out, op: "sum", inputs: [self]) { g in
            [Tensor(shape: self.shape, repeating: g.item())]
        }
    }

    /// Sum over `axes`; with `keepDims` the reduced axes stay with extent 1.
    public func sum(axes: [Int], keepDims: Bool = false) -> Tensor {
        let kept = reduceKeepingDims(axes, .sum)
        let out = kept.reshaped(reducedShape(axes, keepDims: keepDims))
        return Autograd.record(out, op: "sumAxes", inputs: [self]) { g in
            [g.reshaped(kept.shape).expanded(to: self.shape)]
        }
    }

    public func sum(axis: Int, keepDims: Bool = false) -> Tensor { sum(axes: [axis], keepDims: keepDims) }

    /// Mean of all elements, as a rank-0 tensor.
    public func mean() -> Tensor { sum() * (1 / Float(Swift.max(count, 1))) }

    public func mean(axes: [Int], keepDims: Bool = false) -> Tensor {
        let n = axes.map { shape[normalizeAxis($0, rank: rank)] }.reduce(1, *)
        return sum(axes: axes, keepDims: keepDims) * (1 / Float(n))
    }

    public func mean(axis: Int, keepDims: Bool = false) -> Tensor { mean(axes: [axis], keepDims: keepDims) }

    /// Variance over `axes` with `correction` (0: biased, 1: unbiased/Bessel).
    public func variance(axes: [Int], correction: Int = 0, keepDims: Bool = false) -> Tensor {
        let n = axes.map { shape[normalizeAxis($0, rank: rank)] }.reduce(1, *)
        let centered = self - mean(axes: axes, keepDims: true)
        let v = centered.square().sum(axes: axes, keepDims: keepDims)
        return v * (1 / Float(Swift.max(n - correction, 1)))
    }

    /// Variance of all elements.
    public func variance(correction: Int = 0) -> Tensor {
        variance(axes: Array(0..<rank), correction: correction).reshaped([])
    }

    // MARK: Max and min

    /// Maximum over `axes`. The gradient is shared equally by tied maxima (PyTorch `amax`).
    public func max(axes: [Int], keepDims: Bool = false) -> Tensor { extremum(axes, .max, keepDims) }
    public func min(axes: [Int], keepDims: Bool = false) -> Tensor { extremum(axes, .min, keepDims) }
    public func max(axis: Int, keepDims: Bool = false) -> Tensor { extremum([axis], .max, keepDims) }
    public func min(axis: Int, keepDims: Bool = false) -> Tensor { extremum([axis], .min, keepDims) }
    /// Maximum of all elements (rank 0).
    public func max() -> Tensor { extremum(Array(0..<rank), .max, false) }
    /// Minimum of all elements (rank 0).
    public func min() -> Tensor { extremum(Array(0..<rank), .min, false) }

    private func extremum(_ axes: [Int], _ kind: ReduceKind, _ keepDims: Bool) -> Tensor {
        let kept = reduceKeepingDims(axes, kind)
        let out = kept.reshaped(reducedShape(axes, keepDims: keepDims))
        return Autograd.record(out, op: kind == .max ? "max" : "min", inputs: [self]) { g in
            let mask = self .== kept
            let ties = mask.reduceKeepingDims(axes, .sum)
            let share = Tensor.zipMap(g.reshaped(kept.shape), ties, /)
            return [mask * share]
        }
    }

    /// Index of the largest value along the last axis for every leading position.
    public func argmaxLastAxis() -> [Int] {
        let n = shape.last ?? 1
        let rows = count / Swift.max(n, 1)
        return (0..<rows).map { r in
            let row = data + r * n
            var best = 0
            for i in 1..<Swift.max(n, 1) where row[i] > row[best] { best = i }
            return best
        }
    }
}
