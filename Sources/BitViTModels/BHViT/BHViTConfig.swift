import BitViTCore

/// The token mixer of a BHViT stage.
public enum BHViTMixer: String, Codable, Sendable {
    /// MSGDC: binary grouped dilated 3×3 convolutions (docs/reference/bhvit.md §3.5).
    case convolution
    /// MSMHA: binary window attention with pooled tokens (docs/reference/bhvit.md §3.6).
    case attention
}

/// How BHViT halves the resolution between stages (docs/reference/bhvit.md §3.8).
public enum BHViTDownsampling: String, Codable, Sendable {
    /// Full-precision 2×2 stride-2 convolution: the "†" models (the released script's default).
    case fullPrecision = "fp"
    /// Binary 2×2 stride-2 convolution with an average-pooled, tiled residual.
    case binary
}

/// What the attention context multiplies the binary values with (docs/reference/bhvit.md §3.6 step 3).
public enum BHViTAttentionProbabilities: String, Codable, Sendable {
    /// `QD(3·softmax)`: per-head levels `α_h·{0,1,2,3}` (docs/reference/bhvit.md §5.2), the released models.
    case quantizationDecomposition = "qd"
    /// The full-precision softmax probabilities themselves (ablation without QD).
    case fullPrecision = "fp"
}

/// One stage of the pyramid: its mixer, width, block count, MLP expansion and heads.
public struct BHViTStage: Codable, Equatable, Sendable {
    public var mixer: BHViTMixer
    /// Channels `C` of the stage's tokens.
    public var width: Int
    /// Blocks in the stage.
    public var depth: Int
    /// MLP hidden width divided by `width`; an integer because the MLP shortcuts tile and
    /// group-average by it (docs/reference/bhvit.md §3.7).
    public var mlpRatio: Int
    /// Attention heads of an attention stage (head dimension `width/heads`); unused otherwise.
    public var heads: Int

    public init(mixer: BHViTMixer, width: Int, depth: Int, mlpRatio: Int, heads: Int = 1) {
        self.mixer = mixer
        self.width = width
        self.depth = depth
        self.mlpRatio = mlpRatio
        self.heads = heads
    }
}

/// Geometry and switches of a BHViT (Gao et al., CVPR 2025), following the official code where
/// it differs from the paper (docs/reference/bhvit.md §9; docs/bhvit.md lists the choices).
///
/// The stem is a full-precision `stemKernel`×`stemKernel` convolution with stride
/// `stemStride` and no padding (224 presets: 4/4, i.e. patch 4). Each stage after the first
/// starts with a downsampling that halves the resolution.
public struct BHViTConfig: Codable, Equatable, Sendable {
    /// Side of the square input images.
    public var imageSize: Int
    public var inChannels: Int
    public var stemKernel: Int
    public var stemStride: Int
    public var stages: [BHViTStage]
    public var classes: Int
    public var downsampling: BHViTDownsampling
    /// The six zero-initialized shift branches of every block (docs/reference/bhvit.md §4); off for ablations.
    public var shiftBranches: Bool
    public var attentionProbabilities: BHViTAttentionProbabilities
    /// ReCU's gradient estimator in the binary linear layers (the code's `--recu`; the code's
    /// convolutions never use it, docs/reference/bhvit.md §9 item 6).
    public var recu: Bool
    /// Largest stochastic-depth rate of the MLP branches, rising linearly over all blocks.
    public var dropPathRate: Double

    /// Side of the attention windows (the pooled tokens' kernel and stride, docs/reference/bhvit.md §3.6).
    public static let windowSize = 7

    public init(imageSize: Int, inChannels: Int = 3, stemKernel: Int, stemStride: Int, stages: [BHViTStage],
                classes: Int = 1000, downsampling: BHViTDownsampling = .fullPrecision, shiftBranches: Bool = true,
                attentionProbabilities: BHViTAttentionProbabilities = .quantizationDecomposition,
                recu: Bool = false, dropPathRate: Double = 0) {
        self.imageSize = imageSize
        self.inChannels = inChannels
        self.stemKernel = stemKernel
        self.stemStride = stemStride
        self.stages = stages
        self.classes = classes
        self.downsampling = downsampling
        self.shiftBranches = shiftBranches
        self.attentionProbabilities = attentionProbabilities
        self.recu = recu
        self.dropPathRate = dropPathRate
    }

