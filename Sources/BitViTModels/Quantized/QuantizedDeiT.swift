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
    let tokens: ViTTokens
    /// `cls_token` `[1, 1, dim]`.
    public var clsToken: Tensor { tokens.cls }
    /// `dist_token` `[1, 1, dim]` (distilled models only).
    public var distToken: Tensor? { tokens.dist }
    /// `pos_embed` `[1, N, dim]`.
    public var posEmbed: Tensor { tokens.pos }
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
        let random = RandomSource(seed: seed &+ 0x5EED)
        self.random = random
        patchEmbed = QuantizedPatchEmbedding(patchSize: config.patchSize, inChannels: config.inChannels, dim: config.dim,
                                             scheme: scheme, rng: &rng)
        tokens = ViTTokens(config, rng: &rng)
        blocks = ModuleList(config.blockDropPathRates.map { rate in
            QuantizedViTBlock(config: config, scheme: scheme, dropPath: rate, random: random, rng: &rng)
        })
        norm = LayerNorm(config.dim, eps: Float(config.layerNormEps))
        func makeHead(_ rng: inout RandomGenerator) -> QuantizedLinear {
            QuantizedLinear(config.dim, config.classes,
                            inputQuantizer: scheme.inputQuantizer(for: .head, inChannels: config.dim),
                            weightQuantizer: scheme.weightQuantizer(for: .head, outChannels: config.classes), rng: &rng)
        }
        head = makeHead(&rng)
        headDist = config.distilled ? makeHead(&rng) : nil
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
        config.checkImages(images, model: "QuantizedDeiT")
        var x = tokens.sequence(patches: patchEmbed(images))
        for block in blocks { x = block(x) }
        return norm(x)
    }

    public func callAsFunction(_ images: Tensor) -> ClassifierOutput {
        classify(features(images), head: head, distillationHead: headDist, training: isTraining)
    }
}
