/// How a layer's weights start.
public enum WeightInit: Sendable {
    /// timm's ViT rule: truncated normal with this standard deviation, bias 0.
    case truncatedNormal(std: Float)
    /// PyTorch's default: Kaiming-uniform with a = √5 (bound 1/√fan_in), bias U(±1/√fan_in).
    case pytorchDefault
    /// All zeros (e.g. zero-initialized heads).
    case zeros
}

/// Fully connected layer `y = x·Wᵀ + b` over the last axis.
///
/// Parameters: `weight` `[out, in]` (PyTorch layout), `bias` `[out]` (optional).
public final class Linear: Module, Layer {
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: Tensor
    public let bias: Tensor?

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true,
                initializer: WeightInit = .truncatedNormal(std: 0.02), rng: inout RandomGenerator) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        let (w, b) = initialWeights([outFeatures, inFeatures], fanIn: inFeatures, bias: bias,
                                    initializer: initializer, rng: &rng)
        self.weight = w
        self.bias = b
        super.init()
        parameter("weight", w)
        if let b { parameter("bias", b) }
    }

    /// `x`: `[..., in]` → `[..., out]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        Tensor.linear(x, weight: weight, bias: bias)
    }
}

/// Creates a weight of `shape` and an optional bias `[shape[0]]` by `initializer` (the layers of
/// BitViTNN and the quantized layers of BitViTQuant).
package func initialWeights(_ shape: [Int], fanIn: Int, bias: Bool, initializer: WeightInit,
                    rng: inout RandomGenerator) -> (Tensor, Tensor?) {
    switch initializer {
    case .truncatedNormal(let std):
        return (Tensor.truncatedNormal(shape, std: std, using: &rng), bias ? Tensor.zeros([shape[0]]) : nil)
    case .pytorchDefault:
        let w = Tensor.kaimingUniform(shape, fanIn: fanIn, using: &rng)
        let bound = 1 / Float(fanIn).squareRoot()
        return (w, bias ? Tensor.uniform([shape[0]], low: -bound, high: bound, using: &rng) : nil)
    case .zeros:
        return (Tensor.zeros(shape), bias ? Tensor.zeros([shape[0]]) : nil)
    }
}

/// 2-D convolution over `[B, C_in, H, W]`.
///
/// Parameters: `weight` `[C_out, C_in/groups, kh, kw]`, `bias` `[C_out]` (optional).
public final class Conv2d: Module, Layer {
    public let weight: Tensor
    public let bias: Tensor?
    public let options: Conv2DOptions

    public init(_ inChannels: Int, _ outChannels: Int, kernel: (Int, Int),
                options: Conv2DOptions = Conv2DOptions(), bias: Bool = true,
                initializer: WeightInit = .pytorchDefault, rng: inout RandomGenerator) {
        precondition(inChannels % options.groups == 0 && outChannels % options.groups == 0,
                     "Conv2d: channels \(inChannels)→\(outChannels) not divisible by \(options.groups) groups")
        let cg = inChannels / options.groups
        let (w, b) = initialWeights([outChannels, cg, kernel.0, kernel.1], fanIn: cg * kernel.0 * kernel.1,
                                    bias: bias, initializer: initializer, rng: &rng)
        self.weight = w
        self.bias = b
        self.options = options
        super.init()
        parameter("weight", w)
        if let b { parameter("bias", b) }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        Tensor.conv2d(x, weight: weight, bias: bias, options: options)
    }
}
