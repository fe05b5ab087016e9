// Fused batch normalization over the last axis (token tensors [B, N, C]: BHViT's "BatchNormT",
// Swin/Q-ViT channels-last maps): statistics, normalization and the affine transform in one
// pass each way, with the same semantics as the composed general path in `batchNorm`.

extension Tensor {
    /// `batchNorm` with `channelAxis` = last; see `batchNorm(channelAxis:…)` for the contract.
    func batchNormChannelsLast(weight: Tensor?, bias: Tensor?, runningMean: Tensor?, runningVariance: Tensor?,
                               training: Bool, momentum: Float, eps: Float,
                               statisticsSum: CrossProcessSum? = nil) -> Tensor {
        let c = shape.last ?? 1, n = count / Swift.max(c, 1)
        let rows = ChannelRowSums(rows: n, channels: c)
        let x = data
        // Per-channel rows: mean, 1/√(σ² + eps), γ, β (a tensor, so the backward keeps it alive).
        let stats = Tensor(uninitialized: [4, c])
        let mean = stats.data, rstd = stats.data + c, gamma = stats.data + 2 * c, beta = stats.data + 3 * c
        // Values per channel over the batch (of all processes when synchronized).
        var total = n
        if training {
            var first = rows(quantities: 1) { range, acc in
                for row in range { let xr = x + row * c; for k in 0..<c { acc[k] += xr[k] } }
            }
            if let statisticsSum {
                first.append(Double(n))
                statisticsSum(&first)
                total = Int(first.removeLast())
            }
            precondition(total > 1 || rank == 1, "batchNorm in training needs more than one value per channel, got \(shape)")
            for k in 0..<c { mean[k] = Float(first[k] / Double(total)) }
            var second = rows(quantities: 1) { range, acc in
                for row in range {
                    let xr = x + row * c
                    for k in 0..<c { let d = xr[k] - mean[k]; acc[k] += d * d }
                }
            }
            statisticsSum?(&second)
            for k in 0..<c {
                let variance = second[k] / Double(total)
                rstd[k] = 1 / (Float(variance) + eps).squareRoot()
                if let runningMean, let runningVariance {
                    let unbiased = Float(total) / Float(Swift.max(total - 1, 1))
                    runningMean.data[k] = (1 - momentum) * runningMean.data[k] + momentum * mean[k]
                    runningVariance.data[k] = (1 - momentum) * runningVariance.data[k] + momentum * Float(variance) * unbiased
                }
            }
        } else {
            guard let runningMean, let runningVariance else {
                preconditionFailure("batchNorm in evaluation needs running statistics")
            }
            for k in 0..<c {
                mean[k] = runningMean.data[k]
                rstd[k] = 1 / (runningVariance.data[k] + eps).squareRoot()
            }
        }
        for k in 0..<c {
            gamma[k] = weight?.data[k] ?? 1
            beta[k] = bias?.data[k] ?? 0
        }
        let out = Tensor(uninitialized: shape)
        let y = out.data
        rows.forEachRange { r in
            for row in r {
                let xr = x + row * c, yr = y + row * c
                for k in 0..<c { yr[k] = (xr[k] - mean[k]) * rstd[k] * gamma[k] + beta[k] }
            }
        }
        let inputs = [self] + (weight.map { [$0] } ?? []) + (bias.map { [$0] } ?? [])
        return Autograd.record(out, op: "batchNorm", inputs: inputs) { g in
            let x = self.data, pg = g.data
            let mean = stats.data, rstd = stats.data + c, gamma = stats.data + 2 * c
            // Σg and Σg·x̂ per channel, x̂ = (x − mean)·rstd.
            let sums = rows(quantities: 2) { range, acc in
                for row in range {
                    let xr = x + row * c, gr = pg + row * c
                    for k in 0..<c {
                        acc[k] += gr[k]
                        acc[c + k] += gr[k] * (xr[k] - mean[k]) * rstd[k]
                    }
                }
            }
            var dx: Tensor?
            if self.requiresGrad {
                // The input gradient of a synchronized layer sees the whole global batch.
                var global = sums
                if training, let statisticsSum { statisticsSum(&global) }
                let result = Tensor(uninitialized: self.shape)
                let d = result.data
                // Training: dx = γ·rstd·(g − Σg/n − x̂·Σ(g·x̂)/n); evaluation: dx = γ·rstd·g.
                let coefficients = Tensor(uninitialized: [3, c])
                let meanG = coefficients.data, meanGX = coefficients.data + c, scale = coefficients.data + 2 * c
                for k in 0..<c {
                    meanG[k] = training ? Float(global[k] / Double(total)) : 0
                    meanGX[k] = training ? Float(global[c + k] / Double(total)) : 0
                    scale[k] = gamma[k] * rstd[k]
                }
                rows.forEachRange { r in
                    for row in r {
                        let xr = x + row * c, gr = pg + row * c, dr = d + row * c
                        for k in 0..<c {
                            let xhat = (xr[k] - mean[k]) * rstd[k]
                            dr[k] = scale[k] * (gr[k] - meanG[k] - xhat * meanGX[k])
                        }
                    }
                }
                dx = result
            }
            var grads: [Tensor?] = [dx]
            if weight != nil { grads.append(Tensor(shape: [c], scalars: (0..<c).map { Float(sums[c + $0]) })) }
            if bias != nil { grads.append(Tensor(shape: [c], scalars: (0..<c).map { Float(sums[$0]) })) }
            return grads
        }
    }
}
