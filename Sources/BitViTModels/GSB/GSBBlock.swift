import BitViTQuant

/// GSB's MLP (gsb.md §4.1–4.2): `fc2(clip(gelu(fc1(x))))`. Both layers have BWN weights and a
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

/// GSB's pre-norm block (`norm1`, `attn`, `norm2`, `mlp`; TF-style LayerNorm, gsb.md §4).
public final class GSBBlock: Module, Layer {
    public let norm1: LayerNorm
    public let attn: GSBAttention
    public let norm2: LayerNorm
    public let mlp: GSBMLP
    let dropPath: DropPath

    public init(config c: ViTConfig, options: GSBOptions, dropPath rate: Float, random: RandomSource,
                rng: inout RandomGenerator) {
        norm1 = LayerNorm(c.dim, eps: Float(c.layerNormEps))
        attn = GSBAttention(dim: c.dim, heads: c.heads, tokens: c.tokenCount, options: options, rng: &rng)
        norm2 = LayerNorm(c.dim, eps: Float(c.layerNormEps))
        mlp = GSBMLP(dim: c.dim, hidden: c.mlpHidden, options: options, rng: &rng)
        dropPath = DropPath(rate, random: random)
        super.init()
        child("norm1", norm1)
        child("attn", attn)
        child("norm2", norm2)
        child("mlp", mlp)
        child("drop_path", dropPath)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let h = x + dropPath(attn(norm1(x)))
        return h + dropPath(mlp(norm2(h)))
    }
}
