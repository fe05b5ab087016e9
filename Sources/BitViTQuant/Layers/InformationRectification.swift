/// Q-ViT's information rectification module (IRM, docs/reference/qvit.md §4) as the official code implements
/// it: a LayerNorm over the head dimension of per-head queries or keys, applied before their
/// quantizer, with one affine transform shared by all heads.
///
/// `y = (x − μ)/√(σ² + eps)·weight + bias`, μ and the biased σ² over the last axis of
/// `[B, H, N, d]`. Parameters `weight` (γ, init 1) and `bias` (β, init 0), `[d]`, so the
/// checkpoint names match Q-ViT's `attn.norm_q.*` / `attn.norm_k.*`. The gradient is the true
/// derivative. Note that γ = 1, β = 0 is not the identity: adding the IRM to a pretrained
/// model changes its function at step 0.
public final class InformationRectification: Module, Layer {
    public let weight: Tensor
    public let bias: Tensor
    public let eps: Float

    public init(headDim: Int, eps: Float = 1e-5) {
        weight = Tensor.ones([headDim])
        bias = Tensor.zeros([headDim])
        self.eps = eps
        super.init()
        parameter("weight", weight)
        parameter("bias", bias)
    }

    /// `x`: `[..., d]` → same shape.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.layerNorm(weight: weight, bias: bias, eps: eps)
    }
}
