import CBitKernels

extension Tensor {
    /// LayerNorm over the last axis: `(x − μ)/√(σ² + eps)·weight + bias`, biased σ².
    ///
    /// - `weight`, `bias`: `[C]` with `C` the last extent, or nil for no affine transform.
    public func layerNorm(weight: Tensor?, bias: Tensor?, eps: Float) -> Tensor {
        let cols = shape.last ?? 1, rows = count / Swift.max(cols, 1)
        if let weight { precondition(weight.shape == [cols], "layerNorm weight \(weight.shape) for \(shape)") }
        if let bias { precondition(bias.shape == [cols], "layerNorm bias \(bias.shape) for \(shape)") }
        precondition((weight == nil) == (bias == nil), "layerNorm needs both weight and bias, or neither")
        let out = Tensor(uninitialized: shape)
        let mean = Tensor(uninitialized: [rows]), rstd = Tensor(uninitialized: [rows])
        let x = data, y = out.data, pm = mean.data, pr = rstd.data
        let w = weight?.data, b = bias?.data
        let grain = Swift.max(1, elementwiseGrain / Swift.max(cols, 1))
        Parallel.forRanges(rows, minimumPerThread: grain) { r in
            let o = r.lowerBound
            bv_layernorm_forward_f32(x + o * cols, w, b, y + o * cols, pm + o, pr + o, r.count, cols, eps)
        }
        let inputs = [self] + (weight.map { [$0] } ?? []) + (bias.map { [$0] } ?? [])
        return Autograd.record(out, op: "layerNorm", inputs: inputs) { g in
            let dx = Tensor(uninitialized: self.shape)
            let affine = weight != nil
            let parts = Swift.min(Parallel.threadCount, Swift.max(1, rows / grain))
            // Per-thread partial sums of dγ and dβ, combined afterwards.
            let partial = Tensor.zeros([parts, 2, cols])
            // Capture the saved tensors (not just their pointers) so their buffers stay alive.
            let x = self.data, pm = mean.data, pr = rstd.data, w = weight?.data
            let pg = g.data, pdx = dx.data, pp = partial.data
            Parallel.forPartitions(parts) { p in
                let lo = rows * p / parts, hi = rows * (p + 1) / parts
                guard lo < hi else { return }
                let dgamma = affine ? pp + p * 2 * cols : nil
                let dbeta = affine ? pp + p * 2 * cols + cols : nil
                bv_layernorm_backward_f32(x + lo * cols, w, pm + lo, pr + lo, pg + lo * cols,
                                          pdx + lo * cols, dgamma, dbeta, hi - lo, cols)
            }
            guard affine else { return [dx] }
            let sums = partial.sum(axis: 0)
            return [dx, sums.slice(axis: 0, 0..<1).reshaped([cols]), sums.slice(axis: 0, 1..<2).reshaped([cols])]
        }
    }

    /// Batch normalization over every axis except `channelAxis`.
    ///
    /// Training: normalizes with the batch mean and biased variance and updates the running
    /// statistics in place with `momentum` (unbiased variance, as PyTorch). Evaluation:
    /// normalizes with the running statistics. Use `channelAxis: 1` for `[B, C, H, W]` maps and
    /// `channelAxis: -1` for token tensors `[B, N, C]`.
    ///
    /// With `statisticsSum` (synchronized BatchNorm, PyTorch's `SyncBatchNorm`), training
    /// normalizes with the statistics of the batches of all processes of a data-parallel run:
    /// the per-channel sums of the forward (values, squared deviations, element count) and of
    /// the backward (Σg, Σg·x̂) go through it, so the input gradient is that of the global batch;
    /// the weight and bias gradients stay this process's own (the gradient averaging adds them).
    public func batchNorm(channelAxis: Int, weight: Tensor?, bias: Tensor?,
                          runningMean: Tensor?, runningVariance: Tensor?,
                          training: Bool, momentum: Float = 0.1, eps: Float = 1e-5,
                          statisticsSum: CrossProcessSum? = nil) -> Tensor {
        let a = normalizeAxis(channelAxis, rank: rank)
        if a == rank - 1 {
            return batchNormChannelsLast(weight: weight, bias: bias, runningMean: runningMean,
                                         runningVariance: runningVariance, training: training, momentum: momentum, eps: eps,
                                         statisticsSum: statisticsSum)
        }
        if let statisticsSum, training {
            // The fused channels-last kernel is the one that synchronizes: move the channels last.
            var toLast = Array(0..<rank)
            toLast.remove(at: a)
            toLast.append(a)
            var back = [Int](repeating: 0, count: rank)
            for (i, axis) in toLast.enumerated() { back[axis] = i }
            return permuted(toLast)
                .batchNormChannelsLast(weight: weight, bias: bias, runningMean: runningMean, runningVariance: runningVariance,
                                       training: true, momentum: momentum, eps: eps, statisticsSum: statisticsSum)
                .permuted(back)
        }
        let c = shape[a]
        var statShape = [Int](repeating: 1, count: rank)
        statShape[a] = c
        let axes = (0..<rank).filter { $0 != a }
        let n = count / Swift.max(c, 1)
        let normalized: Tensor
        if training {
            precondition(n > 1 || rank == 1, "batchNorm in training needs more than one value per channel, got \(shape)")
            let mean = self.mean(axes: axes, keepDims: true)
            let centered = self - mean
            let variance = centered.square().mean(axes: axes, keepDims: true)
            normalized = centered * (variance + eps).rsqrt()
            if let runningMean, let runningVariance {
                withNoGrad {
                    let unbiased = Float(n) / Float(Swift.max(n - 1, 1))
                    let rm = runningMean.data, rv = runningVariance.data
                    let bm = mean.data, bv = variance.data
                    for i in 0..<c {
                        rm[i] = (1 - momentum) * rm[i] + momentum * bm[i]
                        rv[i] = (1 - momentum) * rv[i] + momentum * bv[i] * unbiased
                    }
                }
            }
        } else {
            guard let runningMean, let runningVariance else {
                preconditionFailure("batchNorm in evaluation needs running statistics")
            }
            normalized = (self - runningMean.reshaped(statShape)) * (runningVariance.reshaped(statShape) + eps).rsqrt()
        }
        var y = normalized
        if let weight { y = y * weight.reshaped(statShape) }
        if let bias { y = y + bias.reshaped(statShape) }
        return y
    }
}

/// Sums per-channel statistics over the processes of a data-parallel run (synchronized
/// BatchNorm): called with this process's sums, it leaves the sums over all processes in place.
/// Every process calls it the same number of times, in the same order, with the same length.
public typealias CrossProcessSum = (inout [Double]) -> Void