    /// Token grid side after the stem.
    public var stemResolution: Int { (imageSize - stemKernel) / stemStride + 1 }
    /// Token grid side of stage `i`.
    public func resolution(stage i: Int) -> Int { stemResolution >> i }
    /// Total number of blocks.
    public var blockCount: Int { stages.reduce(0) { $0 + $1.depth } }

    /// Checks the geometry against itself and against `ModelLimits` (at most 8 stages), without
    /// allocating; errors name the field, its value and what is allowed. Returns the estimated
    /// parameter count.
    @discardableResult
    public func validate(_ rules: FieldRules = .model) throws -> Int {
        try rules.number("drop_path_rate", dropPathRate, 0, 1, upperOpen: true)
        return try ModelLimits.checkBHViT(
            imageSize: imageSize, inChannels: inChannels, stemKernel: stemKernel, stemStride: stemStride,
            stages: stages.map { ModelLimits.BHViTStage(width: $0.width, depth: $0.depth, mlpRatio: $0.mlpRatio, heads: $0.heads,
                                                        attention: $0.mixer == .attention) },
            classes: classes, binaryDownsampling: downsampling == .binary, windowSize: Self.windowSize, rules: rules)
    }

    // MARK: Presets

    /// The 224 presets' four stages (docs/reference/bhvit.md §3.1): widths 64/128/256/512, MLP ratios 8/8/4/4,
    /// MSGDC in stages 1–2, MSMHA with 4 and 8 heads of 64 channels in stages 3–4.
    private static func imageNetStages(depths: [Int]) -> [BHViTStage] {
        [BHViTStage(mixer: .convolution, width: 64, depth: depths[0], mlpRatio: 8),
         BHViTStage(mixer: .convolution, width: 128, depth: depths[1], mlpRatio: 8),
         BHViTStage(mixer: .attention, width: 256, depth: depths[2], mlpRatio: 4, heads: 4),
         BHViTStage(mixer: .attention, width: 512, depth: depths[3], mlpRatio: 4, heads: 8)]
    }

    /// BHViT-Tiny at 224, depths 2/2/6/2: 13,779,960 parameters (†), 13,783,096 (binary).
    public static let tiny = BHViTConfig(imageSize: 224, stemKernel: 4, stemStride: 4,
                                         stages: imageNetStages(depths: [2, 2, 6, 2]))
    /// BHViT-Small at 224, depths 3/4/8/4: 22,642,920 parameters (†), 22,646,056 (binary).
    public static let small = BHViTConfig(imageSize: 224, stemKernel: 4, stemStride: 4,
                                          stages: imageNetStages(depths: [3, 4, 8, 4]))
    /// The small-image variant for 32×32 inputs (docs/bhvit.md explains the geometry): a 5×5
    /// stride-1 stem to a 28×28 grid, one MSGDC stage at 28×28 (1 block) and two MSMHA stages
    /// at 14×14 (4 windows + 4 pooled tokens, T = 53) and 7×7 (1 window + 1 pooled token,
    /// T = 50) with 2 blocks each, widths 32/64/128, MLP ratio 4, head dimension 32.
    public static let tinyCIFAR = BHViTConfig(
        imageSize: 32, stemKernel: 5, stemStride: 1,
        stages: [BHViTStage(mixer: .convolution, width: 32, depth: 1, mlpRatio: 4),
                 BHViTStage(mixer: .attention, width: 64, depth: 2, mlpRatio: 4, heads: 2),
                 BHViTStage(mixer: .attention, width: 128, depth: 2, mlpRatio: 4, heads: 4)],
        classes: 10)

    /// Presets by name: `bhvit-tiny`, `bhvit-small` (224, 1000 classes), `bhvit-tiny-cifar`
    /// (32×32, 10 classes).
    public static let presets: [String: BHViTConfig] = [
        "bhvit-tiny": .tiny, "bhvit-small": .small, "bhvit-tiny-cifar": .tinyCIFAR,
    ]
}
