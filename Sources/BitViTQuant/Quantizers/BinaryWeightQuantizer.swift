/// BWN weight binarizer (gsb.md §3.1): `Ŵ = mean|W| · sgn(W − mean(W))` over each group.
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
        super.init()
    }

    public override func quantize(_ w: Tensor, initializing: Bool) -> Tensor {
        let layout = ChannelLayout(shape: w.shape, axis: scaling == .perTensor ? nil : 0)
        let n = Double(layout.elementsPerChannel)
        let scale = layout.meanAbsolutePerChannel(w).map { Float($0) }
        let center = layout.sumPerChannel(w).map { Float($0 / n) }
        let src = w.data
        let y = makeTensor(w.shape) { i in
            let c = layout.channel(of: i)
            return scale[c] * signum(src[i] - center[c])
        }
        return Autograd.record(y, op: "binaryWeight", inputs: [w]) { dy in [dy] }
    }
}
