import Foundation
import BitViTModels
import CBitKernels

/// Adam with decoupled weight decay (Loshchilov & Hutter; PyTorch `AdamW`).
///
/// `p ← p − lr·(m̂/(√v̂ + eps) + wd·p)` with bias-corrected moments. With all weight decays 0
/// this is Adam. `gradientScale` (set by gradient clipping) multiplies every gradient first.
/// State names follow PyTorch: `exp_avg.<param>`, `exp_avg_sq.<param>`, `step`.
public final class AdamW: Optimizer {
    public var learningRate: Float
    public let beta1: Float, beta2: Float, eps: Float
    public private(set) var groups: [ParameterGroup]
    /// Number of steps taken (drives the bias corrections).
    public private(set) var stepCount = 0
    /// Multiplier applied to the gradients of the next step (1 unless clipping).
    public var gradientScale: Float = 1
    private let moments: ParameterStateStore

    public init(groups: [ParameterGroup], learningRate: Float = 1e-3, beta1: Float = 0.9,
                beta2: Float = 0.999, eps: Float = 1e-8) {
        self.groups = groups
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        moments = ParameterStateStore(kinds: ["exp_avg", "exp_avg_sq"], groups: groups)
    }

    /// One group with uniform weight decay.
    public convenience init(parameters: [(name: String, tensor: Tensor)], learningRate: Float = 1e-3,
                            weightDecay: Float = 0.01) {
        self.init(groups: [ParameterGroup(parameters: parameters, weightDecay: weightDecay)],
                  learningRate: learningRate)
    }

    public func step() {
        stepCount += 1
        let c1 = 1 - Foundation.pow(beta1, Float(stepCount))
        let c2 = 1 - Foundation.pow(beta2, Float(stepCount))
        let work = parametersWithGradients().map { w in (w, moments.buffers(of: w.parameter)) }
        let (lr, b1, b2, e, s) = (learningRate, beta1, beta2, eps, gradientScale)
        forEachChunk(counts: work.map(\.0.parameter.count)) { i, r in
            let (w, mv) = work[i]
            let o = r.lowerBound
            bv_adamw_step_f32(w.parameter.data + o, w.gradient.data + o, mv[0].data + o, mv[1].data + o,
                              r.count, lr, b1, b2, e, w.weightDecay, c1, c2, s)
        }
    }

    public func state() -> [String: Tensor] {
        var s: [String: Tensor] = ["step": Tensor(Float(stepCount))]
        moments.save(into: &s, groups: groups)
        return s
    }

    public func loadState(_ state: [String: Tensor]) throws {
        let step = try restoredStepCount(state)
        try moments.load(from: state, groups: groups)
        stepCount = step
    }
}
