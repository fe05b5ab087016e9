import BitViTNN

/// The DeiT skeleton that the full-precision, GSB and quantized (Q-ViT, W1A1) models share:
/// patch embedding, `[cls, (dist), patches] + pos_embed`, the blocks, the final LayerNorm, and
/// the class head (plus the distillation head reading token 1: training mode returns both
/// heads, evaluation mode their mean). Children and parameters carry timm's names
/// (`patch_embed`, `cls_token`, `dist_token`, `pos_embed`, `blocks.{i}`, `norm`, `head`,
/// `head_dist`). A variant builds its parts (drawing from the generator in timm's order: patch
/// embedding, tokens, blocks, heads) and passes them to `init`.
public class DeiTBackbone<Embedding: Module & Layer, Block: Module & Layer, Head: Module & Layer>: Module, ImageClassifier {
    public let config: ViTConfig
    /// Images `[B, C, H, W]` → patch tokens `[B, P, dim]`.
    public let patchEmbed: Embedding
    let tokens: ViTTokens
    /// `cls_token` `[1, 1, dim]`.
    public var clsToken: Tensor { tokens.cls }
    /// `dist_token` `[1, 1, dim]` (distilled models only).
    public var distToken: Tensor? { tokens.dist }
    /// `pos_embed` `[1, N, dim]`.
    public var posEmbed: Tensor { tokens.pos }
    public let blocks: ModuleList<Block>
    public let norm: LayerNorm
    public let head: Head
    public let headDist: Head?
    /// The stream behind dropout and drop path.
    public let random: RandomSource

    public var classCount: Int { config.classes }

    init(config: ViTConfig, random: RandomSource, patchEmbed: Embedding, tokens: ViTTokens, blocks: [Block],
         head: Head, headDist: Head?) {
        self.config = config
        self.random = random
        self.patchEmbed = patchEmbed
        self.tokens = tokens
        self.blocks = ModuleList(blocks)
        norm = LayerNorm(config.dim, eps: Float(config.layerNormEps))
        self.head = head
        self.headDist = headDist
        super.init()
        tokens.register(in: self)
        child("patch_embed", patchEmbed)
        child("blocks", self.blocks)
        child("norm", norm)
        child("head", head)
        if let headDist { child("head_dist", headDist) }
    }

    /// The normalized token sequence `[B, N, dim]` after the last block.
    public func features(_ images: Tensor) -> Tensor {
        config.checkImages(images, model: "\(type(of: self))")
        var x = tokens.sequence(patches: patchEmbed(images))
        for block in blocks { x = block(x) }
        return norm(x)
    }

    public func callAsFunction(_ images: Tensor) -> ClassifierOutput {
        classify(features(images), head: head, distillationHead: headDist, training: isTraining)
    }
}
