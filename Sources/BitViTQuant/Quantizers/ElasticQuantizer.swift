/// GSB's per-tensor "elastic" LSQ quantizer with one learnable scalar step `alpha`
/// (docs/reference/gsb.md §4.2, §4.3, §4.6). Three configurations are used:
///
/// | configuration | GSB name | forward |
/// |---|---|---|
/// | `bits: 1, signed: true` | SB (qkv/proj/fc1 inputs, Q, K) | `c·sgn(x)` |
/// | `bits: 1, signed: false` | UB (fc2 input) | `c·clamp(round(x/c), 0, 1)` |
/// | `bits: 8, signed: true` | head weights and inputs | `c·clamp(round(x/c), −128, 127)` |
///
/// `c` is `alpha` floored at 1e-5 (`s > 1e-5 ? s : 1e-5`, forward and backward; the gradient
/// of `alpha` itself is not masked). Ranges: signed `[−2^(b−1), 2^(b−1)−1]`, unsigned
/// `[0, 2^b−1]`; for 1-bit signed the code is the sign.
///
/// Backward, with `r = x/c`, `n = numel(x)` (batch included) and step-gradient scale
/// `s = 1/√(n·Qp)`:
/// - sign: `I = [|r| ≤ 1]`, `dx = dy·I`, `dalpha = s·Σ dy·(sgn(x) − I·r)`;
/// - otherwise: `I = [Qn ≤ r ≤ Qp]`, `dx = dy·I`,
///   `dalpha = s·Σ dy·(Qn·[r < Qn] + Qp·[r > Qp] + I·(round(r) − r))`.
///
/// Lazy initialization (`.whileScalesAreOne`): `alpha = 2·mean|x|/√Qp` when signed,
/// `4·mean|x|/√Qp` when unsigned.
public final class ElasticQuantizer: Quantizer {
    public var bits: Int { bitWidth }
    public let signed: Bool
    /// The learnable step, rank 0.
    public let alpha: Tensor
    public let qn: Float
    public let qp: Float

    public init(bits: Int, signed: Bool) {
        precondition(bits >= 1 && bits <= 16, "ElasticQuantizer: \(bits) bits")
        self.signed = signed
        (qn, qp) = signed ? (bits == 1 ? (-1, 1) : (-Float(1 << (bits - 1)), Float((1 << (bits - 1)) - 1)))
                          : (0, Float((1 << bits) - 1))
        alpha = Tensor(1)
        super.init(bitWidth: bits, scaleInitialization: .whileScalesAreOne)
        parameter("alpha", alpha)
    }

    /// GSB's signed 1-bit activation binarizer SB.
    public static func signedBinary() -> ElasticQuantizer { ElasticQuantizer(bits: 1, signed: true) }
    /// GSB's unsigned 1-bit activation binarizer UB ({0, α}).
    public static func unsignedBinary() -> ElasticQuantizer { ElasticQuantizer(bits: 1, signed: false) }

    private var isSign: Bool { signed && bits == 1 }

    public override func initializeScales(from x: Tensor) {
        alpha.data[0] = Float((signed ? 2 : 4) * x.meanAbsolute / Double(qp).squareRoot())
    }

    public override func quantize(_ x: Tensor, initializing: Bool) -> Tensor {
        let c = GSB.floored(alpha.item())
        let layout = ChannelLayout(shape: x.shape, axis: nil)
        let y = Tensor(uninitialized: x.shape)
        if isSign {
            layout.run(SignForward(x: x.data, y: y.data, c: c))
        } else {
            layout.run(LevelsForward(x: x.data, y: y.data, c: c, qn: qn, qp: qp))
        }
        let (qn, qp, isSign) = (qn, qp, isSign)
        let gradScale = 1 / (Double(x.count) * Double(qp)).squareRoot()
        return Autograd.record(y, op: "elasticQuantizer", inputs: [x, alpha]) { dy in
            let dx = Tensor(uninitialized: x.shape), terms = Tensor(uninitialized: x.shape)
            if isSign {
                layout.run(SignBackward(x: x.data, g: dy.data, dx: dx.data, terms: terms.data, c: c))
            } else {
                layout.run(LevelsBackward(x: x.data, g: dy.data, dx: dx.data, terms: terms.data, c: c, qn: qn, qp: qp))
            }
            return [dx, Tensor(Float(Double(terms.sum().item()) * gradScale))]
        }
    }

    public override func straightThroughFraction(of x: Tensor) -> Double? {
        let c = GSB.floored(alpha.item())
        let (qn, qp, isSign) = (qn, qp, isSign)
        return x.fraction { v in
            let r = v / c
            return isSign ? Swift.abs(r) <= 1 : (r >= qn && r <= qp)
        }
    }
}

/// `y = c·sgn(x)`.
private struct SignForward: ChannelKernel {
    let x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>
    let c: Float
    @inline(__always) func apply(_ i: Int, _ channel: Int) { y[i] = c * signum(x[i]) }
}

/// `y = c·clamp(round(x/c), Qn, Qp)` (clamped first: the bounds are integers).
private struct LevelsForward: ChannelKernel {
    let x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>
    let c: Float, qn: Float, qp: Float
    @inline(__always) func apply(_ i: Int, _ channel: Int) {
        y[i] = c * roundCode(Swift.min(Swift.max(x[i] / c, qn), qp))
    }
}

/// `dx = g·[|r| ≤ 1]`, step term `g·(sgn(x) − [|r| ≤ 1]·r)`.
private struct SignBackward: ChannelKernel {
    let x: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>
    let dx: UnsafeMutablePointer<Float>, terms: UnsafeMutablePointer<Float>
    let c: Float
    @inline(__always) func apply(_ i: Int, _ channel: Int) {
        let (xi, gi) = (x[i], g[i])
        let r = xi / c
        let inside = Swift.abs(r) <= 1
        dx[i] = inside ? gi : 0
        terms[i] = gi * (signum(xi) - (inside ? r : 0))
    }
}

/// `dx = g·I`, step term `g·(I·(round(r) − r) + Qn·[r < Qn] + Qp·[r > Qp])`.
private struct LevelsBackward: ChannelKernel {
    let x: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>
    let dx: UnsafeMutablePointer<Float>, terms: UnsafeMutablePointer<Float>
    let c: Float, qn: Float, qp: Float
    @inline(__always) func apply(_ i: Int, _ channel: Int) {
        let (xi, gi) = (x[i], g[i])
        let r = xi / c
        let inside = r >= qn && r <= qp
        let q = roundCode(Swift.min(Swift.max(r, qn), qp))
        dx[i] = inside ? gi : 0
        terms[i] = gi * (inside ? q - r : q)
    }
}
