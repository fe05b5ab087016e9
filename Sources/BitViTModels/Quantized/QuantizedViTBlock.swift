import BitViTQuant

/// Pre-norm transformer block with quantizable attention and MLP (timm `Block` names).
public typealias QuantizedViTBlock = PreNormBlock<QuantizableAttention, QuantizableMLP>

extension PreNormBlock where Attention == QuantizableAttention, Feedforward == QuantizableMLP {
    public convenience init(config c: ViTConfig, scheme: any QuantizationScheme, dropPath rate: Float, random: RandomSource,
                            rng: inout RandomGenerator) {
        let attn = QuantizableAttention(dim: c.dim, heads: c.heads, scheme: scheme, projDrop: Float(c.dropRate),
                                        random: random, rng: &rng)
        let mlp = QuantizableMLP(dim: c.dim, hidden: c.mlpHidden, scheme: scheme, drop: Float(c.dropRate), random: random,
                                 rng: &rng)
        self.init(dim: c.dim, layerNormEps: Float(c.layerNormEps), attn: attn, mlp: mlp, dropPath: DropPath(rate, random: random))
    }
}
