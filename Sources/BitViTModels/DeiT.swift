import BitViTNN

/// Conv patch embedding: `[B, C, H, W]` → `[B, (H/p)·(W/p), dim]` (timm `PatchEmbed`,
/// child `proj`: a p×p stride-p convolution).
public final class PatchEmbedding: Module, Layer {
    public let proj: Conv2d

    public init(patchSize: Int, inChannels: Int, dim: Int, rng: inout RandomGenerator) {
        proj = Conv2d(inChannels, dim, kernel: (patchSize, patchSize),
                      options: Conv2DOptions(stride: patchSize), rng: &rng)
        super.init()
        child("proj", proj)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let y = proj(x)                                     // [B, D, h, w]
        return y.reshaped([y.shape[0], y.shape[1], -1]).transposed(1, 2)   // [B, h·w, D]
    }
}

/// DeiT's block: `PreNormBlock` with full-precision attention and MLP.
public typealias TransformerBlock = PreNormBlock<MultiHeadSelfAttention, MLP>

extension PreNormBlock where Attention == MultiHeadSelfAttention, Feedforward == MLP {
    public convenience init(config c: ViTConfig, dropPath rate: Float, random: RandomSource, rng: inout RandomGenerator) {
        let attn = MultiHeadSelfAttention(dim: c.dim, heads: c.heads, projDrop: Float(c.dropRate), random: random, rng: &rng)
        let mlp = MLP(dim: c.dim, hidden: c.mlpHidden, drop: Float(c.dropRate), random: random, rng: &rng)
        self.init(dim: c.dim, layerNormEps: Float(c.layerNormEps), attn: attn, mlp: mlp, dropPath: DropPath(rate, random: random))
    }
}

/// DeiT / ViT image classifier with timm's parameter names, so timm checkpoints saved as
/// safetensors load directly (`cls_token`, `dist_token`, `pos_embed`, `patch_embed.proj.*`,
/// `blocks.{i}.{norm1,attn.qkv,attn.proj,norm2,mlp.fc1,mlp.fc2}.*`, `norm.*`, `head.*`,
/// `head_dist.*`).
///
/// Tokens are `[cls, (dist), patches] + pos_embed`; the classifier reads token 0 (and
/// `head_dist` token 1) after the final LayerNorm. Initialization follows timm: truncated
/// normal (std 0.02) for tokens, position embedding and linear weights; PyTorch's default for
/// the patch convolution.
public final class DeiT: DeiTBackbone<PatchEmbedding, TransformerBlock, Linear> {
    public init(_ config: ViTConfig, seed: UInt64 = 0) throws {
        try config.validate()
        var rng = RandomGenerator(seed: seed)
        let random = RandomSource(seed: seed &+ 0x5EED)
        let patchEmbed = PatchEmbedding(patchSize: config.patchSize, inChannels: config.inChannels, dim: config.dim, rng: &rng)
        let tokens = ViTTokens(config, rng: &rng)
        let blocks = config.blockDropPathRates.map { rate in
            TransformerBlock(config: config, dropPath: rate, random: random, rng: &rng)
        }
        let head = Linear(config.dim, config.classes, rng: &rng)
        let headDist = config.distilled ? Linear(config.dim, config.classes, rng: &rng) : nil
        super.init(config: config, random: random, patchEmbed: patchEmbed, tokens: tokens, blocks: blocks, head: head,
                   headDist: headDist)
    }
}
