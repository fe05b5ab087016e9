import BitViTQuant

/// Patch embedding whose convolution may be quantized (`proj`, timm's name), optionally
/// followed by a LayerNorm over the channels (`norm`, Swin's patch norm):
/// `[B, C, H, W]` → `[B, (H/p)·(W/p), dim]`.
public final class QuantizedPatchEmbedding: Module, Layer {
    public let proj: QuantizedConv2d
    public let norm: LayerNorm?

    /// - `normEps`: adds the LayerNorm with this epsilon.
    public init(patchSize: Int, inChannels: Int, dim: Int, scheme: any QuantizationScheme, normEps: Float? = nil,
                rng: inout RandomGenerator) {
        proj = QuantizedConv2d(inChannels, dim, kernel: (patchSize, patchSize), options: Conv2DOptions(stride: patchSize),
                               inputQuantizer: scheme.inputQuantizer(for: .patchEmbedding, inChannels: inChannels),
                               weightQuantizer: scheme.weightQuantizer(for: .patchEmbedding, outChannels: dim), rng: &rng)
        norm = normEps.map { LayerNorm(dim, eps: $0) }
        super.init()
        child("proj", proj)
        if let norm { child("norm", norm) }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let y = proj(x)                                                        // [B, D, h, w]
        let tokens = y.reshaped([y.shape[0], y.shape[1], -1]).transposed(1, 2)
        return norm?(tokens) ?? tokens
    }
}
