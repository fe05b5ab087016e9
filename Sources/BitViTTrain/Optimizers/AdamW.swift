import Foundation
import BitViTModels
import CBitKernels

/// Adam with decoupled weight decay (Loshchilov & Hutter; PyTorch `AdamW`).
///
/// `p ← p − lr·(m̂/(√v̂ + eps) + wd·p)` with bias-corrected moments. With all weight decays 0
/// this is Adam. `gradientScale` (set by gradient clipping) multiplies every gradient first.
public final class AdamW: Optimizer {
    public var learningRate: Float
    public let beta1: Float, beta2: Float, eps: Float
    public private(set) var groups: [ParameterGroup]
    /// Number of steps taken (drives the bias corrections).
    public private(set) var stepCount = 0
    /// Multiplier applied to the gradients of the next step (1 unless clipping).
    public var gradientScale: Float = 1
    private var firstMoments: [ObjectIdentifier: Tensor] = [:]
    private var secondMoments: [ObjectIdentifier: Tensor] = [:]

    public init(groups: [ParameterGroup], learningRate: Float = 1e-3, beta1: Float = 0.9,
                beta2: Float = 0.999, eps: Float = 1e-8) {
        self.groups = groups
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        for g in groups {
            for (_, p) in g.parameters {
                firstMoments[ObjectIdentifier(p)] = Tensor.zeros(p.shape)
                secondMoments[ObjectIdentifier(p)] = Tensor.zeros(p.shape)
            }
        }
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
        var work: [(Tensor, Tensor, Tensor, Tensor, Float)] = []
        for g in groups {
            for (_, p) in g.parameters {
                guard let grad = p.grad else { continue }
                work.append((p, grad, firstMoments[ObjectIdentifier(p)]!, secondMoments[ObjectIdentifier(p)]!, g.weightDecay))
            }
        }
        let (lr, b1, b2, e, s) = (learningRate, beta1, beta2, eps, gradientScale)
        // Large tensors are split in chunks so both cores work on every parameter.
        let chunk = 1 << 16
        var tasks: [(Int, Int)] = []
        for (i, w) in work.enumerated() {
            for start in stride(from: 0, to: w.0.count, by: chunk) { tasks.append((i, start)) }
        }
        Parallel.forEach(tasks.count) { t in
            let (i, start) = tasks[t]
            let (p, g, m, v, wd) = work[i]
            let n = Swift.min(chunk, p.count - start)
            bv_adamw_step_f32(p.data + start, g.data + start, m.data + start, v.data + start, n,
                              lr, b1, b2, e, wd, c1, c2, s)
        }
    }

    public func state() -> [String: Tensor] {
        var s: [String: Tensor] = ["step": Tensor(Float(stepCount))]
        for g in groups {
            for (name, p) in g.parameters {
                s["exp_avg." + name] = firstMoments[ObjectIdentifier(p)]!
                s["exp_avg_sq." + name] = secondMoments[ObjectIdentifier(p)]!
            }
        }
        return s
    }

    public func loadState(_ state: [String: Tensor]) throws {
        guard let step = state["step"] else { throw BitViTError.missing("optimizer state 'step'") }
        for g in groups {
            for (name, p) in g.parameters {
                try restore(state, "exp_avg." + name, into: firstMoments[ObjectIdentifier(p)]!)
                try restore(state, "exp_avg_sq." + name, into: secondMoments[ObjectIdentifier(p)]!)
            }
        }
        stepCount = Int(step.item())
    }
}
