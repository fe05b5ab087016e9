/// Q-ViT's asymmetric activation quantizer (docs/reference/qvit.md §3.3): an LSQ step `alpha` and a
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
    public var bits: Int { bitWidth }
    /// The channel axis of the inputs (negative counts from the end).
    public let channelAxis: Int
    public let alpha: Tensor
    public let zeroPoint: Tensor
    /// 1 for the signed range, 0 for unsigned (rank 0, persistent).
    public let signedFlag: Tensor

    public init(bits: Int, channels: Int, channelAxis: Int) {
        precondition(bits >= 2 && bits <= 16, "LSQActivationQuantizer: \(bits) bits")
        self.channelAxis = channelAxis
        alpha = Tensor.ones([channels])
        zeroPoint = Tensor.zeros([channels])
        signedFlag = Tensor.zeros([])
        super.init(bitWidth: bits, scaleInitialization: .firstTrainingCall)
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
        let step = Float(2 * x.meanAbsolute / Double(qp).squareRoot())
        alpha.withMutableData { $0.update(repeating: step) }
        zeroPoint.withMutableData { z in
            for c in 0..<z.count { z[c] = 0.9 * z[c] + 0.1 * (low - step * qn) }
        }
    }

    public override func quantize(_ x: Tensor, initializing: Bool) -> Tensor {
        let layout = layout(x)
        // The parameters as this call uses them (the zero point rounded), kept for backward.
        let steps = alpha.copy()
        let zeros = zeroPoint.map(roundHalfEven)
        let (qn, qp) = range
        let y = Tensor(uninitialized: x.shape)
        layout.run(LSQActivationForward(x: x.data, y: y.data, step: steps.data, zero: zeros.data, qn: qn, qp: qp))
        let gradScale = 1 / (Double(x.count) * Double(qp)).squareRoot()
        return Autograd.record(y, op: "lsqActivation", inputs: [x, alpha, zeroPoint]) { dy in
            let dx = Tensor(uninitialized: x.shape)
            let stepTerms = Tensor(uninitialized: x.shape), zeroTerms = Tensor(uninitialized: x.shape)
            layout.run(LSQActivationBackward(x: x.data, g: dy.data, dx: dx.data, stepTerms: stepTerms.data,
                                             zeroTerms: zeroTerms.data, step: steps.data, zero: zeros.data, qn: qn, qp: qp))
            return [dx, layout.channelSums(stepTerms) * Float(gradScale), layout.channelSums(zeroTerms) * Float(gradScale)]
        }
    }

    public override func straightThroughFraction(of x: Tensor) -> Double? {
        let layout = layout(x)
        let steps = alpha.scalars, zeros = zeroPoint.scalars.map(roundHalfEven)
        let (qn, qp) = range
        var inside = 0
        for i in 0..<x.count {
            let c = layout.channel(of: i)
            let u = x.data[i] / steps[c] + zeros[c]
            if u >= qn && u <= qp { inside += 1 }
        }
        return Double(inside) / Double(Swift.max(x.count, 1))
    }
}

/// `y = (round(clamp(x/α + z, Qn, Qp)) − z)·α`, z the rounded zero point.
private struct LSQActivationForward: ChannelKernel {
    let x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>
    let step: UnsafeMutablePointer<Float>, zero: UnsafeMutablePointer<Float>
    let qn: Float, qp: Float
    @inline(__always) func apply(_ i: Int, _ c: Int) {
        let (a, z) = (step[c], zero[c])
        y[i] = (roundCode(Swift.min(Swift.max(x[i] / a + z, qn), qp)) - z) * a
    }
}

/// `dx = g·I`; step term `g·((q − z) − I·x/α)`; zero-point term `−g·(1 − I)·α`.
private struct LSQActivationBackward: ChannelKernel {
    let x: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>, dx: UnsafeMutablePointer<Float>
    let stepTerms: UnsafeMutablePointer<Float>, zeroTerms: UnsafeMutablePointer<Float>
    let step: UnsafeMutablePointer<Float>, zero: UnsafeMutablePointer<Float>
    let qn: Float, qp: Float
    @inline(__always) func apply(_ i: Int, _ c: Int) {
        let (a, z, xi, gi) = (step[c], zero[c], x[i], g[i])
        let r = xi / a
        let u = r + z
        let inside = u >= qn && u <= qp
        let q = roundCode(Swift.min(Swift.max(u, qn), qp))
        dx[i] = inside ? gi : 0
        stepTerms[i] = gi * (inside ? (q - z) - r : q - z)
        zeroTerms[i] = inside ? 0 : -gi * a
    }
}
