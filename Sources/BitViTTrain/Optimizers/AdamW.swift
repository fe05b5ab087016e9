import Foundation
import BitViTModels
import CBitKernels

/// Adam with decoupled weight decay (Loshchilov & Hutter; PyTorch `AdamW`).
///
/// `p ← p − lr·(m̂/(√v̂ + eps) + wd·p)` with bias-corrected moments. With all weight decays 0
/// this is Adam. `gradientScale` (set by gradient clipping) multiplies every gradient first.
/// State names follow PyTorch: `exp_avg.<param>`, `exp_avg_sq.<param>`, `step`.
public final class AdamW: AdaptiveMomentOptimizer, Optimizer {
    public override init(groups: [ParameterGroup], learningRate: Float = 1e-3, beta1: Float = 0.9,
                beta2: Float = 0.999, eps: Float = 1e-8) {
        super.init(groups: groups, learningRate: learningRate, beta1: beta1, beta2: beta2, eps: eps)
    }

    /// One group with uniform weight decay.
    public convenience init(parameters: [(name: String, tensor: Tensor)], learningRate: Float = 1e-3,
                            weightDecay: Float = 0.01) {
        self.init(groups: [ParameterGroup(parameters: parameters, weightDecay: weightDecay)],
                  learningRate: learningRate)
    }

    public func step() {
        let (c1, c2, work) = beginStep()
        let (lr, b1, b2, e, s) = (learningRate, beta1, beta2, eps, gradientScale)
        forEachChunk(counts: work.map(\.0.parameter.count)) { i, r in
            let (w, mv) = work[i]
            let o = r.lowerBound
            bv_adamw_step_f32(w.parameter.data + o, w.gradient.data + o, mv[0].data + o, mv[1].data + o,
                              r.count, lr, b1, b2, e, w.weightDecay, c1, c2, s)
        }
    }
}
