import BitViTQuant

/// A Swin block on `[B, R·R, C]` tokens: (shifted) window attention and an MLP, each as a
/// pre-norm residual behind stochastic depth. Names as the reference implementation
/// (`norm1`, `attn`, `norm2`, `mlp`).
public final class SwinBlock: Module, Layer {
    public let resolution: Int
    public let window: Int
    public let shift: Int
    public let norm1: LayerNorm
    public let attn: QuantizableAttention
    public let norm2: LayerNorm
    public let mlp: QuantizableMLP
    let dropPath: DropPath
    /// `[(R/w)², w², w²]` for shifted blocks.
    let attentionMask: Tensor?

    public init(dim: Int, heads: Int, resolution: Int, window: Int, shift: Int, mlpRatio: Double, layerNormEps: Float,
                scheme: any QuantizationScheme, dropPath rate: Float, random: RandomSource, rng: inout RandomGenerator) {
        self.resolution = resolution
        self.window = window
        self.shift = shift
        norm1 = LayerNorm(dim, eps: layerNormEps)
        attn = QuantizableAttention(dim: dim, heads: heads, scheme: scheme, window: window, random: random, rng: &rng)
        norm2 = LayerNorm(dim, eps: layerNormEps)
        mlp = QuantizableMLP(dim: dim, hidden: Int((Double(dim) * mlpRatio).rounded()), scheme: scheme, random: random,
                             rng: &rng)
        dropPath = DropPath(rate, random: random)
        attentionMask = shift > 0 ? SwinWindows.shiftMask(resolution: resolution, window: window, shift: shift) : nil
        super.init()
        child("norm1", norm1)
        child("attn", attn)
        child("norm2", norm2)
        child("mlp", mlp)
        child("drop_path", dropPath)
    }

    /// `[B, R·R, C]` → same shape.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let (b, c) = (x.shape[0], x.shape[2])
        var h = norm1(x).reshaped([b, resolution, resolution, c])
        if shift > 0 { h = h.rolled(by: -shift, axis: 1).rolled(by: -shift, axis: 2) }
        let mixed = attn(SwinWindows.partition(h, window: window), mask: attentionMask)
        h = SwinWindows.merge(mixed, window: window, resolution: resolution)
        if shift > 0 { h = h.rolled(by: shift, axis: 1).rolled(by: shift, axis: 2) }
        let y = x + dropPath(h.reshaped([b, resolution * resolution, c]))
        return y + dropPath(mlp(norm2(y)))
    }
}

/// Swin's patch merging: each 2×2 neighbourhood of `[B, R·R, C]` is concatenated (order
/// (0,0), (1,0), (0,1), (1,1) as row/column offsets), normalized (`norm`, 4C) and reduced to
/// 2C by a bias-free `reduction` → `[B, (R/2)², 2C]`.
public final class SwinPatchMerging: Module, Layer {
    public let resolution: Int
    public let norm: LayerNorm
    public let reduction: QuantizedLinear

    public init(dim: Int, resolution: Int, layerNormEps: Float, scheme: any QuantizationScheme, rng: inout RandomGenerator) {
        self.resolution = resolution
        norm = LayerNorm(4 * dim, eps: layerNormEps)
        reduction = QuantizedLinear(4 * dim, 2 * dim, bias: false,
                                    inputQuantizer: scheme.inputQuantizer(for: .patchMerging, inChannels: 4 * dim),
                                    weightQuantizer: scheme.weightQuantizer(for: .patchMerging, outChannels: 2 * dim), rng: &rng)
        super.init()
        child("norm", norm)
        child("reduction", reduction)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let (b, c, half) = (x.shape[0], x.shape[2], resolution / 2)
        // [B, i, row offset, j, column offset, C] → [B, i, j, column offset, row offset, C].
        let merged = x.reshaped([b, half, 2, half, 2, c]).permuted([0, 1, 3, 4, 2, 5]).reshaped([b, half * half, 4 * c])
        return reduction(norm(merged))
    }
}
