import BitViTModels

/// BHViT's regularizer against the oscillation of latent binary weights under Adam
/// (docs/reference/bhvit.md §7): `L_re = (1/n)·Σ_t (1/|W_t|)·Σ_i ||w_i| − 1|` over n weight tensors. It pulls
/// every latent weight towards ±1, away from the sign boundary where Adam's growing second
/// moment freezes oscillating weights.
///
/// The gradient is `sgn(|w_i| − 1)·sgn(w_i)/(n·|W_t|)` (0 at |w| = 1 and at w = 0).
public final class WeightOscillationLoss: LossTerm {
    public let name = "oscillation"
    /// The regularized latent weights.
    public let weights: [Tensor]

    public init(weights: [Tensor]) {
        precondition(!weights.isEmpty, "the oscillation regularizer needs at least one weight tensor")
        self.weights = weights
    }

    /// The tensors BHViT regularizes (`BHViT.oscillationRegularizedWeights`).
    public convenience init(model: BHViT) {
        self.init(weights: model.oscillationRegularizedWeights.map(\.tensor))
    }

    public func loss(_ context: LossContext) throws -> Tensor { Self.value(of: weights) }

    /// `L_re` of `weights` as a rank-0 tensor, differentiable in every weight.
    public static func value(of weights: [Tensor]) -> Tensor {
        let n = Double(weights.count)
        var total = 0.0
        for w in weights {
            var s = 0.0
            for i in 0..<w.count { s += Double(Swift.abs(Swift.abs(w.data[i]) - 1)) }
            total += s / Double(w.count)
        }
        let out = Tensor(Float(total / n))
        return Autograd.record(out, op: "weightOscillation", inputs: weights) { g in
            let seed = g.item()
            return weights.map { w -> Tensor? in
                guard w.requiresGrad else { return nil }
                return w.map(OscillationGradient(scale: seed / Float(n * Double(w.count))))
            }
        }
    }
}

/// `scale·sgn(|w| − 1)·sgn(w)`.
private struct OscillationGradient: UnaryElementFunction {
    let scale: Float
    @inline(__always) func callAsFunction(_ v: Float) -> Float {
        let a = Swift.abs(v)
        if a == 1 || v == 0 { return 0 }
        return (a > 1) == (v > 0) ? scale : -scale
    }
}
