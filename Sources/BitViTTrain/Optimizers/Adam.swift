import Foundation
import BitViTModels

/// Adam with L2 weight decay added to the gradient (PyTorch `Adam`):
/// `g ← s·∇ + wd·p`, `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
/// `p ← p − lr·m̂/(√v̂ + eps)` with `m̂ = m/(1−β₁ᵗ)`, `v̂ = v/(1−β₂ᵗ)` and `s = gradientScale`.
///
/// For decoupled decay use `AdamW`; with weight decay 0 the two are identical.
public final class Adam: AdaptiveMomentOptimizer, Optimizer {
    public override init(groups: [ParameterGroup], learningRate: Float = 1e-3, beta1: Float = 0.9,
                beta2: Float = 0.999, eps: Float = 1e-8) {
        super.init(groups: groups, learningRate: learningRate, beta1: beta1, beta2: beta2, eps: eps)
    }

    public func step() {
        let (c1, c2, work) = beginStep()
        let (lr, b1, b2, e, s) = (learningRate, beta1, beta2, eps, gradientScale)
        forEachChunk(counts: work.map(\.0.parameter.count)) { i, r in
            let (w, mv) = work[i]
            let (p, g, m, v, wd) = (w.parameter.data, w.gradient.data, mv[0].data, mv[1].data, w.weightDecay)
            for j in r {
                let gj = g[j] * s + wd * p[j]
                m[j] = b1 * m[j] + (1 - b1) * gj
                v[j] = b2 * v[j] + (1 - b2) * gj * gj
                p[j] -= lr * (m[j] / c1) / ((v[j] / c2).squareRoot() + e)
            }
        }
    }
}
