import BitViTQuant

/// Pre-norm transformer block with quantizable attention and MLP:
/// `x + attn(norm1(x))`, then `x + mlp(norm2(x))`, each branch behind stochastic depth.
/// Names as timm's `Block` (`norm1`, `attn`, `norm2`, `mlp`).
public final class QuantizedViTBlock: Module, Layer {
    public let norm1: LayerNorm
    public let attn: QuantizableAttention
    public let norm2: LayerNorm
    public let mlp: QuantizableMLP
    let dropPath: DropPath

    public init(config c: ViTConfig, scheme: any QuantizationScheme, dropPath rate: Float, random: RandomSource,
                rng: inout RandomGenerator) {
        norm1 = LayerNorm(c.dim, eps: Float(c.layerNormEps))
        attn = QuantizableAttention(dim: c.dim, heads: c.heads, scheme: scheme, projDrop: Float(c.dropRate),
                                    random: random, rng: &rng)
        norm2 = LayerNorm(c.dim, eps: Float(c.layerNormEps))
        mlp = QuantizableMLP(dim: c.dim, hidden: c.mlpHidden, scheme: scheme, drop: Float(c.dropRate), random: random,
                             rng: &rng)
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
