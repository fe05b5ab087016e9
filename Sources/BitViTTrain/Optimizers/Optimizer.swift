import BitViTModels

/// Updates parameters from their accumulated gradients.
///
/// Optimizers hold named parameter groups so that their per-parameter state (moments, momentum
/// buffers) can be saved by name and restored exactly (`state()` / `loadState(_:)`).
///
/// Gradients are treated as immutable: clipping and loss scaling reach the update through
/// `gradientScale`, which multiplies every gradient as the optimizer reads it.
public protocol Optimizer: AnyObject {
    /// Base learning rate; schedules set it before every step.
    var learningRate: Float { get set }
    /// Multiplier applied to the gradients of the next step (1 unless clipping).
    var gradientScale: Float { get set }
    /// The parameters this optimizer updates, with their hyper-parameters.
    var groups: [ParameterGroup] { get }
    /// Number of steps taken.
    var stepCount: Int { get }
    /// Applies one update from the current gradients. Parameters without a gradient are skipped.
    func step()
    /// Per-parameter state by name (e.g. `exp_avg.blocks.0.attn.qkv.weight`) plus scalars.
    func state() -> [String: Tensor]
    /// Restores state written by `state()`; throws on missing or mis-shaped entries.
    func loadState(_ state: [String: Tensor]) throws
}

/// Parameters that share hyper-parameters.
public struct ParameterGroup {
    public var parameters: [(name: String, tensor: Tensor)]
    public var weightDecay: Float

    public init(parameters: [(name: String, tensor: Tensor)], weightDecay: Float) {
        self.parameters = parameters
        self.weightDecay = weightDecay
    }

    /// The names timm's models list in `no_weight_decay()`.
    public static let timmNoWeightDecayNames: Set<String> = ["cls_token", "dist_token", "pos_embed"]

    /// timm's rule over `model`'s parameters: `timmGroups(_:weightDecay:decayScalars:skip:)`
    /// with the model's `OfficialBiasParameters` (parameters the official code names `….bias`)
    /// exempt as well.
    public static func timmGroups(for model: Module, weightDecay: Float, decayScalars: Bool = false) -> [ParameterGroup] {
        let officialBiases = (model as? any OfficialBiasParameters)?.officialBiasParameterNames ?? []
        return timmGroups(model.namedParameters(), weightDecay: weightDecay, decayScalars: decayScalars,
                          skip: timmNoWeightDecayNames.union(officialBiases))
    }

    /// timm's rule: no weight decay for 1-D tensors (norms, biases, per-channel scales), names
    /// ending in `.bias`, and the token/position embeddings; everything else decays. With
    /// `decayScalars` 0-d tensors (learnable quantizer scales) decay too, as in timm 0.4.x that
    /// GSB's code used.
    public static func timmGroups(_ named: [(name: String, tensor: Tensor)], weightDecay: Float,
                                  decayScalars: Bool = false,
                                  skip: Set<String> = timmNoWeightDecayNames) -> [ParameterGroup] {
        var decay: [(String, Tensor)] = [], noDecay: [(String, Tensor)] = []
        for (name, t) in named {
            let exempt = (t.rank == 1) || (t.rank == 0 && !decayScalars) || name.hasSuffix(".bias")
                || skip.contains(name) || skip.contains(where: { name.hasSuffix("." + $0) })
            if exempt { noDecay.append((name, t)) } else { decay.append((name, t)) }
        }
        return [ParameterGroup(parameters: decay, weightDecay: weightDecay),
                ParameterGroup(parameters: noDecay, weightDecay: 0)]
    }
}

extension Optimizer {
    /// Loads one named state tensor, checking its shape.
    func restore(_ state: [String: Tensor], _ key: String, into target: Tensor) throws {
        guard let t = state[key] else { throw BitViTError.missing("optimizer state '\(key)'") }
        guard t.shape == target.shape else {
            throw BitViTError.shapeMismatch("optimizer state '\(key)': \(t.shape) vs \(target.shape)")
        }
        target.assign(t)
    }

    /// Reads the scalar step counter saved under `step`.
    func restoredStepCount(_ state: [String: Tensor]) throws -> Int {
        guard let step = state["step"], step.count == 1 else { throw BitViTError.missing("optimizer state 'step'") }
        return Int(step.item())
    }

    /// Every parameter that has a gradient, with its group's weight decay.
    func parametersWithGradients() -> [(name: String, parameter: Tensor, gradient: Tensor, weightDecay: Float)] {
        var out: [(String, Tensor, Tensor, Float)] = []
        for g in groups {
            for (name, p) in g.parameters {
                if let grad = p.grad { out.append((name, p, grad, g.weightDecay)) }
            }
        }
        return out
    }
}

/// Runs `body(item, range)` over chunks of every tensor so both cores work on each large
/// parameter; each element is visited exactly once, so results do not depend on threading.
func forEachChunk(counts: [Int], chunk: Int = 1 << 16, _ body: (Int, Range<Int>) -> Void) {
    var tasks: [(Int, Int)] = []
    for (i, n) in counts.enumerated() {
        for start in stride(from: 0, to: n, by: chunk) { tasks.append((i, start)) }
    }
    Parallel.forEach(tasks.count) { t in
        let (i, start) = tasks[t]
        body(i, start..<Swift.min(start + chunk, counts[i]))
    }
}
