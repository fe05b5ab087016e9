import BitViTModels

/// Updates parameters from their accumulated gradients.
///
/// Optimizers hold named parameter groups so that their per-parameter state (moments, momentum
/// buffers) can be saved by name and restored exactly (`state()` / `loadState(_:)`).
public protocol Optimizer: AnyObject {
    /// Base learning rate; schedules set it before every step.
    var learningRate: Float { get set }
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

    /// timm's rule: no weight decay for 1-D tensors (norms, biases, per-channel scales), names
    /// ending in `.bias`, and the token/position embeddings; everything else decays. With
    /// `decayScalars` 0-d tensors (learnable quantizer scales) decay too, as in timm 0.4.x that
    /// GSB's code used.
    public static func timmGroups(_ named: [(name: String, tensor: Tensor)], weightDecay: Float,
                                  decayScalars: Bool = false,
                                  skip: Set<String> = ["cls_token", "dist_token", "pos_embed"]) -> [ParameterGroup] {
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
}
