/// BHViT's quantization decomposition (QD) of the attention matrix as the official code
/// implements it (docs/reference/bhvit.md §5.2): an unsigned LSQ-style quantizer with a learnable step
/// `alpha_h` and a real (unrounded) zero point `zero_point_h` per head, to integer levels
/// `0 … Qp` with `Qp = 2^(bits−1) − 1` (3 for the default 3 bits).
///
/// The input is `x = 3·softmax(scores)`, `[B', H, T, T]` with the head on axis 1. Per head h:
/// `u = x/alpha_h + zero_point_h` (in this order, float32), `r = round(u)` (half to even),
/// `q = clamp(r, 0, Qp)`, `y = alpha_h·q = alpha_h·Σ_{σ=1…Qp} [q ≥ σ]` — the sum of `Qp`
/// nested binary planes that a deployment multiplies with the ±1 values by bit operations.
///
/// Backward, with the mask on the *rounded* value `M = [0 ≤ r ≤ Qp]` and the LSQ gradient
/// scale `s = H/√(numel(x)·Qp)` (numel includes the batch):
/// `dx = dy·M`; `dalpha_h = s·Σ_h dy·(q − M·x/alpha_h)`; `dzero_point_h = s·Σ_h dy·alpha_h·M`.
///
/// Data-dependent initialization on the first training-mode call (`init_state`, persistent):
/// `alpha_h = 2·mean_h|x|/√Qp`, `zero_point_h = 0.9·zero_point_h + 0.1·min_h(x)`. Evaluation
/// before any training call keeps `alpha = 1`, `zero_point = 0`, i.e. `round(3A)`.
///
/// Parameters `alpha` `[H]` (init 1), `zero_point` `[H]` (init 0); buffer `init_state`.
public final class QDAttentionQuantizer: Quantizer {
    public let heads: Int
    public var bits: Int { bitWidth }
    /// The largest level, `2^(bits−1) − 1`.
    public let qp: Float
    /// Per-head step, `[heads]`.
    public let alpha: Tensor
    /// Per-head real zero point, `[heads]`.
    public let zeroPoint: Tensor

    public init(heads: Int, bits: Int = 3) {
        precondition(heads >= 1 && bits >= 2 && bits <= 16, "QDAttentionQuantizer: \(heads) heads, \(bits) bits")
        self.heads = heads
        qp = Float((1 << (bits - 1)) - 1)
        alpha = Tensor.ones([heads])
        zeroPoint = Tensor.zeros([heads])
        super.init(bitWidth: bits, scaleInitialization: .firstTrainingCall)
        parameter("alpha", alpha)
        parameter("zero_point", zeroPoint)
    }

    private func layout(_ x: Tensor) -> ChannelLayout {
        precondition(x.rank >= 2, "QDAttentionQuantizer: input \(x.shape) has no head axis")
        let l = ChannelLayout(shape: x.shape, axis: 1)
        precondition(l.channels == heads, "QDAttentionQuantizer: \(heads) heads for input \(x.shape)")
        return l
    }

    public override func initializeScales(from x: Tensor) {
        let l = layout(x)
        let meanAbs = l.meanAbsolutePerChannel(x)
        let low = l.minimumPerChannel(x)
        let root = Double(qp).squareRoot()
        for h in 0..<heads {
            alpha.data[h] = Float(2 * meanAbs[h] / root)
            zeroPoint.data[h] = 0.9 * zeroPoint.data[h] + 0.1 * low[h]
        }
    }

    public override func quantize(_ x: Tensor, initializing: Bool) -> Tensor {
        let l = layout(x)
        let step = alpha.scalars, zero = zeroPoint.scalars, qp = qp, heads = heads
        let blocks = l.outer * l.channels, inner = l.inner
        let y = Tensor(uninitialized: x.shape)
        let src = x.data, dst = y.data
        Parallel.forEach(blocks, minimumPerThread: Swift.max(1, elementwiseGrain / Swift.max(inner, 1))) { b in
            let h = b % heads, a = step[h], z = zero[h]
            for i in (b * inner)..<((b + 1) * inner) {
                dst[i] = a * Swift.min(Swift.max(roundHalfEven(src[i] / a + z), 0), qp)
            }
        }
        let gradScale = Double(heads) / (Double(x.count) * Double(qp)).squareRoot()
        return Autograd.record(y, op: "qdAttention", inputs: [x, alpha, zeroPoint]) { dy in
            let dx = Tensor(uninitialized: x.shape)
            let xv = x.data, g = dy.data, d = dx.data
            // Per-block partial sums of the step and zero-point terms, combined per head after.
            var stepTerms = [Double](repeating: 0, count: blocks), zeroTerms = [Double](repeating: 0, count: blocks)
            stepTerms.withUnsafeMutableBufferPointer { st in
                zeroTerms.withUnsafeMutableBufferPointer { zt in
                    Parallel.forEach(blocks, minimumPerThread: Swift.max(1, elementwiseGrain / Swift.max(inner, 1))) { b in
                        let h = b % heads, a = step[h], z = zero[h]
                        // Branch-free: `inside` is a 0/1 mask; float sums per block of T·T.
                        var sa: Float = 0, sz: Float = 0
                        for i in (b * inner)..<((b + 1) * inner) {
                            let ratio = xv[i] / a
                            let r = roundHalfEven(ratio + z)
                            let inside: Float = (r >= 0 ? 1 : 0) * (r <= qp ? 1 : 0)
                            d[i] = g[i] * inside
                            let q = Swift.min(Swift.max(r, 0), qp)
                            sa += g[i] * (q - inside * ratio)
                            sz += g[i] * inside
                        }
                        st[b] = Double(sa)
                        zt[b] = Double(sz) * Double(a)
                    }
                }
            }
            var perHeadStep = [Double](repeating: 0, count: heads), perHeadZero = [Double](repeating: 0, count: heads)
            for b in 0..<blocks {
                perHeadStep[b % heads] += stepTerms[b]
                perHeadZero[b % heads] += zeroTerms[b]
            }
            return [dx, Tensor(shape: [heads], scalars: perHeadStep.map { Float($0 * gradScale) }),
                    Tensor(shape: [heads], scalars: perHeadZero.map { Float($0 * gradScale) })]
        }
    }

    /// Fraction of elements whose rounded level lies in `0 … Qp` (the input gradient passes).
    public override func straightThroughFraction(of x: Tensor) -> Double? {
        let l = layout(x)
        let step = alpha.scalars, zero = zeroPoint.scalars
        var inside = 0
        for b in 0..<(l.outer * l.channels) {
            let h = b % l.channels
            for i in (b * l.inner)..<((b + 1) * l.inner) {
                let r = roundHalfEven(x.data[i] / step[h] + zero[h])
                if r >= 0 && r <= qp { inside += 1 }
            }
        }
        return Double(inside) / Double(Swift.max(x.count, 1))
    }
}
