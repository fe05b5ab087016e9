/// The two GSB training stages (docs/reference/gsb.md §2, §5).
public enum GSBStage: Int, Codable, Sendable {
    /// Stage 1: only the MLP weights are binary (BWN); per-channel input shifts exist; the
    /// patch embedding is a full-precision convolution plus BatchNorm; heads are full precision.
    case binaryMLPWeights = 1
    /// Stage 2: W1A1 block linears, binary Q/K, GSB on V and the attention matrix, 8-bit patch
    /// embedding and heads.
    case fullyBinary = 2
}

/// Settings of a GSB model beyond its ViT geometry.
public struct GSBOptions: Codable, Equatable, Sendable {
    public var stage: GSBStage
    /// Groups of the value and attention superpositions (GSB: 3; 1 is a plain binarizer).
    public var groups: Int
    /// Group thresholds as ratios of the tensor's extreme, ascending (nil: 0.7, 0.9 for 3 groups).
    public var thresholds: [Float]?
    /// The MLP hidden activation is clipped to ±`mlpClip` after GELU in stage 2.
    public var mlpClip: Float
    /// GSB's first-call quirk on the superposition scales (docs/reference/gsb.md §4.4).
    public var subtractsOnFirstCall: Bool

    public init(stage: GSBStage = .fullyBinary, groups: Int = 3, thresholds: [Float]? = nil, mlpClip: Float = 10,
                subtractsOnFirstCall: Bool = true) {
        self.stage = stage
        self.groups = groups
        self.thresholds = thresholds
        self.mlpClip = mlpClip
        self.subtractsOnFirstCall = subtractsOnFirstCall
    }
}
