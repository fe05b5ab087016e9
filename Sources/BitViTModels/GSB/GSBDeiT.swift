import BitViTQuant

/// GSB's binary DeiT with distillation token (docs/reference/gsb.md §5), in either training stage.
///
/// Names follow timm for the full-precision parts (`cls_token`, `dist_token`, `pos_embed`,
/// `patch_embed.proj.*`, `blocks.{i}.{norm1,attn.qkv,attn.proj,norm2,mlp.fc1,mlp.fc2}.*`,
/// `norm.*`, `head.*`, `head_dist.*`), so a full-precision DeiT checkpoint initializes either
/// stage, and a stage-1 checkpoint initializes stage 2, by a non-strict load (stage 1's
/// `patch_embed.norm.*` BatchNorm is then reported unexpected and dropped). GSB's additions:
/// `*.input_shift` (b_in), `attn.{q,k,v}_shift`, `attn.attention_bias` (B_att) and quantizer
/// scales under `*_quantizer.*`.
///
/// Use `GSBDeiT.configuration(_:classes:)` for GSB's geometry: distilled, TF-style LayerNorm
/// with eps 1e-12.
public final class GSBDeiT: DeiTBackbone<GSBPatchEmbedding, GSBBlock, QuantizedLinear>, QueryKeyReporting {
    public let options: GSBOptions

    /// GSB's variant of a ViT preset: with distillation token and LayerNorm eps 1e-12.
    public static func configuration(_ preset: String, classes: Int) throws -> ViTConfig {
        var c = try ViTConfig.preset(preset, classes: classes, distilled: true)
        c.layerNormEps = 1e-12
        return c
    }

    static func requireNoDropout(_ config: ViTConfig) throws {
        guard config.dropRate == 0 else {
            throw BitViTError.invalidArgument("GSB has no dropout (docs/reference/gsb.md §5.1); got drop rate \(config.dropRate)")
        }
    }

    public init(_ config: ViTConfig, options: GSBOptions = GSBOptions(), seed: UInt64 = 0) throws {
        try config.validate(attentionBias: options.stage != .binaryMLPWeights)
        try Self.requireNoDropout(config)
        self.options = options
        var rng = RandomGenerator(seed: seed)
        let random = RandomSource(seed: seed &+ 0x5EED)
        let patchEmbed = GSBPatchEmbedding(patchSize: config.patchSize, inChannels: config.inChannels, dim: config.dim,
                                           stage: options.stage, rng: &rng)
        let tokens = ViTTokens(config, rng: &rng)
        let blocks = config.blockDropPathRates.map { rate in
            GSBBlock(config: config, options: options, dropPath: rate, random: random, rng: &rng)
        }
        let binary = options.stage == .fullyBinary
        // Stage 2 heads: b_in shift, 8-bit input and 8-bit weight (per tensor), FP bias.
        func makeHead(_ rng: inout RandomGenerator) -> QuantizedLinear {
            QuantizedLinear(config.dim, config.classes, inputShift: binary,
                            inputQuantizer: binary ? ElasticQuantizer(bits: 8, signed: true) : nil,
                            weightQuantizer: binary ? ElasticQuantizer(bits: 8, signed: true) : nil, rng: &rng)
        }
        let head = makeHead(&rng)
        let headDist = config.distilled ? makeHead(&rng) : nil
        super.init(config: config, random: random, patchEmbed: patchEmbed, tokens: tokens, blocks: blocks, head: head,
                   headDist: headDist)
    }
}

/// GSB's patch embedding: `proj` (p×p stride-p convolution with bias) → `[B, N, dim]`.
/// Stage 1 follows the convolution with `norm`, a BatchNorm2d over its channels; stage 2 has
/// no BatchNorm and 8-bit LSQ weights with one step per output channel (docs/reference/gsb.md §4.6). The
/// image is never quantized.
public final class GSBPatchEmbedding: Module, Layer {
    public let proj: QuantizedConv2d
    public let norm: BatchNorm?

    public init(patchSize: Int, inChannels: Int, dim: Int, stage: GSBStage, rng: inout RandomGenerator) {
        proj = QuantizedConv2d(inChannels, dim, kernel: (patchSize, patchSize), options: Conv2DOptions(stride: patchSize),
                               inputQuantizer: nil,
                               weightQuantizer: stage == .fullyBinary ? LSQWeightQuantizer(bits: 8, outChannels: dim) : nil,
                               rng: &rng)
        norm = stage == .binaryMLPWeights ? BatchNorm(dim, channelAxis: 1) : nil
        super.init()
        child("proj", proj)
        if let norm { child("norm", norm) }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var y = proj(x)                                                        // [B, D, h, w]
        if let norm { y = norm(y) }
        return y.reshaped([y.shape[0], y.shape[1], -1]).transposed(1, 2)
    }
}

extension GSBDeiT: OfficialBiasParameters {
    /// The per-head shifts and B_att, which GSB's code names `attn.move_{q,k,v}.bias` and
    /// `attn.move_att.bias`, so its timm weight-decay rule exempts them.
    public var officialBiasParameterNames: Set<String> {
        let leaves: Set<String> = ["q_shift", "k_shift", "v_shift", "attention_bias"]
        return Set(namedParameters().map(\.name).filter { name in
            name.split(separator: ".").last.map { leaves.contains(String($0)) } ?? false
        })
    }
}
