import BitViTQuant

/// Q-ViT's placement (docs/reference/qvit.md §5.2–5.3): every matrix-multiply input is quantized.
///
/// - Block linears (qkv, proj, fc1, fc2) and Swin's patch merging: `bits`-bit weights, one
///   LSQ step per output channel; `bits`-bit inputs with a step and zero point per input
///   feature.
/// - Patch embedding and heads: 8-bit weights (per output channel) and 8-bit inputs (per image
///   channel / per feature).
/// - q, k, v and the softmax output: `bits`-bit, one step and zero point per head.
/// - IRM on q and k (unless disabled: Q-ViT's "baseline"), MLP hidden clipped to [−10, 10].
public struct QViTScheme: QuantizationScheme {
    public let bits: Int
    public let rectifiesQueriesAndKeys: Bool
    /// Bit width of the first and last layers.
    public let edgeBits: Int

    public init(bits: Int, rectifiesQueriesAndKeys: Bool = true, edgeBits: Int = 8) {
        precondition(bits >= 2 && bits <= 8, "Q-ViT bit width \(bits) outside 2…8")
        self.bits = bits
        self.rectifiesQueriesAndKeys = rectifiesQueriesAndKeys
        self.edgeBits = edgeBits
    }

    public var name: String { "W\(bits)A\(bits)" + (rectifiesQueriesAndKeys ? "" : " (no IRM)") }

    private func bits(for role: LayerRole) -> Int {
        role == .patchEmbedding || role == .head ? edgeBits : bits
    }

    public func weightQuantizer(for role: LayerRole, outChannels: Int) -> Quantizer? {
        LSQWeightQuantizer(bits: bits(for: role), outChannels: outChannels)
    }

    public func inputQuantizer(for role: LayerRole, inChannels: Int) -> Quantizer? {
        role == .patchEmbedding
            ? LSQActivationQuantizer.perAxis1(bits: bits(for: role), count: inChannels)
            : LSQActivationQuantizer.perFeature(bits: bits(for: role), features: inChannels)
    }

    public func attentionQuantizer(for operand: AttentionOperand, heads: Int) -> Quantizer? {
        LSQActivationQuantizer.perAxis1(bits: bits, count: heads)
    }

    public var mlpHiddenClip: ClosedRange<Float>? { -10...10 }
}
