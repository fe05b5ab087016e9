import BitViTModels

/// Stochastic gradient descent with momentum, Nesterov momentum and L2 weight decay
/// (PyTorch `SGD`, dampening 0):
/// `g ← s·∇ + wd·p`; `b ← μ·b + g` (`b ← g` on the first step);
/// `p ← p − lr·(g + μ·b)` with Nesterov, `p ← p − lr·b` without; `p ← p − lr·g` when `μ = 0`.
public final class SGD: Optimizer {
    public var learningRate: Float
    public let momentum: Float
    public let nesterov: Bool
    public private(set) var groups: [ParameterGroup]
    public private(set) var stepCount = 0
    public var gradientScale: Float = 1
    private let buffers: ParameterStateStore

    public init(groups: [ParameterGroup], learningRate: Float, momentum: Float = 0, nesterov: Bool = false) {
        precondition(!nesterov || momentum > 0, "Nesterov momentum needs momentum > 0")
        self.groups = groups
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        buffers = ParameterStateStore(kinds: ["momentum_buffer"], groups: groups)
    }

    public func step() {
        // PyTorch starts each momentum buffer at the first gradient; a zero buffer plus
        // `b ← μ·0 + g` gives the same value, so the first step needs no special case.
        stepCount += 1
        let work = parametersWithGradients().map { w in (w, buffers.buffers(of: w.parameter)[0]) }
        let (lr, mu, s, nesterov) = (learningRate, momentum, gradientScale, nesterov)
        forEachChunk(counts: work.map(\.0.parameter.count)) { i, r in
            let (w, buffer) = work[i]
            let (p, g, b, wd) = (w.parameter.data, w.gradient.data, buffer.data, w.weightDecay)
            for j in r {
                let gj = g[j] * s + wd * p[j]
                if mu == 0 { p[j] -= lr * gj; continue }
                b[j] = mu * b[j] + gj
                p[j] -= lr * (nesterov ? gj + mu * b[j] : b[j])
            }
        }
    }

    public func state() -> [String: Tensor] {
        var s: [String: Tensor] = ["step": Tensor(Float(stepCount))]
        buffers.save(into: &s, groups: groups)
        return s
    }

    public func loadState(_ state: [String: Tensor]) throws {
        let step = try restoredStepCount(state)
        try buffers.load(from: state, groups: groups)
        stepCount = step
    }
}
