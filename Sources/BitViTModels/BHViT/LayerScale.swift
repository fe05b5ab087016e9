import BitViTNN

/// BHViT's LayerScale, `y = x ⊙ alpha + move` per channel on the last axis (docs/reference/bhvit.md §3.3).
///
/// Parameters `alpha` and `move`, `[channels]`. Main branches start at `alpha = 0.1`; the shift
/// branches start at `alpha = 0` (the code's `init_ones=False`), so they contribute exactly
/// `move = 0` at initialization. Note the additive `move`, which CaiT's LayerScale lacks.
public final class LayerScale: Module, Layer {
    public let alpha: Tensor
    public let move: Tensor

    public init(channels: Int, initialScale: Float) {
        alpha = Tensor(shape: [channels], repeating: initialScale)
        move = Tensor.zeros([channels])
        super.init()
        parameter("alpha", alpha)
        parameter("move", move)
    }

    /// `x`: `[..., channels]` → same shape.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.channelAffine(scale: alpha, shift: move)
    }
}
