import CBitKernels

extension Tensor {
    /// Mean cross-entropy of `logits` `[B, C]` against integer `labels` (`B` values in `0..<C`),
    /// with optional label smoothing ε: the target is `(1−ε)·onehot + ε/C`.
    public static func crossEntropy(logits: Tensor, labels: [Int], labelSmoothing: Float = 0) -> Tensor {
        precondition(logits.rank == 2 && logits.shape[0] == labels.count,
                     "crossEntropy: logits \(logits.shape) for \(labels.count) labels")
        let (b, c) = (logits.shape[0], logits.shape[1])
        let target = Tensor(shape: [b, c], repeating: labelSmoothing / Float(c))
        for (i, y) in labels.enumerated() {
            precondition(y >= 0 && y < c, "crossEntropy: label \(y) outside 0..<\(c)")
            target.data[i * c + y] += 1 - labelSmoothing
        }
        return crossEntropy(logits: logits, targetProbabilities: target)
    }

    /// Mean over the batch of `−Σ_c target_c · log softmax(logits)_c` for soft targets `[B, C]`
    /// (mixup labels, distillation). No gradient flows to the targets.
    public static func crossEntropy(logits: Tensor, targetProbabilities target: Tensor) -> Tensor {
        precondition(logits.shape == target.shape && logits.rank == 2,
                     "crossEntropy: logits \(logits.shape) vs targets \(target.shape)")
        let b = logits.shape[0]
        let logp = withNoGrad { logits.logSoftmax() }
        let loss = Tensor(Float(-bv_dot_f32(logp.data, target.data, logp.count)) / Float(b))
        return Autograd.record(loss, op: "crossEntropy", inputs: [logits]) { g in
            // d/dlogits = (softmax − target)·Σtarget_row/B; rows of target sum to 1 in practice,
            // the general form keeps the gradient exact for any nonnegative targets.
            let rowMass = target.sum(axis: -1, keepDims: true)
            return [(logp.exp() * rowMass - target) * (g.item() / Float(b))]
        }
    }
}

