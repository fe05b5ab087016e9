/// BWN weight binarizer (docs/reference/gsb.md §4.1): `Ŵ = mean|W| · sgn(W − mean(W))` over each group.
///
/// The scale uses |W|, not |W − mean|, and carries no gradient; the backward pass is the
/// identity straight-through estimator (no clipping window). No learnable parameters.
///
/// Groups: the whole tensor (`.perTensor`, GSB's `weight_layerwise=True`) or each output
/// channel, i.e. each index of axis 0 (`.perOutputChannel`, the plain W1A1 baseline).
public final class BinaryWeightQuantizer: Quantizer {
    public enum Scaling: Sendable { case perTensor, perOutputChannel }
    public let scaling: Scaling

    public init(scaling: Scaling = .perTensor) {
        self.scaling = scaling
        super.init(bitWidth: 1)
    }

    public override func quantize(_ w: Tensor, initializing: Bool) -> Tensor {
        let layout = ChannelLayout(shape: w.shape, axis: scaling == .perTensor ? nil : 0)
        let perGroup = Float(layout.elementsPerChannel)
        let scale = withNoGrad { layout.channelSums(w.abs()) / perGroup }
        let center = withNoGrad { layout.channelSums(w) / perGroup }
        let y = Tensor(uninitialized: w.shape)
        layout.run(BinaryWeightForward(w: w.data, y: y.data, scale: scale.data, center: center.data))
        return Autograd.record(y, op: "binaryWeight", inputs: [w]) { dy in [dy] }
    }
}

/// `y = m_c·sgn(w − e_c)`.
private struct BinaryWeightForward: ChannelKernel {
    let w: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>
    let scale: UnsafeMutablePointer<Float>, center: UnsafeMutablePointer<Float>
    @inline(__always) func apply(_ i: Int, _ c: Int) { y[i] = scale[c] * signum(w[i] - center[c]) }
}
