/// ReActNet's RSign: `y = sgn(x + move)` with a learnable per-channel shift `move` (init 0),
/// i.e. a learnable threshold `−move`. BHViT places the same shift before every sign
/// (docs/reference/bhvit.md §3.3). The backward rule of the sign is `estimator`'s; `move` receives the sum
/// of the input gradient over every position of its channel.
///
/// Parameter `move` `[channels]`, on `channelAxis` of the input (default: the last axis).
public final class RSignQuantizer: Quantizer {
    public let estimator: SignQuantizer.Estimator
    public let channelAxis: Int
    /// The learnable shift, `[channels]`.
    public let move: Tensor

    public init(channels: Int, channelAxis: Int = -1, estimator: SignQuantizer.Estimator = .approxSign) {
        self.estimator = estimator
        self.channelAxis = channelAxis
        move = Tensor.zeros([channels])
        super.init(bitWidth: 1)
        parameter("move", move)
    }

    public override func quantize(_ x: Tensor, initializing: Bool) -> Tensor {
        SignQuantizer.sign(shifted(x), estimator: estimator)
    }

    public override func straightThroughFraction(of x: Tensor) -> Double? {
        let s = withNoGrad { shifted(x) }
        return s.fraction { Swift.abs($0) <= 1 }
    }

    private func shifted(_ x: Tensor) -> Tensor {
        let axis = normalizeAxis(channelAxis, rank: x.rank)
        precondition(x.shape[axis] == move.count, "RSign: \(move.count) shifts for axis \(channelAxis) of \(x.shape)")
        var shape = [Int](repeating: 1, count: x.rank)
        shape[axis] = move.count
        return x + move.reshaped(shape)
    }
}
