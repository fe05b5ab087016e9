/// Q-ViT's asymmetric activation quantizer (qvit.md §3.3): an LSQ step `alpha` and a
/// learnable zero point (rounded when used) per channel or per head.
///
/// Parameters `alpha`, `zero_point` (`[channels]`); persistent buffers `init_state` and
/// `signed` (1 for the signed range `[−2^(b−1), 2^(b−1)−1]`, 0 for unsigned `[0, 2^b−1]`).
/// The channel axis is given at construction: the last axis for linear-layer inputs
/// `[B, N, C]` or `[B, C]`, axis 1 for per-head `[B, H, N, d]` operands and image channels
/// `[B, C, H, W]`.
///
/// Forward, per channel: `zr = round(zero_point)`, `u = x/alpha + zr`,
/// `q = round(clamp(u, Qn, Qp))`, `y = (q − zr)·alpha` (round half to even; no scale floor).
///
/// Backward, with `I = [Qn ≤ u ≤ Qp]` and `s = 1/√(numel(x)·Qp)` (batch-dependent):
/// `dx = dy·I`; `dalpha = s·Σ dy·((q − zr) − I·x/alpha)`; `dzero_point = s·Σ dy·(−(1 − I)·alpha)`
/// (straight through the rounding of the zero point), sums per channel.
///
/// Lazy initialization on the first training-mode call: `signed = min(x) < −1e−5`;
/// `alpha[:] = 2·mean|x|/√Qp`; `zero_point[:] = 0.9·zero_point + 0.1·(min(x) − alpha·Qn)`,
/// statistics over the whole tensor.
public final class LSQActivationQuantizer: Quantizer {
    public let bits: Int
    /// The channel axis of the inputs (negative counts from the end).
    public let channelAxis: Int
    public let alpha: Tensor
    public let zeroPoint: Tensor
    /// 1 for the signed range, 0 for unsigned (rank 0, persistent).
    public let signedFlag: Tensor

    public init(bits: Int, channels: Int, channelAxis: Int) {
        precondition(bits >= 2 && bits <= 16, "LSQActivationQuantizer: \(bits) bits")
        self.bits = bits
        self.channelAxis = channelAxis
        alpha = Tensor.ones([channels])
        zeroPoint = Tensor.zeros([channels])
        signedFlag = Tensor.zeros([])
        super.init(scaleInitialization: .firstTrainingCall)
        parameter("alpha", alpha)
        parameter("zero_point", zeroPoint)
        buffer("signed", signedFlag)
    }

    /// One step per input feature of a linear layer (inputs `[..., features]`).
    public static func perFeature(bits: Int, features: Int) -> LSQActivationQuantizer {
        LSQActivationQuantizer(bits: bits, channels: features, channelAxis: -1)
    }

    /// One step per head of `[B, H, N, d]` attention operands (q, k, v, probabilities), or per
    /// channel of `[B, C, H, W]` images.
    public static func perAxis1(bits: Int, count: Int) -> LSQActivationQuantizer {
        LSQActivationQuantizer(bits: bits, channels: count, channelAxis: 1)
    }

    /// Whether the range is signed (decided at initialization).
    public var isSigned: Bool {
        get { signedFlag.item() != 0 }
        set { signedFlag.data[0] = newValue ? 1 : 0 }
    }

    /// `(Qn, Qp)` of the current range.
    public var range: (qn: Float, qp: Float) {
        isSigned ? (-Float(1 << (bits - 1)), Float((1 << (bits - 1)) - 1)) : (0, Float((1 << bits) - 1))
    }

    private func layout(_ x: Tensor) -> ChannelLayout {
        let l = ChannelLayout(shape: x.shape, axis: channelAxis)
        precondition(l.channels == alpha.count,
                     "LSQActivationQuantizer: \(alpha.count) channels on axis \(channelAxis) of \(x.shape)")
        return l
    }

    public override func initializeScales(from x: Tensor) {
        let low = x.extremes.min
        isSigned = low < -1e-5
        let (qn, qp) = range
        let meanAbs = parallelSum(x.count) { Double(Swift.abs(x.data[$0])) } / Double(Swift.max(x.count, 1))
        let step = Float(2 * meanAbs / Double(qp).squareRoot())
        alpha.withMutableData { $0.update(repeating: step) }
        zeroPoint.withMutableData { z in
            for c in 0..<z.count { z[c] = 0.9 * z[c] + 0.1 * (low - step * qn) }
        }
    }

    public override func quantize(_ x: Tensor, initializing: Bool) -> Tensor {
        let layout = layout(x)
        let step = alpha.scalars
        let zr = zeroPoint.scalars.map(roundHalfEven)
        let (qn, qp) = range
        let src = x.data
        let y = makeTensor(x.shape) { i in
            let c = layout.channel(of: i)
            let q = roundHalfEven(Swift.min(Swift.max(src[i] / step[c] + zr[c], qn), qp))
            return (q - zr[c]) * step[c]
        }
        let gradScale = 1 / (Double(x.count) * Double(qp)).squareRoot()
        return Autograd.record(y, op: "lsqActivation", inputs: [x, alpha, zeroPoint]) { dy in
            let xv = x.data, g = dy.data
            let dx = makeTensor(x.shape) { i in
                let c = layout.channel(of: i)
                let u = xv[i] / step[c] + zr[c]
                return u >= qn && u <= qp ? g[i] : 0
            }
            let stepTerms = makeTensor(x.shape) { i in
                let c = layout.channel(of: i)
                let r = xv[i] / step[c]
                let u = r + zr[c]
                let q = roundHalfEven(Swift.min(Swift.max(u, qn), qp))
                return g[i] * (u >= qn && u <= qp ? (q - zr[c]) - r : q - zr[c])
            }
            let zeroTerms = makeTensor(x.shape) { i in
                let c = layout.channel(of: i)
                let u = xv[i] / step[c] + zr[c]
                return u >= qn && u <= qp ? 0 : -g[i] * step[c]
            }
            let dalpha = layout.sumPerChannel(stepTerms).map { Float($0 * gradScale) }
            let dzero = layout.sumPerChannel(zeroTerms).map { Float($0 * gradScale) }
            return [dx, Tensor(shape: [dalpha.count], scalars: dalpha),
                    Tensor(shape: [dzero.count], scalars: dzero)]
        }
    }

    public override func straightThroughFraction(of x: Tensor) -> Double? {
        let layout = layout(x)
        let step = alpha.scalars
        let zr = zeroPoint.scalars.map(roundHalfEven)
        let (qn, qp) = range
        return parallelSum(x.count) { i in
            let c = layout.channel(of: i)
            let u = x.data[i] / step[c] + zr[c]
            return u >= qn && u <= qp ? 1 : 0
        } / Double(Swift.max(x.count, 1))
    }
}
