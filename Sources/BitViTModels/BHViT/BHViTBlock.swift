import BitViTNN
import BitViTQuant

/// What every BHViT block shares around its token mixer (docs/reference/bhvit.md §3.5–3.7, §4):
///
///     U  = BN_before(X);   X1 = X + mixer(U)
///     U2 = BN_after(X1);   Y  = X1 + MLP(U2) + Σ_k LS_k(S_k(U2))
///
/// Subclasses supply the mixer (`MSGDCBlock`, `MSMHABlock`). State: `layernorm_before`,
/// `layernorm_after` (BatchNorms over token channels despite the code's names),
/// `intermediate`, `output` (the binary MLP) and, with shift branches, `layerscale_*`.
/// Tokens `[B, side·side, C]` in and out.
public class BHViTBlock: Module, Layer {
    public let channels: Int
    /// Side of the block's square token grid.
    public let side: Int
    public let layernormBefore: BatchNorm
    public let layernormAfter: BatchNorm
    public let intermediate: BinaryMLPExpansion
    public let output: BinaryMLPContraction
    let shifts: ShiftResidual?

    init(stage: BHViTStage, side: Int, config: BHViTConfig, dropPath: Float, random: RandomSource,
         rng: inout RandomGenerator) {
        channels = stage.width
        self.side = side
        layernormBefore = tokenBatchNorm(stage.width)
        layernormAfter = tokenBatchNorm(stage.width)
        intermediate = BinaryMLPExpansion(channels: stage.width, ratio: stage.mlpRatio, recu: config.recu, rng: &rng)
        output = BinaryMLPContraction(channels: stage.width, ratio: stage.mlpRatio, recu: config.recu,
                                      dropPath: dropPath, random: random, rng: &rng)
        shifts = config.shiftBranches ? ShiftResidual(channels: stage.width) : nil
        super.init()
        child("intermediate", intermediate)
        child("output", output)
        child("layernorm_before", layernormBefore)
        child("layernorm_after", layernormAfter)
        shifts?.register(on: self)
    }

    /// The token mixer's residual branch for normalized tokens `u` `[B, side·side, C]`.
    public func mix(_ u: Tensor) -> Tensor {
        preconditionFailure("\(type(of: self)) must override mix(_:)")
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.rank == 3 && x.shape[1] == side * side && x.shape[2] == channels,
                     "\(type(of: self)) expects [B, \(side * side), \(channels)] tokens, got \(x.shape)")
        let x1 = x + mix(layernormBefore(x))
        let u2 = layernormAfter(x1)
        let y = x1 + output(intermediate(u2))
        guard let shifts else { return y }
        return y + shifts(u2, side: side)
    }
}

/// A block of the convolutional stages, the official `GCLayer` (docs/reference/bhvit.md §3.5): the MSGDC token
/// mixer `G` is added without LayerScale. State: the mixer under `GC`, plus `BHViTBlock`'s.
public final class MSGDCBlock: BHViTBlock {
    public let mixer: MSGDCMixer

    override init(stage: BHViTStage, side: Int, config: BHViTConfig, dropPath: Float, random: RandomSource,
         rng: inout RandomGenerator) {
        mixer = MSGDCMixer(channels: stage.width, side: side, rng: &rng)
        super.init(stage: stage, side: side, config: config, dropPath: dropPath, random: random, rng: &rng)
        child("GC", mixer)
    }

    public override func mix(_ u: Tensor) -> Tensor { mixer(u) }
}

/// The multi-scale grouped dilated convolution mixer, the official `token_mixer`
/// (docs/reference/bhvit.md §3.5):
///
///     Z  = U + b                                       (b: `move.bias`, [1, C, 1, 1], init 0)
///     Gk = RPReLU_k(BinConv_{3×3, groups 4, dilation dk, padding dk, bias}(Z)),  dk = 1, 3, 5
///     G  = BN(G1 + G2 + G3)
///
/// There is no per-branch residual: the paper's equation has one, the code does not
/// (docs/reference/bhvit.md §9 item 1). State: `move.bias`, `cov1`, `cov2`, `cov3` (weight
/// `[C, C/4, 3, 3]`, bias `[C]`), `act1…3` (RPReLU), `norm`. Tokens `[B, side·side, C]` in and out.
public final class MSGDCMixer: Module, Layer {
    /// A learnable per-channel shift of a `[B, C, H, W]` map (the code's `LearnableBiasnn`).
    public final class LearnableBias: Module {
        public let bias: Tensor

        init(channels: Int) {
            bias = Tensor.zeros([1, channels, 1, 1])
            super.init()
            parameter("bias", bias)
        }
    }

    public static let dilations = BHViTConfig.convolutionDilations
    public let side: Int
    public let move: LearnableBias
    public let convolutions: [QuantizedConv2d]
    public let activations: [RPReLU]
    public let norm: BatchNorm

    init(channels: Int, side: Int, rng: inout RandomGenerator) {
        self.side = side
        move = LearnableBias(channels: channels)
        var convolutions: [QuantizedConv2d] = []
        for d in Self.dilations {
            convolutions.append(BHViTBinary.convolution(channels, channels, kernel: 3,
                                                        options: Conv2DOptions(stride: 1, padding: d, dilation: d, groups: 4),
                                                        bias: true, rng: &rng))
        }
        self.convolutions = convolutions
        activations = Self.dilations.map { _ in RPReLU(channels: channels) }
        norm = tokenBatchNorm(channels)
        super.init()
        child("move", move)
        for (i, conv) in convolutions.enumerated() { child("cov\(i + 1)", conv) }
        child("norm", norm)
        for (i, act) in activations.enumerated() { child("act\(i + 1)", act) }
    }

    public func callAsFunction(_ u: Tensor) -> Tensor {
        let c = u.shape[2]
        let z = u.addingChannelBias(move.bias.reshaped([c])).tokensToMap(side: side)
        var sum: Tensor?
        for (conv, act) in zip(convolutions, activations) {
            let branch = act(conv(z).mapToTokens())
            sum = sum.map { $0 + branch } ?? branch
        }
        return norm(sum!)
    }
}
