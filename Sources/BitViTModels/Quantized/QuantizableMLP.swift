import BitViTQuant

/// Transformer MLP `drop(fc2(drop(clip(gelu(fc1(x))))))` with quantized linears (timm names
/// `fc1`, `fc2`); the clip is the scheme's `mlpHiddenClip` (Q-ViT: [−10, 10], gradient 0
/// outside).
public final class QuantizableMLP: Module, Layer {
    public let fc1: QuantizedLinear
    public let fc2: QuantizedLinear
    public let hiddenClip: ClosedRange<Float>?
    public let drop: Dropout

    public init(dim: Int, hidden: Int, scheme: any QuantizationScheme, drop: Float = 0, random: RandomSource,
                rng: inout RandomGenerator) {
        fc1 = QuantizedLinear(dim, hidden, inputQuantizer: scheme.inputQuantizer(for: .mlpExpansion, inChannels: dim),
                              weightQuantizer: scheme.weightQuantizer(for: .mlpExpansion, outChannels: hidden), rng: &rng)
        fc2 = QuantizedLinear(hidden, dim, inputQuantizer: scheme.inputQuantizer(for: .mlpContraction, inChannels: hidden),
                              weightQuantizer: scheme.weightQuantizer(for: .mlpContraction, outChannels: dim), rng: &rng)
        hiddenClip = scheme.mlpHiddenClip
        self.drop = Dropout(drop, random: random)
        super.init()
        child("fc1", fc1)
        child("fc2", fc2)
        child("drop", self.drop)
    }

    /// `[..., dim]` → `[..., dim]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = fc1(x).gelu()
        if let hiddenClip { h = h.clamped(min: hiddenClip.lowerBound, max: hiddenClip.upperBound) }
        return drop(fc2(drop(h)))
    }
}
