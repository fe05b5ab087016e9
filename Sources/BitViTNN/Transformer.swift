/// Multi-head self-attention with a packed qkv projection (timm `Attention`).
///
/// Children: `qkv` (`dim → 3·dim`, rows ordered q|k|v, each split into heads), `proj`.
/// Input and output `[B, N, dim]`. Attention dropout is not supported by the fused kernel; the
/// DeiT recipes use 0.
public final class MultiHeadSelfAttention: Module, Layer {
    public let heads: Int
    public let scale: Float
    public let qkv: Linear
    public let proj: Linear
    public let projDrop: Dropout

    public init(dim: Int, heads: Int, qkvBias: Bool = true, projDrop: Float = 0,
                random: RandomSource, rng: inout RandomGenerator) {
        precondition(dim % heads == 0, "attention width \(dim) is not divisible by \(heads) heads")
        self.heads = heads
        scale = 1 / Float(dim / heads).squareRoot()
        qkv = Linear(dim, 3 * dim, bias: qkvBias, rng: &rng)
        proj = Linear(dim, dim, rng: &rng)
        self.projDrop = Dropout(projDrop, random: random)
        super.init()
        child("qkv", qkv)
        child("proj", proj)
        child("proj_drop", self.projDrop)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let mixed = Tensor.attention(qkv: qkv(x), heads: heads, scale: scale)
        return projDrop(proj(mixed))
    }
}

/// Two-layer perceptron with exact GELU (timm `Mlp`): `fc2(drop(gelu(fc1(x))))`.
public final class MLP: Module, Layer {
    public let fc1: Linear
    public let fc2: Linear
    public let drop: Dropout

    public init(dim: Int, hidden: Int, drop: Float = 0, random: RandomSource, rng: inout RandomGenerator) {
        fc1 = Linear(dim, hidden, rng: &rng)
        fc2 = Linear(hidden, dim, rng: &rng)
        self.drop = Dropout(drop, random: random)
        super.init()
        child("fc1", fc1)
        child("fc2", fc2)
        child("drop", self.drop)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        drop(fc2(drop(fc1(x).gelu())))
    }
}

/// Pre-norm transformer block: `h = x + dropPath(attn(norm1(x)))`, then
/// `h + dropPath(mlp(norm2(h)))` (timm `Block`; children `norm1`, `attn`, `norm2`, `mlp`,
/// `drop_path`). Input and output `[B, N, dim]`. The full-precision, GSB and quantized DeiT blocks
/// are this block with their own attention and MLP.
public final class PreNormBlock<Attention: Module & Layer, Feedforward: Module & Layer>: Module, Layer {
    public let norm1: LayerNorm
    public let attn: Attention
    public let norm2: LayerNorm
    public let mlp: Feedforward
    let dropPath: DropPath

    /// `attn` and `mlp` already built (in that order, which fixes the draws from the generator).
    public init(dim: Int, layerNormEps: Float, attn: Attention, mlp: Feedforward, dropPath: DropPath) {
        norm1 = LayerNorm(dim, eps: layerNormEps)
        self.attn = attn
        norm2 = LayerNorm(dim, eps: layerNormEps)
        self.mlp = mlp
        self.dropPath = dropPath
        super.init()
        child("norm1", norm1)
        child("attn", attn)
        child("norm2", norm2)
        child("mlp", mlp)
        child("drop_path", dropPath)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let h = x + dropPath(attn(norm1(x)))
        return h + dropPath(mlp(norm2(h)))
    }
}
