/// Symmetric signed LSQ weight quantizer (docs/reference/qvit.md §3.2; GSB's 8-bit patch embedding,
/// docs/reference/gsb.md §4.6), with a learnable step per output channel (axis 0) or one per tensor.
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
    public var bits: Int { bitWidth }
    /// The learnable steps: `[outChannels]`, or `[1]` per tensor.
    public let alpha: Tensor
    public let perChannel: Bool
    public let qn: Float
    public let qp: Float

    /// - `outChannels`: extent of the weight's axis 0 (one step each), or nil for one step for
    ///   the whole tensor.
    public init(bits: Int, outChannels: Int?) {
        precondition(bits >= 2 && bits <= 16, "LSQWeightQuantizer: \(bits) bits")
        perChannel = outChannels != nil
        qn = -Float(1 << (bits - 1))
        qp = Float((1 << (bits - 1)) - 1)
        alpha = Tensor.ones([outChannels ?? 1])
        super.init(bitWidth: bits, scaleInitialization: .firstTrainingCall)
        parameter("alpha", alpha)
    }

    private func layout(_ w: Tensor) -> ChannelLayout {
        let l = ChannelLayout(shape: w.shape, axis: perChannel ? 0 : nil)
        precondition(l.channels == alpha.count, "LSQWeightQuantizer: \(alpha.count) steps for a weight \(w.shape)")
        return l
    }

    public override func initializeScales(from w: Tensor) {
        let value = Float(2 * w.meanAbsolute / Double(qp).squareRoot())
        alpha.withMutableData { $0.update(repeating: value) }
    }

    public override func quantize(_ w: Tensor, initializing: Bool) -> Tensor {
        let layout = layout(w)
        let steps = alpha.copy()
        let (qn, qp) = (qn, qp)
        let y = Tensor(uninitialized: w.shape)
        layout.run(LSQWeightForward(w: w.data, y: y.data, step: steps.data, qn: qn, qp: qp))
        let gradScale = 1 / (Double(w.count) * Double(qp)).squareRoot()
        return Autograd.record(y, op: "lsqWeight", inputs: [w, alpha]) { dy in
            let dw = Tensor(uninitialized: w.shape), terms = Tensor(uninitialized: w.shape)
            layout.run(LSQWeightBackward(w: w.data, g: dy.data, dw: dw.data, terms: terms.data, step: steps.data, qn: qn, qp: qp))
            return [dw, layout.channelSums(terms) * Float(gradScale)]
        }
    }

    public override func straightThroughFraction(of w: Tensor) -> Double? {
        let layout = layout(w)
        let steps = alpha.scalars
        var inside = 0
        for i in 0..<w.count {
            let u = w.data[i] / steps[layout.channel(of: i)]
            if u >= qn && u <= qp { inside += 1 }
        }
        return Double(inside) / Double(Swift.max(w.count, 1))
    }
}

/// `y = round(clamp(w/α, Qn, Qp))·α`.
private struct LSQWeightForward: ChannelKernel {
    let w: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>, step: UnsafeMutablePointer<Float>
    let qn: Float, qp: Float
    @inline(__always) func apply(_ i: Int, _ c: Int) {
        let a = step[c]
        y[i] = roundCode(Swift.min(Swift.max(w[i] / a, qn), qp)) * a
    }
}

/// `dw = g·I`; step term `g·(q − I·u)`.
private struct LSQWeightBackward: ChannelKernel {
    let w: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>
    let dw: UnsafeMutablePointer<Float>, terms: UnsafeMutablePointer<Float>, step: UnsafeMutablePointer<Float>
    let qn: Float, qp: Float
    @inline(__always) func apply(_ i: Int, _ c: Int) {
        let (gi, u) = (g[i], w[i] / step[c])
        let inside = u >= qn && u <= qp
        let q = roundCode(Swift.min(Swift.max(u, qn), qp))
        dw[i] = inside ? gi : 0
        terms[i] = gi * (inside ? q - u : q)
    }
}
