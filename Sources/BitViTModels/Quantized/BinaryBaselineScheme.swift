import BitViTQuant

/// The plain W1A1 baseline: every block linear (qkv, proj, fc1, fc2; Swin's patch merging)
/// has binary weights `mean|W_o|·sgn(W_o − mean(W_o))` per output channel (identity STE) and
/// sign-binarized inputs with the clipped straight-through estimator (or ApproxSign). The
/// attention products, patch embedding and heads stay full precision; no GSB, no IRM.
public struct BinaryBaselineScheme: QuantizationScheme {
    public let estimator: SignQuantizer.Estimator

    public init(estimator: SignQuantizer.Estimator = .clippedIdentity) {
        self.estimator = estimator
    }

    public var name: String { "W1A1" }

    private func isBinary(_ role: LayerRole) -> Bool { role != .patchEmbedding && role != .head }

    public func weightQuantizer(for role: LayerRole, outChannels: Int) -> Quantizer? {
        isBinary(role) ? BinaryWeightQuantizer(scaling: .perOutputChannel) : nil
    }

    public func inputQuantizer(for role: LayerRole, inChannels: Int) -> Quantizer? {
        isBinary(role) ? SignQuantizer(estimator: estimator) : nil
    }

    public func attentionQuantizer(for operand: AttentionOperand, heads: Int) -> Quantizer? { nil }
    public var rectifiesQueriesAndKeys: Bool { false }
    public var mlpHiddenClip: ClosedRange<Float>? { nil }
}
