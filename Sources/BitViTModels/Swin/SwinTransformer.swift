import BitViTQuant

/// One Swin stage: its blocks (`blocks.{j}`) and the patch merging that follows it
/// (`downsample`, all stages but the last).
public final class SwinStage: Module, Layer {
    public let blocks: ModuleList<SwinBlock>
    public let downsample: SwinPatchMerging?

    init(blocks list: [SwinBlock], downsample: SwinPatchMerging?) {
        blocks = ModuleList(list)
        self.downsample = downsample
        super.init()
        child("blocks", blocks)
        if let downsample { child("downsample", downsample) }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let y = blocks.reduce(x) { $1($0) }
        return downsample?(y) ?? y
    }
}

/// Swin Transformer image classifier (Liu et al. 2021), full precision or quantized by a
/// `QuantizationScheme` on every linear layer, per-head q, k, v and softmax output, with IRM on
/// q and k under Q-ViT (docs/reference/qvit.md §5.4).
///
/// Names follow the reference implementation and timm ≤ 0.6: `patch_embed.{proj,norm}`,
/// `layers.{i}.blocks.{j}.{norm1,attn.{qkv,proj,relative_position_bias_table},norm2,mlp.fc1,mlp.fc2}`,
/// `layers.{i}.downsample.{norm,reduction}`, `norm`, `head`. Relative position indices and
/// shift masks are derived, not stored. Classification averages the final tokens.
public final class SwinTransformer: Module, ImageClassifier, QueryKeyReporting {
    public let config: SwinConfig
    public let scheme: any QuantizationScheme
    public let patchEmbed: QuantizedPatchEmbedding
    public let layers: ModuleList<SwinStage>
    public let norm: LayerNorm
    public let head: QuantizedLinear
    public let random: RandomSource

    public var classCount: Int { config.classes }

    public init(_ config: SwinConfig, scheme: any QuantizationScheme = FullPrecisionScheme(), seed: UInt64 = 0) throws {
        try config.validate()
        self.config = config
        self.scheme = scheme
        var rng = RandomGenerator(seed: seed)
        random = RandomSource(seed: seed &+ 0x5EED)
        let eps = Float(config.layerNormEps)
        patchEmbed = QuantizedPatchEmbedding(patchSize: config.patchSize, inChannels: config.inChannels, dim: config.dim,
                                             scheme: scheme, normEps: eps, rng: &rng)
        let totalBlocks = config.depths.reduce(0, +)
        var blockIndex = 0
        var stages: [SwinStage] = []
        for i in 0..<config.stageCount {
            let (window, shift) = config.window(stage: i)
            let width = config.width(stage: i), resolution = config.resolution(stage: i)
            var blocks: [SwinBlock] = []
            for j in 0..<config.depths[i] {
                let rate = totalBlocks > 1 ? config.dropPathRate * Double(blockIndex) / Double(totalBlocks - 1) : 0
                blocks.append(SwinBlock(dim: width, heads: config.heads[i], resolution: resolution, window: window,
                                        shift: j % 2 == 1 ? shift : 0, mlpRatio: config.mlpRatio, layerNormEps: eps,
                                        scheme: scheme, dropPath: Float(rate), random: random, rng: &rng))
                blockIndex += 1
            }
            let merge = i + 1 < config.stageCount
                ? SwinPatchMerging(dim: width, resolution: resolution, layerNormEps: eps, scheme: scheme, rng: &rng) : nil
            stages.append(SwinStage(blocks: blocks, downsample: merge))
        }
        layers = ModuleList(stages)
        norm = LayerNorm(config.featureWidth, eps: eps)
        head = QuantizedLinear(config.featureWidth, config.classes,
                               inputQuantizer: scheme.inputQuantizer(for: .head, inChannels: config.featureWidth),
                               weightQuantizer: scheme.weightQuantizer(for: .head, outChannels: config.classes), rng: &rng)
        super.init()
        child("patch_embed", patchEmbed)
        child("layers", layers)
        child("norm", norm)
        child("head", head)
    }

    /// Mean of the normalized final tokens, `[B, featureWidth]`.
    public func features(_ images: Tensor) -> Tensor {
        let c = config
        precondition(images.rank == 4 && images.shape[1] == c.inChannels
                     && images.shape[2] == c.imageSize && images.shape[3] == c.imageSize,
                     "Swin expects [B, \(c.inChannels), \(c.imageSize), \(c.imageSize)] images, got \(images.shape)")
        var x = patchEmbed(images)
        for stage in layers { x = stage(x) }
        return norm(x).mean(axis: 1)
    }

    public func callAsFunction(_ images: Tensor) -> ClassifierOutput {
        ClassifierOutput(logits: head(features(images)))
    }
}
