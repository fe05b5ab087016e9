import Foundation

/// GSB's per-tensor "elastic" LSQ quantizer with one learnable scalar step `alpha`
/// (gsb.md §3.2, §3.3, §3.6). Three configurations are used:
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
    public let bits: Int
    public let signed: Bool
    /// The learnable step, rank 0.
    public let alpha: Tensor
    public let qn: Float
    public let qp: Float

    public init(bits: Int, signed: Bool) {
        precondition(bits >= 1 && bits <= 16, "ElasticQuantizer: \(bits) bits")
        self.bits = bits
        self.signed = signed
        (qn, qp) = signed ? (bits == 1 ? (-1, 1) : (-Float(1 << (bits - 1)), Float((1 << (bits - 1)) - 1)))
                          : (0, Float((1 << bits) - 1))
        alpha = Tensor(1)
        super.init(scaleInitialization: .whileScalesAreOne)
        parameter("alpha", alpha)
    }

    /// GSB's signed 1-bit activation binarizer SB.
    public static func signedBinary() -> ElasticQuantizer { ElasticQuantizer(bits: 1, signed: true) }
    /// GSB's unsigned 1-bit activation binarizer UB ({0, α}).
    public static func unsignedBinary() -> ElasticQuantizer { ElasticQuantizer(bits: 1, signed: false) }

    private var isSign: Bool { signed && bits == 1 }

    public override func initializeScales(from x: Tensor) {
        let meanAbs = parallelSum(x.count) { Double(Swift.abs(x.data[$0])) } / Double(Swift.max(x.count, 1))
        alpha.data[0] = Float((signed ? 2 : 4) * meanAbs / Double(qp).squareRoot())
    }

    public override func quantize(_ x: Tensor, initializing: Bool) -> Tensor {
        let c = GSB.floored(alpha.item())
        let (qn, qp, isSign) = (qn, qp, isSign)
        let src = x.data
        let y = makeTensor(x.shape) { i in
            isSign ? c * signum(src[i]) : c * Swift.min(Swift.max(roundHalfEven(src[i] / c), qn), qp)
        }
        let gradScale = 1 / (Double(x.count) * Double(qp)).squareRoot()
        return Autograd.record(y, op: "elasticQuantizer", inputs: [x, alpha]) { dy in
            let xv = x.data, g = dy.data
            let dx = makeTensor(x.shape) { i in
                let r = xv[i] / c
                let inside = isSign ? Swift.abs(r) <= 1 : (r >= qn && r <= qp)
                return inside ? g[i] : 0
            }
            let stepSum = parallelSum(x.count) { i in
                let r = xv[i] / c
                let term: Float
                if isSign {
                    term = signum(xv[i]) - (Swift.abs(r) <= 1 ? r : 0)
                } else if r < qn {
                    term = qn
                } else if r > qp {
                    term = qp
                } else {
                    term = roundHalfEven(r) - r
                }
                return Double(g[i]) * Double(term)
            }
            return [dx, Tensor(Float(stepSum * gradScale))]
        }
    }

    public override func straightThroughFraction(of x: Tensor) -> Double? {
        let c = GSB.floored(alpha.item())
        let inside = parallelSum(x.count) { i in
            let r = x.data[i] / c
            return (isSign ? Swift.abs(r) <= 1 : (r >= qn && r <= qp)) ? 1 : 0
        }
        return inside / Double(Swift.max(x.count, 1))
    }
}
