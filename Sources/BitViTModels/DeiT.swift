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

/// Pre-norm transformer block: `x + attn(norm1(x))`, then `x + mlp(norm2(x))`, each branch
/// behind stochastic depth.
public final class TransformerBlock: Module, Layer {
    public let norm1: LayerNorm
    public let attn: MultiHeadSelfAttention
    public let norm2: LayerNorm
    public let mlp: MLP
    let dropPath: DropPath

    public init(config c: ViTConfig, dropPath rate: Float, random: RandomSource, rng: inout RandomGenerator) {
        norm1 = LayerNorm(c.dim, eps: Float(c.layerNormEps))
        attn = MultiHeadSelfAttention(dim: c.dim, heads: c.heads, projDrop: Float(c.dropRate), random: random, rng: &rng)
        norm2 = LayerNorm(c.dim, eps: Float(c.layerNormEps))
        mlp = MLP(dim: c.dim, hidden: c.mlpHidden, drop: Float(c.dropRate), random: random, rng: &rng)
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
    public let clsToken: Tensor
    public let distToken: Tensor?
    public let posEmbed: Tensor
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
        random = RandomSource(seed: seed &+ 0x5EED)
        patchEmbed = PatchEmbedding(patchSize: config.patchSize, inChannels: config.inChannels, dim: config.dim, rng: &rng)
        clsToken = Tensor.truncatedNormal([1, 1, config.dim], std: 0.02, using: &rng)
        distToken = config.distilled ? Tensor.truncatedNormal([1, 1, config.dim], std: 0.02, using: &rng) : nil
        posEmbed = Tensor.truncatedNormal([1, config.tokenCount, config.dim], std: 0.02, using: &rng)
        var list: [TransformerBlock] = []
        for i in 0..<config.depth {
            let rate = config.depth > 1 ? config.dropPathRate * Double(i) / Double(config.depth - 1) : 0
            list.append(TransformerBlock(config: config, dropPath: Float(rate), random: random, rng: &rng))
        }
        blocks = ModuleList(list)
        norm = LayerNorm(config.dim, eps: Float(config.layerNormEps))
        head = Linear(config.dim, config.classes, rng: &rng)
        headDist = config.distilled ? Linear(config.dim, config.classes, rng: &rng) : nil
        super.init()
        parameter("cls_token", clsToken)
        if let distToken { parameter("dist_token", distToken) }
        parameter("pos_embed", posEmbed)
        child("patch_embed", patchEmbed)
        child("blocks", blocks)
        child("norm", norm)
        child("head", head)
        if let headDist { child("head_dist", headDist) }
    }

    /// The normalized token sequence `[B, N, dim]` after the last block.
    public func features(_ images: Tensor) -> Tensor {
        let c = config
        precondition(images.rank == 4 && images.shape[1] == c.inChannels
                     && images.shape[2] == c.imageSize && images.shape[3] == c.imageSize,
                     "DeiT expects [B, \(c.inChannels), \(c.imageSize), \(c.imageSize)] images, got \(images.shape)")
        let b = images.shape[0]
        let patches = patchEmbed(images)
        var tokens = [clsToken.expanded(to: [b, 1, c.dim])]
        if let distToken { tokens.append(distToken.expanded(to: [b, 1, c.dim])) }
        var x = Tensor.concatenate(tokens + [patches], axis: 1) + posEmbed
        for block in blocks { x = block(x) }
        return norm(x)
    }

    public func callAsFunction(_ images: Tensor) -> ClassifierOutput {
        let x = features(images)
        let b = x.shape[0]
        let cls = head(x.slice(axis: 1, 0..<1).reshaped([b, config.dim]))
        guard let headDist else { return ClassifierOutput(logits: cls) }
        let dist = headDist(x.slice(axis: 1, 1..<2).reshaped([b, config.dim]))
        if isTraining { return ClassifierOutput(logits: cls, distillationLogits: dist) }
        return ClassifierOutput(logits: (cls + dist) * 0.5)
    }
}
