import BitViTQuant

/// A DeiT whose layers are quantized by a `QuantizationScheme`: Q-ViT (`QViTScheme`), the
/// plain binary baseline (`BinaryBaselineScheme`) or full precision (`FullPrecisionScheme`).
///
/// Architecture and names are timm's DeiT (`cls_token`, `dist_token`, `pos_embed`,
/// `patch_embed.proj.*`, `blocks.{i}.{norm1,attn.qkv,attn.proj,norm2,mlp.fc1,mlp.fc2}.*`,
/// `norm.*`, `head.*`, `head_dist.*`), so a full-precision DeiT checkpoint initializes it
/// with a non-strict load; quantizer state lives under `*.input_quantizer.*`,
/// `*.weight_quantizer.*`, `attn.{q,k,v,attn}_quantizer.*` and the IRM under
/// `attn.norm_q.*`, `attn.norm_k.*`. With a distillation token, training mode returns both
/// heads and evaluation mode their mean (qvit.md §2.2).
public final class QuantizedDeiT: Module, ImageClassifier, QueryKeyReporting {
    public let config: ViTConfig
    public let scheme: any QuantizationScheme
    public let patchEmbed: QuantizedPatchEmbedding
    public let clsToken: Tensor
    public let distToken: Tensor?
    public let posEmbed: Tensor
    public let blocks: ModuleList<QuantizedViTBlock>
    public let norm: LayerNorm
    public let head: QuantizedLinear
    public let headDist: QuantizedLinear?
    public let random: RandomSource

    public var classCount: Int { config.classes }

    public init(_ config: ViTConfig, scheme: any QuantizationScheme, seed: UInt64 = 0) throws {
        try config.validate()
        self.config = config
        self.scheme = scheme
        var rng = RandomGenerator(seed: seed)
        random = RandomSource(seed: seed &+ 0x5EED)
        patchEmbed = QuantizedPatchEmbedding(patchSize: config.patchSize, inChannels: config.inChannels, dim: config.dim,
                                             scheme: scheme, rng: &rng)
        clsToken = Tensor.truncatedNormal([1, 1, config.dim], std: 0.02, using: &rng)
        distToken = config.distilled ? Tensor.truncatedNormal([1, 1, config.dim], std: 0.02, using: &rng) : nil
        posEmbed = Tensor.truncatedNormal([1, config.tokenCount, config.dim], std: 0.02, using: &rng)
        var list: [QuantizedViTBlock] = []
        for i in 0..<config.depth {
            let rate = config.depth > 1 ? config.dropPathRate * Double(i) / Double(config.depth - 1) : 0
            list.append(QuantizedViTBlock(config: config, scheme: scheme, dropPath: Float(rate), random: random, rng: &rng))
        }
        blocks = ModuleList(list)
        norm = LayerNorm(config.dim, eps: Float(config.layerNormEps))
        func makeHead(_ rng: inout RandomGenerator) -> QuantizedLinear {
            QuantizedLinear(config.dim, config.classes,
                            inputQuantizer: scheme.inputQuantizer(for: .head, inChannels: config.dim),
                            weightQuantizer: scheme.weightQuantizer(for: .head, outChannels: config.classes), rng: &rng)
        }
        head = makeHead(&rng)
        headDist = config.distilled ? makeHead(&rng) : nil
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
                     "QuantizedDeiT expects [B, \(c.inChannels), \(c.imageSize), \(c.imageSize)] images, got \(images.shape)")
        let b = images.shape[0]
        var tokens = [clsToken.expanded(to: [b, 1, c.dim])]
        if let distToken { tokens.append(distToken.expanded(to: [b, 1, c.dim])) }
        var x = Tensor.concatenate(tokens + [patchEmbed(images)], axis: 1) + posEmbed
        for block in blocks { x = block(x) }
        return norm(x)
    }

    public func callAsFunction(_ images: Tensor) -> ClassifierOutput {
        classify(features(images), head: head, distillationHead: headDist, training: isTraining)
    }
}
