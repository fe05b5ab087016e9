/// A linear layer `y = Q_in(x + shift)·Q_w(W)ᵀ + bias` whose input and weight pass through
/// quantizers (either may be nil: that side stays full precision).
///
/// State names: `weight` `[out, in]` and `bias` `[out]` as `Linear` (so full-precision
/// checkpoints load into it by name), `input_shift` `[in]` (optional learnable per-input-channel
/// shift added before the input quantizer, GSB's b_in, init 0), children `input_quantizer` and
/// `weight_quantizer`. The bias is never quantized.
public final class QuantizedLinear: Module, Layer, QuantizedLayer {
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: Tensor
    public let bias: Tensor?
    public let inputShift: Tensor?
    public let inputQuantizer: Quantizer?
    public let weightQuantizer: Quantizer?

    /// - `inputShift`: adds the learnable `input_shift`.
    /// - `initializer`: `.truncatedNormal(std:)` (timm ViT, bias 0), `.pytorchDefault` or `.zeros`.
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, inputShift: Bool = false,
                inputQuantizer: Quantizer?, weightQuantizer: Quantizer?,
                initializer: WeightInit = .truncatedNormal(std: 0.02), rng: inout RandomGenerator) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        (weight, self.bias) = initialWeights([outFeatures, inFeatures], fanIn: inFeatures, bias: bias,
                                          initializer: initializer, rng: &rng)
        self.inputShift = inputShift ? Tensor.zeros([inFeatures]) : nil
        self.inputQuantizer = inputQuantizer
        self.weightQuantizer = weightQuantizer
        super.init()
        parameter("weight", weight)
        if let b = self.bias { parameter("bias", b) }
        if let s = self.inputShift { parameter("input_shift", s) }
        if let inputQuantizer { child("input_quantizer", inputQuantizer) }
        if let weightQuantizer { child("weight_quantizer", weightQuantizer) }
    }

    public var latentWeight: Tensor { weight }

    /// The input as the matmul sees it: shifted and quantized, `[..., in]`.
    public func quantizedInput(_ x: Tensor) -> Tensor {
        let shifted = inputShift.map { x + $0 } ?? x
        return inputQuantizer?(shifted) ?? shifted
    }

    /// `x`: `[..., in]` → `[..., out]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        Tensor.linear(quantizedInput(x), weight: weightQuantizer?(weight) ?? weight, bias: bias)
    }
}
