import BitViTPlatform

/// Geometry and switches of an exported BHViT: everything the engine needs besides the tensors
/// (docs/format.md, "Metadata"; docs/reference/bhvit.md §3). The JSON keys are those of the training model's
/// configuration, so a file records the model as it was trained.
///
/// The stem is a full-precision `stemKernel`×`stemKernel` convolution with stride
/// `stemStride` and no padding; each stage after the first starts with a downsampling that
/// halves the resolution; attention stages work on 7×7 windows plus one pooled token per window.
public struct BHViTArchitecture: Codable, Equatable, Sendable {
    /// The token mixer of a stage.
    public enum Mixer: String, Codable, Sendable {
        /// MSGDC: binary grouped dilated 3×3 convolutions.
        case convolution
        /// MSMHA: binary window attention with pooled tokens.
        case attention
    }

    /// How the resolution halves between stages.
    public enum Downsampling: String, Codable, Sendable {
        /// Full-precision 2×2 stride-2 convolution (the "†" models).
        case fullPrecision = "fp"
        /// Binary 2×2 stride-2 convolution with an average-pooled, tiled residual.
        case binary
    }

    /// What the attention context multiplies the binary values with.
    public enum AttentionProbabilities: String, Codable, Sendable {
        /// QD-quantized probabilities: per-head levels `α_h·{0,1,2,3}`.
        case quantizationDecomposition = "qd"
        /// The full-precision softmax probabilities.
        case fullPrecision = "fp"
    }

    /// One stage: its mixer, width `C`, block count, integer MLP ratio and heads (attention).
    public struct Stage: Codable, Equatable, Sendable {
        public var mixer: Mixer
        public var width: Int
        public var depth: Int
        public var mlpRatio: Int
        public var heads: Int

        public init(mixer: Mixer, width: Int, depth: Int, mlpRatio: Int, heads: Int = 1) {
            self.mixer = mixer
            self.width = width
            self.depth = depth
            self.mlpRatio = mlpRatio
            self.heads = heads
        }
    }

    /// Side of the square input images.
    public var imageSize: Int
    public var inChannels: Int
    public var stemKernel: Int
    public var stemStride: Int
    public var stages: [Stage]
    public var classes: Int
    public var downsampling: Downsampling
    /// Whether every block has the six shift branches.
    public var shiftBranches: Bool
    public var attentionProbabilities: AttentionProbabilities
    /// Training settings recorded as trained (ReCU's estimator, the stochastic-depth rate); the
    /// engine ignores them.
    public var recu: Bool
    public var dropPathRate: Double

    public init(imageSize: Int, inChannels: Int, stemKernel: Int, stemStride: Int, stages: [Stage], classes: Int,
                downsampling: Downsampling, shiftBranches: Bool, attentionProbabilities: AttentionProbabilities,
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

    /// Side of the attention windows (and of the pooling that makes one token per window).
    public static let windowSize = 7
    /// Dilations of the three MSGDC convolutions, in the order their tensors are numbered.
    public static let convolutionDilations = [1, 3, 5]
    /// The shift branches in the order their terms are summed and stored.
    public static let shiftBranchNames = ["h3", "w3", "ch3", "h5", "w5", "ch5"]

    /// Token grid side after the stem.
    public var stemResolution: Int { (imageSize - stemKernel) / stemStride + 1 }
    /// Token grid side of stage `i`.
    public func resolution(stage i: Int) -> Int { stemResolution >> i }
    /// Total number of blocks.
    public var blockCount: Int { stages.reduce(0) { $0 + $1.depth } }

    /// Why the engine cannot run this geometry, or nil: the checks and limits of the training
    /// model's configuration (`ModelLimits.checkBHViT`), fields named `bhvit.<field>`.
    public func problem() -> String? {
        do {
            try ModelLimits.checkBHViT(
                imageSize: imageSize, inChannels: inChannels, stemKernel: stemKernel, stemStride: stemStride,
                stages: stages.map { ModelLimits.BHViTStage(width: $0.width, depth: $0.depth, mlpRatio: $0.mlpRatio, heads: $0.heads,
                                                            attention: $0.mixer == .attention) },
                classes: classes, binaryDownsampling: downsampling == .binary, windowSize: Self.windowSize,
                rules: FieldRules(prefix: "bhvit."))
            try FieldRules(prefix: "bhvit.").number("drop_path_rate", dropPathRate, 0, 1, upperOpen: true)
        } catch let e as BitViTError {
            return e.message
        } catch {
            return "\(error)"
        }
        return nil
    }
}
