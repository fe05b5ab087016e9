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
/// heads and evaluation mode their mean (docs/reference/qvit.md §5.2).
public final class QuantizedDeiT: DeiTBackbone<QuantizedPatchEmbedding, QuantizedViTBlock, QuantizedLinear>, QueryKeyReporting {
    public let scheme: any QuantizationScheme

    public init(_ config: ViTConfig, scheme: any QuantizationScheme, seed: UInt64 = 0) throws {
        try config.validate()
        self.scheme = scheme
        var rng = RandomGenerator(seed: seed)
        let random = RandomSource(seed: seed &+ 0x5EED)
        let patchEmbed = QuantizedPatchEmbedding(patchSize: config.patchSize, inChannels: config.inChannels, dim: config.dim,
                                                 scheme: scheme, rng: &rng)
        let tokens = ViTTokens(config, rng: &rng)
        let blocks = config.blockDropPathRates.map { rate in
            QuantizedViTBlock(config: config, scheme: scheme, dropPath: rate, random: random, rng: &rng)
        }
        func makeHead(_ rng: inout RandomGenerator) -> QuantizedLinear {
            QuantizedLinear(config.dim, config.classes,
                            inputQuantizer: scheme.inputQuantizer(for: .head, inChannels: config.dim),
                            weightQuantizer: scheme.weightQuantizer(for: .head, outChannels: config.classes), rng: &rng)
        }
        let head = makeHead(&rng)
        let headDist = config.distilled ? makeHead(&rng) : nil
        super.init(config: config, random: random, patchEmbed: patchEmbed, tokens: tokens, blocks: blocks, head: head,
                   headDist: headDist)
    }
}
