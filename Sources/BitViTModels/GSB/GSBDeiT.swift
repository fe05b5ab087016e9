import BitViTQuant

/// GSB's binary DeiT with distillation token (gsb.md §4), in either training stage.
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
public final class GSBDeiT: Module, ImageClassifier, QueryKeyReporting {
    public let config: ViTConfig
    public let options: GSBOptions
    public let patchEmbed: GSBPatchEmbedding
    public let clsToken: Tensor
    public let distToken: Tensor?
    public let posEmbed: Tensor
    public let blocks: ModuleList<GSBBlock>
    public let norm: LayerNorm
    public let head: QuantizedLinear
    public let headDist: QuantizedLinear?
    public let random: RandomSource

    public var classCount: Int { config.classes }

    /// GSB's variant of a ViT preset: with distillation token and LayerNorm eps 1e-12.
    public static func configuration(_ preset: String, classes: Int) throws -> ViTConfig {
        var c = try ViTConfig.preset(preset, classes: classes, distilled: true)
        c.layerNormEps = 1e-12
        return c
    }

    public init(_ config: ViTConfig, options: GSBOptions = GSBOptions(), seed: UInt64 = 0) throws {
        try config.validate()
        guard config.dropRate == 0 else {
            throw BitViTError.invalidArgument("GSB has no dropout (gsb.md §4); got drop rate \(config.dropRate)")
        }
        self.config = config
        self.options = options
        var rng = RandomGenerator(seed: seed)
        random = RandomSource(seed: seed &+ 0x5EED)
        patchEmbed = GSBPatchEmbedding(patchSize: config.patchSize, inChannels: config.inChannels, dim: config.dim,
                                       stage: options.stage, rng: &rng)
        clsToken = Tensor.truncatedNormal([1, 1, config.dim], std: 0.02, using: &rng)
        distToken = config.distilled ? Tensor.truncatedNormal([1, 1, config.dim], std: 0.02, using: &rng) : nil
        posEmbed = Tensor.truncatedNormal([1, config.tokenCount, config.dim], std: 0.02, using: &rng)
        var list: [GSBBlock] = []
        for i in 0..<config.depth {
            let rate = config.depth > 1 ? config.dropPathRate * Double(i) / Double(config.depth - 1) : 0
            list.append(GSBBlock(config: config, options: options, dropPath: Float(rate), random: random, rng: &rng))
        }
        blocks = ModuleList(list)
        norm = LayerNorm(config.dim, eps: Float(config.layerNormEps))
        let binary = options.stage == .fullyBinary
        // Stage 2 heads: b_in shift, 8-bit input and 8-bit weight (per tensor), FP bias.
        func makeHead(_ rng: inout RandomGenerator) -> QuantizedLinear {
            QuantizedLinear(config.dim, config.classes, inputShift: binary,
                            inputQuantizer: binary ? ElasticQuantizer(bits: 8, signed: true) : nil,
                            weightQuantizer: binary ? ElasticQuantizer(bits: 8, signed: true) : nil, rng: &rng)
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
                     "GSBDeiT expects [B, \(c.inChannels), \(c.imageSize), \(c.imageSize)] images, got \(images.shape)")
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

/// GSB's patch embedding: `proj` (p×p stride-p convolution with bias) → `[B, N, dim]`.
/// Stage 1 follows the convolution with `norm`, a BatchNorm2d over its channels; stage 2 has
/// no BatchNorm and 8-bit LSQ weights with one step per output channel (gsb.md §3.6). The
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
