import BitViTNN
import BitViTQuant

/// BHViT's encoder, the official `BHViTEncoder`: the blocks of convolution stages in `layerA`,
/// those of attention stages in `layerB` (each in stage order), and the downsampling after
/// stage s in `patch_embed{s}`. Tokens `[B, R·R, C_1]` → `[B, R_last², C_last]`.
public final class BHViTEncoder: Module, Layer {
    public let config: BHViTConfig
    public let layerA: ModuleList<MSGDCBlock>
    public let layerB: ModuleList<MSMHABlock>
    /// `downsamplers[s]` follows stage s + 1 (the code's `patch_embed{s+1}`).
    public let downsamplers: [any Layer]

    init(_ config: BHViTConfig, random: RandomSource, rng: inout RandomGenerator) {
        self.config = config
        var convolutional: [MSGDCBlock] = [], attentional: [MSMHABlock] = []
        var downsamplers: [any Layer] = []
        let total = config.blockCount
        var index = 0
        for (s, stage) in config.stages.enumerated() {
            let side = config.resolution(stage: s)
            for _ in 0..<stage.depth {
                // Stochastic depth rises linearly over all blocks (timm's linspace).
                let rate = Float(total > 1 ? config.dropPathRate * Double(index) / Double(total - 1) : 0)
                switch stage.mixer {
                case .convolution:
                    convolutional.append(MSGDCBlock(stage: stage, side: side, config: config, dropPath: rate, random: random, rng: &rng))
                case .attention:
                    attentional.append(MSMHABlock(stage: stage, side: side, config: config, dropPath: rate, random: random, rng: &rng))
                }
                index += 1
            }
            if s + 1 < config.stages.count {
                let next = config.stages[s + 1].width
                switch config.downsampling {
                case .fullPrecision:
                    downsamplers.append(FullPrecisionDownsampling(inChannels: stage.width, outChannels: next, side: side, rng: &rng))
                case .binary:
                    downsamplers.append(BinaryDownsampling(inChannels: stage.width, outChannels: next, side: side, rng: &rng))
                }
            }
        }
        layerA = ModuleList(convolutional)
        layerB = ModuleList(attentional)
        self.downsamplers = downsamplers
        super.init()
        child("layerA", layerA)
        child("layerB", layerB)
        for (s, d) in downsamplers.enumerated() { child("patch_embed\(s + 1)", d) }
    }

    public func callAsFunction(_ tokens: Tensor) -> Tensor {
        var x = tokens
        var nextA = 0, nextB = 0
        for (s, stage) in config.stages.enumerated() {
            for _ in 0..<stage.depth {
                switch stage.mixer {
                case .convolution: x = layerA[nextA](x); nextA += 1
                case .attention: x = layerB[nextB](x); nextB += 1
                }
            }
            if s < downsamplers.count { x = downsamplers[s](x) }
        }
        return x
    }
}

/// The feature extractor, the official `BHViTModel` (`vit`): `embeddings` (the stem),
/// `encoder`, and `layernorm` (a BatchNorm over the last stage's token channels).
public final class BHViTBackbone: Module, Layer {
    public let embeddings: BHViTStem
    public let encoder: BHViTEncoder
    public let layernorm: BatchNorm

    init(_ config: BHViTConfig, random: RandomSource, rng: inout RandomGenerator) {
        embeddings = BHViTStem(inChannels: config.inChannels, channels: config.stages[0].width, kernel: config.stemKernel,
                               stride: config.stemStride, resolution: config.stemResolution, rng: &rng)
        encoder = BHViTEncoder(config, random: random, rng: &rng)
        layernorm = tokenBatchNorm(config.stages[config.stages.count - 1].width)
        super.init()
        child("embeddings", embeddings)
        child("encoder", encoder)
        child("layernorm", layernorm)
    }

    /// Images `[B, in, S, S]` → normalized last-stage tokens `[B, R_last², C_last]`.
    public func callAsFunction(_ images: Tensor) -> Tensor {
        layernorm(encoder(embeddings(images)))
    }
}

/// BHViT (Gao et al., "BHViT: Binarized Hybrid Vision Transformer", CVPR 2025): a four-stage
/// (configurable) pyramid of binary blocks — MSGDC convolution mixers, then MSMHA window
/// attention with pooled tokens and QD-quantized attention — each with a binary MLP and six
/// shift branches; full-precision stem, downsampling († models) and classifier
/// (docs/reference/bhvit.md §3, docs/bhvit.md).
///
/// Parameter names follow the official code (`vit.embeddings…`, `vit.encoder.layerA.{i}…`,
/// `vit.encoder.layerB.{i}.attention.attention.query.weight`, `vit.encoder.patch_embed{s}…`,
/// `vit.layernorm`, `classifier`), except that RPReLU's slope is `slope` where the code has
/// `prelu.weight`, and QD's `init_state` is rank 0 where the code's has one element.
///
/// Initialization is PyTorch's default for every convolution and linear layer (the code's
/// intended trunc-normal init is a no-op, docs/reference/bhvit.md §3.10); position embeddings trunc-normal
/// (std 0.02); BN/LN γ = 1, β = 0; RPReLU slope 0.25; LayerScale 0.1 (main) and 0 (shifts).
///
/// Images `[B, in, S, S]` → logits `[B, classes]` from the mean of the last stage's tokens.
public final class BHViT: Module, ImageClassifier {
    public let config: BHViTConfig
    public let vit: BHViTBackbone
    public let classifier: Linear
    /// The random stream of the stochastic-depth layers.
    public let random: RandomSource

    public var classCount: Int { config.classes }

    public init(_ config: BHViTConfig, seed: UInt64 = 0) throws {
        try config.validate()
        self.config = config
        var rng = RandomGenerator(seed: seed)
        random = RandomSource(seed: seed &+ 0x5EED)
        vit = BHViTBackbone(config, random: random, rng: &rng)
        classifier = Linear(config.stages[config.stages.count - 1].width, config.classes, initializer: .pytorchDefault, rng: &rng)
        super.init()
        child("vit", vit)
        child("classifier", classifier)
    }

    public func callAsFunction(_ images: Tensor) -> ClassifierOutput {
        let c = config
        precondition(images.rank == 4 && images.shape[1] == c.inChannels && images.shape[2] == c.imageSize
                     && images.shape[3] == c.imageSize,
                     "BHViT expects [B, \(c.inChannels), \(c.imageSize), \(c.imageSize)] images, got \(images.shape)")
        return ClassifierOutput(logits: classifier(vit(images).mean(axis: 1)))
    }

    /// The latent binary weights the oscillation regularizer L_re averages over (docs/reference/bhvit.md §7),
    /// by full name: the official rule, parameter names containing `cov1/2/3.weight`,
    /// `dense.weight` or `query/key/value.weight` — every MSGDC convolution, every binary
    /// linear layer (Q, K, V, attention output, MLP). Binary downsampling (`proj`), the stem and
    /// the classifier are excluded. 5 per MSGDC block plus 6 per MSMHA block.
    public var oscillationRegularizedWeights: [(name: String, tensor: Tensor)] {
        let markers = ["cov1.weight", "cov2.weight", "cov3.weight", "dense.weight",
                       "query.weight", "key.weight", "value.weight"]
        return namedParameters().filter { p in markers.contains { p.name.contains($0) } }
    }
}
