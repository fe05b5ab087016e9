/// Geometry and switches of an exported BHViT: everything the engine needs besides the tensors
/// (docs/format.md, "Metadata"; bhvit.md §2). The JSON keys are those of the training model's
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

    /// Why the engine cannot run this geometry, or nil: sizes within sane bounds, a stem that
    /// tiles the image, widths in groups of 4, halvable resolutions, windows that tile the
    /// attention stages, heads that divide the width, and a binary downsampling whose residual
    /// tiles.
    public func problem() -> String? {
        let sizes = [imageSize, inChannels, stemKernel, stemStride, classes] + stages.flatMap { [$0.width, $0.depth, $0.mlpRatio, $0.heads] }
        if stages.isEmpty { return "no stages" }
        if sizes.contains(where: { $0 <= 0 }) { return "non-positive geometry" }
        if sizes.contains(where: { $0 > 1 << 16 }) || imageSize > 1 << 13 || stages.count > 8 || blockCount > 1024 {
            return "absurd geometry \(sizes)"
        }
        guard imageSize >= stemKernel, (imageSize - stemKernel) % stemStride == 0 else {
            return "the \(stemKernel)×\(stemKernel) stride-\(stemStride) stem does not tile \(imageSize)×\(imageSize) images"
        }
        for (i, s) in stages.enumerated() {
            let r = resolution(stage: i)
            if r < 1 { return "stage \(i + 1) has no tokens" }
            if s.width % 4 != 0 { return "stage \(i + 1): width \(s.width) is not a multiple of 4" }
            if i + 1 < stages.count {
                if r % 2 != 0 { return "stage \(i + 1): resolution \(r) cannot be halved exactly" }
                if downsampling == .binary && stages[i + 1].width % s.width != 0 {
                    return "binary downsampling tiles its residual: width \(stages[i + 1].width) is not a multiple of \(s.width)"
                }
            }
            if s.mixer == .attention {
                if r % Self.windowSize != 0 { return "stage \(i + 1): attention needs a resolution divisible by \(Self.windowSize), got \(r)" }
                if s.width % s.heads != 0 { return "stage \(i + 1): width \(s.width) is not divisible by \(s.heads) heads" }
            }
        }
        return nil
    }
}
