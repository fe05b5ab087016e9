import BitViTQuant

/// GSB's MLP (docs/reference/gsb.md §5.2–5.3): `fc2(clip(gelu(fc1(x))))`. Both layers have BWN weights and a
/// per-input-channel `input_shift`; in stage 2 fc1's input is SB-binarized, the hidden
/// activation is clipped to ±`mlpClip` and fc2's input is UB-binarized ({0, α}).
public final class GSBMLP: Module, Layer {
    public let fc1: QuantizedLinear
    public let fc2: QuantizedLinear
    public let clip: Float?

    public init(dim: Int, hidden: Int, options: GSBOptions, rng: inout RandomGenerator) {
        let binary = options.stage == .fullyBinary
        fc1 = QuantizedLinear(dim, hidden, inputShift: true,
                              inputQuantizer: binary ? ElasticQuantizer.signedBinary() : nil,
                              weightQuantizer: BinaryWeightQuantizer(scaling: .perTensor), rng: &rng)
        fc2 = QuantizedLinear(hidden, dim, inputShift: true,
                              inputQuantizer: binary ? ElasticQuantizer.unsignedBinary() : nil,
                              weightQuantizer: BinaryWeightQuantizer(scaling: .perTensor), rng: &rng)
        clip = binary ? options.mlpClip : nil
        super.init()
        child("fc1", fc1)
        child("fc2", fc2)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = fc1(x).gelu()
        if let clip { h = h.clamped(min: -clip, max: clip) }
        return fc2(h)
    }
}

/// GSB's pre-norm block (`norm1`, `attn`, `norm2`, `mlp`; TF-style LayerNorm, docs/reference/gsb.md §5.1).
public typealias GSBBlock = PreNormBlock<GSBAttention, GSBMLP>

extension PreNormBlock where Attention == GSBAttention, Feedforward == GSBMLP {
    public convenience init(config c: ViTConfig, options: GSBOptions, dropPath rate: Float, random: RandomSource,
                            rng: inout RandomGenerator) {
        let attn = GSBAttention(dim: c.dim, heads: c.heads, tokens: c.tokenCount, options: options, rng: &rng)
        let mlp = GSBMLP(dim: c.dim, hidden: c.mlpHidden, options: options, rng: &rng)
        self.init(dim: c.dim, layerNormEps: Float(c.layerNormEps), attn: attn, mlp: mlp, dropPath: DropPath(rate, random: random))
    }
}
