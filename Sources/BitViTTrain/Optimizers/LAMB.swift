import Foundation
import BitViTModels
import CBitKernels

/// LAMB (You et al., "Large Batch Optimization for Deep Learning", 2020): Adam's update with
/// decoupled weight decay, rescaled per parameter tensor by the trust ratio ‖p‖/‖u‖.
///
/// For every tensor: `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²` (`g = s·∇`,
/// `s = gradientScale`), `u = m̂/(√v̂ + eps) + wd·p`, `r = ‖p‖/‖u‖` (1 when either norm is 0),
/// `p ← p − lr·r·u`.
///
/// apex `FusedLAMB`, which timm's `fusedlamb` and Q-ViT's recipe use (docs/reference/qvit.md §7.2), applies the
/// trust ratio only to groups whose weight decay is nonzero (`use_nvlamb = False`) and clips the
/// gradients to global norm 1 first. With weight decay 0 it is therefore exactly Adam with
/// global-norm clipping at 1.0: choose `TrustRatioPolicy.decayedGroupsOnly` here and clip with
/// `GradientClipping` (the recipe name `fusedlamb` sets both).
public final class LAMB: AdaptiveMomentOptimizer, Optimizer {
    /// Which parameter groups get the trust ratio.
    public enum TrustRatioPolicy: String, Codable, Sendable {
        /// Every tensor (the paper's LAMB; apex with `use_nvlamb = True`).
        case all
        /// Only groups with nonzero weight decay (apex `FusedLAMB` default); the others take
        /// plain Adam steps.
        case decayedGroupsOnly
    }

    public let trustRatioPolicy: TrustRatioPolicy
    /// Trust ratios of the last step by parameter name (for logging and tests).
    public private(set) var lastTrustRatios: [String: Float] = [:]

    public init(groups: [ParameterGroup], learningRate: Float = 1e-3, beta1: Float = 0.9,
                beta2: Float = 0.999, eps: Float = 1e-6, trustRatioPolicy: TrustRatioPolicy = .all) {
        self.trustRatioPolicy = trustRatioPolicy
        super.init(groups: groups, learningRate: learningRate, beta1: beta1, beta2: beta2, eps: eps)
    }

    public func step() {
        let (c1, c2, work) = beginStep()
        let updates = work.map { Tensor(uninitialized: $0.0.parameter.shape) }
        let (b1, b2, e, s) = (beta1, beta2, eps, gradientScale)
        // Pass 1: moments and the raw update u.
        forEachChunk(counts: work.map(\.0.parameter.count)) { i, r in
            let (w, mv) = work[i]
            let (p, g, m, v, u, wd) = (w.parameter.data, w.gradient.data, mv[0].data, mv[1].data,
                                       updates[i].data, w.weightDecay)
            for j in r {
                let gj = g[j] * s
                m[j] = b1 * m[j] + (1 - b1) * gj
                v[j] = b2 * v[j] + (1 - b2) * gj * gj
                u[j] = (m[j] / c1) / ((v[j] / c2).squareRoot() + e) + wd * p[j]
            }
        }
        // Pass 2: per-tensor trust ratios, then the step.
        var ratios = [Float](repeating: 1, count: work.count)
        lastTrustRatios = [:]
        for (i, (w, _)) in work.enumerated() {
            if trustRatioPolicy == .all || w.weightDecay != 0 {
                let pNorm = bv_dot_f32(w.parameter.data, w.parameter.data, w.parameter.count).squareRoot()
                let uNorm = bv_dot_f32(updates[i].data, updates[i].data, updates[i].count).squareRoot()
                if pNorm > 0 && uNorm > 0 { ratios[i] = Float(pNorm / uNorm) }
            }
            lastTrustRatios[w.name] = ratios[i]
        }
        let lr = learningRate
        forEachChunk(counts: work.map(\.0.parameter.count)) { i, r in
            let (p, u, step) = (work[i].0.parameter.data, updates[i].data, lr * ratios[i])
            for j in r { p[j] -= step * u[j] }
        }
    }
}
