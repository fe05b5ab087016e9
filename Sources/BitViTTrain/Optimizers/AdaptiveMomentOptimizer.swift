import Foundation
import BitViTModels

/// What Adam, AdamW and LAMB share: β₁, β₂ and eps; the first and second moment of every
/// parameter (state names `exp_avg.<param>` and `exp_avg_sq.<param>`, as in PyTorch); the step
/// counter behind the bias corrections `1 − β₁ᵗ`, `1 − β₂ᵗ`; and saving and restoring all of it.
/// A subclass writes only its update rule, starting each `step()` with `beginStep()`.
public class AdaptiveMomentOptimizer {
    public var learningRate: Float
    public let beta1: Float, beta2: Float, eps: Float
    public private(set) var groups: [ParameterGroup]
    /// Number of steps taken (drives the bias corrections).
    public internal(set) var stepCount = 0
    /// Multiplier applied to the gradients of the next step (1 unless clipping).
    public var gradientScale: Float = 1
    let moments: ParameterStateStore

    init(groups: [ParameterGroup], learningRate: Float, beta1: Float, beta2: Float, eps: Float) {
        self.groups = groups
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        moments = ParameterStateStore(kinds: ["exp_avg", "exp_avg_sq"], groups: groups)
    }
}

extension Optimizer where Self: AdaptiveMomentOptimizer {
    /// Counts the step; returns the bias corrections `c1 = 1 − β₁ᵗ`, `c2 = 1 − β₂ᵗ` and every
    /// parameter that has a gradient with its moment buffers `[m, v]`.
    func beginStep() -> (c1: Float, c2: Float,
                         work: [((name: String, parameter: Tensor, gradient: Tensor, weightDecay: Float), [Tensor])]) {
        stepCount += 1
        let c1 = 1 - Foundation.pow(beta1, Float(stepCount))
        let c2 = 1 - Foundation.pow(beta2, Float(stepCount))
        return (c1, c2, parametersWithGradients().map { w in (w, moments.buffers(of: w.parameter)) })
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
