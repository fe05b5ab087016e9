import BitViTQuant

/// Where a layer sits in a transformer; a scheme may quantize each role differently.
public enum LayerRole: String, Sendable, CaseIterable {
    /// The patch-embedding convolution (first layer).
    case patchEmbedding
    /// The packed q/k/v projection of an attention block.
    case qkv
    /// The output projection of an attention block.
    case attentionProjection
    /// The first MLP layer (fc1).
    case mlpExpansion
    /// The second MLP layer (fc2), whose input is a GELU output.
    case mlpContraction
    /// Swin's patch-merging reduction.
    case patchMerging
    /// A classifier head (last layer).
    case head
}

/// The per-head operands of attention, `[B, H, N, d]` (or `[B, H, N, N]` for probabilities).
public enum AttentionOperand: String, Sendable, CaseIterable {
    case queries, keys, values, probabilities
}

/// How a model family quantizes a transformer: which quantizer goes on each layer's weight
/// and input and on each attention operand, whether queries and keys are rectified (IRM),
/// and whether the MLP hidden activation is clipped. Each call returns a fresh quantizer
/// (nil keeps that tensor in full precision).
///
/// `QuantizedDeiT` and `SwinTransformer` take a scheme, so one architecture serves full
/// precision, Q-ViT and the plain binary baseline; a new method that only changes quantizer
/// placement is a new scheme.
public protocol QuantizationScheme: Sendable {
    /// A short description for logs, e.g. "W4A4".
    var name: String { get }
    /// Quantizer for the weight of a layer with `outChannels` outputs (axis 0 of its weight).
    func weightQuantizer(for role: LayerRole, outChannels: Int) -> Quantizer?
    /// Quantizer for the input of a layer with `inChannels` input features (the last axis of
    /// linear inputs, axis 1 of patch-embedding images).
    func inputQuantizer(for role: LayerRole, inChannels: Int) -> Quantizer?
    /// Quantizer for a per-head attention operand, with one set of parameters per head.
    func attentionQuantizer(for operand: AttentionOperand, heads: Int) -> Quantizer?
    /// Whether queries and keys pass through an `InformationRectification` before their
    /// quantizers.
    var rectifiesQueriesAndKeys: Bool { get }
    /// Range the MLP hidden activation is clamped to after GELU, if any.
    var mlpHiddenClip: ClosedRange<Float>? { get }
}

/// No quantization: the plain full-precision architecture.
public struct FullPrecisionScheme: QuantizationScheme {
    public init() {}
    public var name: String { "fp32" }
    public func weightQuantizer(for role: LayerRole, outChannels: Int) -> Quantizer? { nil }
    public func inputQuantizer(for role: LayerRole, inChannels: Int) -> Quantizer? { nil }
    public func attentionQuantizer(for operand: AttentionOperand, heads: Int) -> Quantizer? { nil }
    public var rectifiesQueriesAndKeys: Bool { false }
    public var mlpHiddenClip: ClosedRange<Float>? { nil }
}
