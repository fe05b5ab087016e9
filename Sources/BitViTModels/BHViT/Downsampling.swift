import BitViTNN
import BitViTQuant

/// The full-precision downsampling between stages, the official `PatchEmbed` used by the "†"
/// models (docs/reference/bhvit.md §3.8):
///
///     u = BN_in(X);  v = Conv2d(in → out, 2×2, stride 2, no bias)(u);  Y = BN_out(v) + P
///
/// State: `norm0.*`, `proj.weight` `[out, in, 2, 2]`, `norm.*`, `position_embeddings`
/// `[1, (R/2)², out]` (trunc-normal, std 0.02). Tokens `[B, R·R, in]` → `[B, (R/2)², out]`.
public final class FullPrecisionDownsampling: Module, Layer {
    public let side: Int
    public let norm0: BatchNorm
    public let proj: Conv2d
    public let norm: BatchNorm
    public let positionEmbeddings: Tensor

    public init(inChannels: Int, outChannels: Int, side: Int, rng: inout RandomGenerator) {
        self.side = side
        norm0 = tokenBatchNorm(inChannels)
        proj = Conv2d(inChannels, outChannels, kernel: (2, 2), options: Conv2DOptions(stride: 2), bias: false, rng: &rng)
        norm = tokenBatchNorm(outChannels)
        positionEmbeddings = Tensor.truncatedNormal([1, (side / 2) * (side / 2), outChannels], std: 0.02, using: &rng)
        super.init()
        child("norm0", norm0)
        child("proj", proj)
        child("norm", norm)
        parameter("position_embeddings", positionEmbeddings)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let u = norm0(x).tokensToMap(side: side)
        return norm(proj(u).mapToTokens()) + positionEmbeddings
    }
}

/// The binary downsampling of the fully binary models, the official `BinaryPatchEmbed`
/// (docs/reference/bhvit.md §3.8):
///
///     u   = BN_in(X)
///     res = Tile_{out/in}(AvgPool2d(2, 2)(u))                    the residual, as tokens
///     v   = BinConv(in → out, 2×2, stride 2, no bias)(u + b)      b: `move`, [1, in, 1, 1]
///     Y   = RPReLU(BN_out(v) + res) + P
///
/// State: `norm0.*`, `move`, `proj.weight` `[out, in, 2, 2]`, `norm.*`, `rprelu.*`,
/// `position_embeddings` `[1, (R/2)², out]`. Tokens `[B, R·R, in]` → `[B, (R/2)², out]`.
public final class BinaryDownsampling: Module, Layer {
    public let side: Int
    public let norm0: BatchNorm
    public let move: Tensor
    public let proj: QuantizedConv2d
    public let norm: BatchNorm
    public let rprelu: RPReLU
    public let positionEmbeddings: Tensor

    public init(inChannels: Int, outChannels: Int, side: Int, rng: inout RandomGenerator) {
        precondition(outChannels % inChannels == 0, "binary downsampling: \(outChannels) is not a multiple of \(inChannels)")
        self.side = side
        norm0 = tokenBatchNorm(inChannels)
        move = Tensor.zeros([1, inChannels, 1, 1])
        proj = BHViTBinary.convolution(inChannels, outChannels, kernel: 2, options: Conv2DOptions(stride: 2), bias: false,
                                       rng: &rng)
        norm = tokenBatchNorm(outChannels)
        rprelu = RPReLU(channels: outChannels)
        positionEmbeddings = Tensor.truncatedNormal([1, (side / 2) * (side / 2), outChannels], std: 0.02, using: &rng)
        super.init()
        child("norm0", norm0)
        parameter("move", move)
        child("proj", proj)
        child("norm", norm)
        child("rprelu", rprelu)
        parameter("position_embeddings", positionEmbeddings)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let u = norm0(x).tokensToMap(side: side)
        let pooled = u.avgPool2d(kernel: (2, 2)).mapToTokens()
        let residual = pooled.tiledChannels(proj.weight.shape[0] / pooled.shape[2])
        return rprelu(norm(proj(u + move).mapToTokens()) + residual) + positionEmbeddings
    }
}
