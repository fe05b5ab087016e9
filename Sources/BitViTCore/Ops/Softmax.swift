import CBitKernels

extension Tensor {
    /// Softmax over the last axis of `scale·x` (`scale > 0`), fused in one pass per row.
    public func softmax(scale: Float = 1) -> Tensor {
        precondition(scale > 0, "softmax scale must be positive")
        let cols = shape.last ?? 1, rows = count / Swift.max(cols, 1)
        let out = Tensor(uninitialized: shape)
        let src = data, dst = out.data
        Parallel.forRanges(rows, minimumPerThread: Swift.max(1, elementwiseGrain / Swift.max(cols, 1))) { r in
            bv_softmax_rows_f32(src + r.lowerBound * cols, dst + r.lowerBound * cols, r.count, cols, scale)
        }
        return Autograd.record(out, op: "softmax", inputs: [self]) { g in
            [softmaxBackward(probabilities: out, gradient: g, scale: scale)]
        }
    }

    /// Softmax over `axis` (moved to the last position and back when it is not last).
    public func softmax(axis: Int) -> Tensor {
        let a = normalizeAxis(axis, rank: rank)
        if a == rank - 1 { return softmax() }
        return transposed(a, -1).softmax().transposed(a, -1)
    }

    /// Log-softmax over the last axis.
    public func logSoftmax() -> Tensor {
        let cols = shape.last ?? 1, rows = count / Swift.max(cols, 1)
        let out = Tensor(uninitialized: shape)
        let src = data, dst = out.data
        Parallel.forRanges(rows, minimumPerThread: Swift.max(1, elementwiseGrain / Swift.max(cols, 1))) { r in
            bv_log_softmax_rows_f32(src + r.lowerBound * cols, dst + r.lowerBound * cols, r.count, cols)
        }
        return Autograd.record(out, op: "logSoftmax", inputs: [self]) { g in
            // dx = g − softmax·Σg
            let p = out.exp()
            return [g - p * g.sum(axis: -1, keepDims: true)]
        }
    }
}

/// dx = scale · y ⊙ (dy − Σ dy⊙y) per row of the last axis.
func softmaxBackward(probabilities y: Tensor, gradient g: Tensor, scale: Float) -> Tensor {
    let cols = y.shape.last ?? 1, rows = y.count / Swift.max(cols, 1)
    let dx = Tensor(uninitialized: y.shape)
    let py = y.data, pg = g.data, pd = dx.data
    Parallel.forRanges(rows, minimumPerThread: Swift.max(1, elementwiseGrain / Swift.max(cols, 1))) { r in
        let o = r.lowerBound * cols
        bv_softmax_backward_rows_f32(py + o, pg + o, pd + o, r.count, cols, scale)
    }
    return dx
}
