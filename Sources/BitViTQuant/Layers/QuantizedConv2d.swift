/// A 2-D convolution over `[B, C_in, H, W]` whose input and weight pass through quantizers
/// (either may be nil). Used for quantized patch embeddings.
///
/// State names: `weight` `[C_out, C_in/groups, kh, kw]` and `bias` `[C_out]` as `Conv2d`,
/// children `input_quantizer` (channel axis 1 of the images) and `weight_quantizer`
/// (channel axis 0 of the weight). PyTorch's default initialization.
public final class QuantizedConv2d: Module, Layer, QuantizedLayer {
    public let weight: Tensor
    public let bias: Tensor?
    public let options: Conv2DOptions
    public let inputQuantizer: Quantizer?
    public let weightQuantizer: Quantizer?

    public init(_ inChannels: Int, _ outChannels: Int, kernel: (Int, Int), options: Conv2DOptions = Conv2DOptions(),
                bias: Bool = true, inputQuantizer: Quantizer?, weightQuantizer: Quantizer?,
                rng: inout RandomGenerator) {
        precondition(inChannels % options.groups == 0 && outChannels % options.groups == 0,
                     "QuantizedConv2d: channels \(inChannels)→\(outChannels) not divisible by \(options.groups) groups")
        let cg = inChannels / options.groups
        (weight, self.bias) = initialWeights([outChannels, cg, kernel.0, kernel.1], fanIn: cg * kernel.0 * kernel.1,
                                          bias: bias, initializer: .pytorchDefault, rng: &rng)
        self.options = options
        self.inputQuantizer = inputQuantizer
        self.weightQuantizer = weightQuantizer
        super.init()
        parameter("weight", weight)
        if let b = self.bias { parameter("bias", b) }
        if let inputQuantizer { child("input_quantizer", inputQuantizer) }
        if let weightQuantizer { child("weight_quantizer", weightQuantizer) }
    }

    public var latentWeight: Tensor { weight }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        Tensor.conv2d(inputQuantizer?(x) ?? x, weight: weightQuantizer?(weight) ?? weight, bias: bias, options: options)
    }
}
