/// The shape two shapes broadcast to under NumPy/PyTorch rules (trailing axes aligned; an
/// extent of 1 stretches).
public func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
    let rank = Swift.max(a.count, b.count)
    var out = [Int](repeating: 1, count: rank)
    for i in 0..<rank {
        let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
        let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
        precondition(da == db || da == 1 || db == 1, "shapes \(a) and \(b) do not broadcast")
        out[i] = da == 1 ? db : da
    }
    return out
}

/// An iteration plan for a binary op over broadcast operands: the output is visited as `rows`
/// contiguous runs of `rowLength` elements; each run reads A and B at fixed strides (0 or 1
/// after axis merging).
@usableFromInline
struct BroadcastPlan {
    let outShape: [Int]
    @usableFromInline let rowLength: Int
    @usableFromInline let rows: Int
    @usableFromInline let aInnerStride: Int
    @usableFromInline let bInnerStride: Int
    // Outer (all but the innermost merged) axes, for offset computation.
    @usableFromInline let outerDims: [Int]
    @usableFromInline let aOuterStrides: [Int]
    @usableFromInline let bOuterStrides: [Int]

    @usableFromInline
    init(_ aShape: [Int], _ bShape: [Int], outShape: [Int]) {
        self.outShape = outShape
        let rank = outShape.count
        func strides(_ s: [Int]) -> [Int] {
            let padded = [Int](repeating: 1, count: rank - s.count) + s
            var st = contiguousStrides(padded)
            for i in 0..<rank where padded[i] == 1 { st[i] = 0 }
            return st
        }
        let sa = strides(aShape), sb = strides(bShape)
        // Drop unit axes, then merge neighbours that are contiguous for both operands.
        var dims: [Int] = [], ta: [Int] = [], tb: [Int] = []
        for i in 0..<rank where outShape[i] != 1 {
            if let last = dims.last, ta.last! == sa[i] * outShape[i], tb.last! == sb[i] * outShape[i] {
                dims[dims.count - 1] = last * outShape[i]
                ta[ta.count - 1] = sa[i]
                tb[tb.count - 1] = sb[i]
            } else {
                dims.append(outShape[i]); ta.append(sa[i]); tb.append(sb[i])
            }
        }
        if dims.isEmpty { dims = [1]; ta = [0]; tb = [0] }
        rowLength = dims.last!
        aInnerStride = ta.last!
        bInnerStride = tb.last!
        outerDims = Array(dims.dropLast())
        aOuterStrides = Array(ta.dropLast())
        bOuterStrides = Array(tb.dropLast())
        rows = outerDims.reduce(1, *)
    }

    /// Offsets of row `r` in A and B.
    @inlinable @inline(__always)
    func offsets(row r: Int) -> (Int, Int) {
        var rem = r, oa = 0, ob = 0
        var i = outerDims.count - 1
        while i >= 0 {
            let d = outerDims[i]
            let idx = rem % d
            rem /= d
            oa += idx * aOuterStrides[i]
            ob += idx * bOuterStrides[i]
            i -= 1
        }
        return (oa, ob)
    }
}

/// Elements per thread below which elementwise kernels stay on one thread.
public let elementwiseGrain = 1 << 16

/// A scalar function of two floats, applied elementwise by `Tensor.zipMap`. Kernels written
/// against this protocol are specialized per function type, so the loops inline and vectorize.
public protocol BinaryElementFunction {
    func callAsFunction(_ a: Float, _ b: Float) -> Float
}

/// A scalar function of one float, applied elementwise by `Tensor.map`.
public protocol UnaryElementFunction {
    func callAsFunction(_ x: Float) -> Float
}

/// Adapts a closure (convenient, but each element is an indirect call).
public struct ClosureBinary: BinaryElementFunction {
    let f: (Float, Float) -> Float
    @inline(__always) public func callAsFunction(_ a: Float, _ b: Float) -> Float { f(a, b) }
}

public struct ClosureUnary: UnaryElementFunction {
    let f: (Float) -> Float
    @inline(__always) public func callAsFunction(_ x: Float) -> Float { f(x) }
}

extension Tensor {
    /// Applies `f` elementwise to broadcast operands into a new tensor (no autograd).
    public static func zipMap(_ a: Tensor, _ b: Tensor, _ f: @escaping (Float, Float) -> Float) -> Tensor {
        zipMap(a, b, ClosureBinary(f: f))
    }

    /// Applies `f` elementwise to broadcast operands into a new tensor (no autograd).
    @inlinable
    public static func zipMap<F: BinaryElementFunction>(_ a: Tensor, _ b: Tensor, _ f: F) -> Tensor {
        if a.shape == b.shape {
            let out = Tensor(uninitialized: a.shape)
            let pa = a.data, pb = b.data, po = out.data
            Parallel.forRanges(out.count, minimumPerThread: elementwiseGrain) { r in
                for i in r { po[i] = f(pa[i], pb[i]) }
            }
            return out
        }
        let outShape = broadcastShape(a.shape, b.shape)
        let out = Tensor(uninitialized: outShape)
        let pa = a.data, pb = b.data, po = out.data
        if b.count == 1 {
            let s = pb[0]
            Parallel.forRanges(out.count, minimumPerThread: elementwiseGrain) { r in
                for i in r { po[i] = f(pa[i], s) }
            }
            return out
        }
        if a.count == 1 {
            let s = pa[0]
            Parallel.forRanges(out.count, minimumPerThread: elementwiseGrain) { r in
                for i in r { po[i] = f(s, pb[i]) }
            }
            return out
        }
        let plan = BroadcastPlan(a.shape, b.shape, outShape: outShape)
        let n = plan.rowLength, sa = plan.aInnerStride, sb = plan.bInnerStride
        Parallel.forRanges(plan.rows, minimumPerThread: Swift.max(1, elementwiseGrain / n)) { rows in
            for r in rows {
                let (oa, ob) = plan.offsets(row: r)
                let xa = pa + oa, xb = pb + ob, xo = po + r * n
                if sa == 1 && sb == 1 {
                    for i in 0..<n { xo[i] = f(xa[i], xb[i]) }
                } else if sa == 1 {
                    let s = xb[0]
                    for i in 0..<n { xo[i] = f(xa[i], s) }
                } else if sb == 1 {
                    let s = xa[0]
                    for i in 0..<n { xo[i] = f(s, xb[i]) }
                } else {
                    let v = f(xa[0], xb[0])
                    for i in 0..<n { xo[i] = v }
                }
            }
        }
        return out
    }

    /// Applies `f` to every element into a new tensor (no autograd).
    public func map(_ f: @escaping (Float) -> Float) -> Tensor { map(ClosureUnary(f: f)) }

    /// Applies `f` to every element into a new tensor (no autograd).
    @inlinable
    public func map<F: UnaryElementFunction>(_ f: F) -> Tensor {
        let out = Tensor(uninitialized: shape)
        let p = data, po = out.data
        Parallel.forRanges(count, minimumPerThread: elementwiseGrain) { r in
            for i in r { po[i] = f(p[i]) }
        }
        return out
    }

    /// Sums a gradient of a broadcast result back to `shape` (the inverse of broadcasting).
    public func sumToShape(_ target: [Int]) -> Tensor {
        if shape == target { return self }
        let lead = rank - target.count
        precondition(lead >= 0, "cannot reduce \(shape) to \(target)")
        var axes = Array(0..<lead)
        for (i, d) in target.enumerated() where d == 1 && shape[lead + i] != 1 { axes.append(lead + i) }
        let reduced = axes.isEmpty ? self : sum(axes: axes, keepDims: true)
        return reduced.reshaped(target)
    }
}
