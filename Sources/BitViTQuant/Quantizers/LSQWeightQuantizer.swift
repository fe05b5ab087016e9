/// Symmetric signed LSQ weight quantizer (qvit.md §3.2; GSB's 8-bit patch embedding,
/// gsb.md §3.6), with a learnable step per output channel (axis 0) or one per tensor.
///
/// Range `[Qn, Qp] = [−2^(b−1), 2^(b−1)−1]`. With `u = w/alpha_c`:
/// `y = round(clamp(u, Qn, Qp))·alpha_c` (clamp first, round half to even; no scale floor).
///
/// Backward, with `I = [Qn ≤ u ≤ Qp]` (bounds included) and `s = 1/√(numel(w)·Qp)`:
/// `dw = dy·I`, `dalpha_c = s·Σ_{channel c} dy·(q − I·u)`.
///
/// Lazy initialization on the first training-mode call (`init_state` buffer): every channel
/// gets `2·mean|w|/√Qp` with the mean over the whole tensor.
public final class LSQWeightQuantizer: Quantizer {
    public let bits: Int
    /// The learnable steps: `[outChannels]`, or `[1]` per tensor.
    public let alpha: Tensor
    public let perChannel: Bool
    public let qn: Float
    public let qp: Float

    /// - `outChannels`: extent of the weight's axis 0 (one step each), or nil for one step for
    ///   the whole tensor.
    public init(bits: Int, outChannels: Int?) {
        precondition(bits >= 2 && bits <= 16, "LSQWeightQuantizer: \(bits) bits")
        self.bits = bits
        perChannel = outChannels != nil
        qn = -Float(1 << (bits - 1))
        qp = Float((1 << (bits - 1)) - 1)
        alpha = Tensor.ones([outChannels ?? 1])
        super.init(scaleInitialization: .firstTrainingCall)
        parameter("alpha", alpha)
    }

    private func layout(_ w: Tensor) -> ChannelLayout {
        let l = ChannelLayout(shape: w.shape, axis: perChannel ? 0 : nil)
        precondition(l.channels == alpha.count, "LSQWeightQuantizer: \(alpha.count) steps for a weight \(w.shape)")
        return l
    }

    public override func initializeScales(from w: Tensor) {
        let meanAbs = parallelSum(w.count) { Double(Swift.abs(w.data[$0])) } / Double(Swift.max(w.count, 1))
        let value = Float(2 * meanAbs / Double(qp).squareRoot())
        alpha.withMutableData { $0.update(repeating: value) }
    }

    public override func quantize(_ w: Tensor, initializing: Bool) -> Tensor {
        let layout = layout(w)
        let step = alpha.scalars
        let (qn, qp) = (qn, qp)
        let src = w.data
        let y = makeTensor(w.shape) { i in
            let c = layout.channel(of: i)
            return roundHalfEven(Swift.min(Swift.max(src[i] / step[c], qn), qp)) * step[c]
        }
        let gradScale = 1 / (Double(w.count) * Double(qp)).squareRoot()
        return Autograd.record(y, op: "lsqWeight", inputs: [w, alpha]) { dy in
            let x = w.data, g = dy.data
            let dw = makeTensor(w.shape) { i in
                let u = x[i] / step[layout.channel(of: i)]
                return u >= qn && u <= qp ? g[i] : 0
            }
            let terms = makeTensor(w.shape) { i in
                let u = x[i] / step[layout.channel(of: i)]
                let q = roundHalfEven(Swift.min(Swift.max(u, qn), qp))
                return g[i] * (u >= qn && u <= qp ? q - u : q)
            }
            let dalpha = layout.sumPerChannel(terms).map { Float($0 * gradScale) }
            return [dw, Tensor(shape: [dalpha.count], scalars: dalpha)]
        }
    }

    public override func straightThroughFraction(of w: Tensor) -> Double? {
        let layout = layout(w)
        let step = alpha.scalars
        return parallelSum(w.count) { i in
            let u = w.data[i] / step[layout.channel(of: i)]
            return u >= qn && u <= qp ? 1 : 0
        } / Double(Swift.max(w.count, 1))
    }
}
