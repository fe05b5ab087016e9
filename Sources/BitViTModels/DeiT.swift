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
public final class DeiT: Module, ImageClassifier {
    public let config: ViTConfig
    public let patchEmbed: PatchEmbedding
    let tokens: ViTTokens
    /// `cls_token` `[1, 1, dim]`.
    public var clsToken: Tensor { tokens.cls }
    /// `dist_token` `[1, 1, dim]` (distilled models only).
    public var distToken: Tensor? { tokens.dist }
    /// `pos_embed` `[1, N, dim]`.
    public var posEmbed: Tensor { tokens.pos }
    public let blocks: ModuleList<TransformerBlock>
    public let norm: LayerNorm
    public let head: Linear
    public let headDist: Linear?
    public let random: RandomSource

    public var classCount: Int { config.classes }

    public init(_ config: ViTConfig, seed: UInt64 = 0) throws {
        try config.validate()
        self.config = config
        var rng = RandomGenerator(seed: seed)
        let random = RandomSource(seed: seed &+ 0x5EED)
        self.random = random
        patchEmbed = PatchEmbedding(patchSize: config.patchSize, inChannels: config.inChannels, dim: config.dim, rng: &rng)
        tokens = ViTTokens(config, rng: &rng)
        blocks = ModuleList(config.blockDropPathRates.map { rate in
            TransformerBlock(config: config, dropPath: rate, random: random, rng: &rng)
        })
        norm = LayerNorm(config.dim, eps: Float(config.layerNormEps))
        head = Linear(config.dim, config.classes, rng: &rng)
        headDist = config.distilled ? Linear(config.dim, config.classes, rng: &rng) : nil
        super.init()
        tokens.register(in: self)
        child("patch_embed", patchEmbed)
        child("blocks", blocks)
        child("norm", norm)
        child("head", head)
        if let headDist { child("head_dist", headDist) }
    }

    /// The normalized token sequence `[B, N, dim]` after the last block.
    public func features(_ images: Tensor) -> Tensor {
        config.checkImages(images, model: "DeiT")
        var x = tokens.sequence(patches: patchEmbed(images))
        for block in blocks { x = block(x) }
        return norm(x)
    }

    public func callAsFunction(_ images: Tensor) -> ClassifierOutput {
        classify(features(images), head: head, distillationHead: headDist, training: isTraining)
    }
}
