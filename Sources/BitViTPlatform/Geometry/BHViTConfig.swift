
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
/// One description serves the training model (`BHViTModel`, with the presets of
/// `BitViTModels`) and the engine, which reads it from a `.bitvit` file's metadata under the
/// same JSON keys (docs/format.md, "Metadata").
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

    /// Dilations of the three MSGDC convolutions, in the order their tensors are numbered
    /// (docs/reference/bhvit.md §3.5).
    public static let convolutionDilations = [1, 3, 5]
    /// The shift branches in the order their terms are summed and stored (docs/reference/bhvit.md §4).
    public static let shiftBranchNames = ["h3", "w3", "ch3", "h5", "w5", "ch5"]

    /// Checks the geometry against itself and against `ModelLimits` (at most 8 stages), without
    /// allocating; errors name the field, its value and what is allowed. Returns the estimated
    /// parameter count.
    @discardableResult
    public func validate(_ rules: FieldRules = .model) throws -> Int {
        try rules.number("drop_path_rate", dropPathRate, 0, 1, upperOpen: true)
        return try ModelLimits.checkBHViT(self, rules: rules)
    }
}
