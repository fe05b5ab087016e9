/// Group superposition binarization of the attention matrix, GSB_A (docs/reference/gsb.md §4.5): one
/// unsigned 1-bit LSQ group plus K−1 pure mask groups.
///
/// With `M = max(A)` over the whole tensor (batch included; must be > 0) and thresholds
/// `t_1 < … < t_{K−1}` (default 0.7, 0.9), `T_k = [A > t_k·M]`. Forward:
/// `y = c_1·clamp(round(A/c_1), 0, 1) + Σ_{k≥1} c_{k+1}·T_k`, floored scales `c`. Outputs are
/// ≥ 0 and monotone in A. K = 1 is the unsigned binarizer UB.
///
/// Backward, as the official code: `r = A/c_1`, `I = [0 ≤ r ≤ 1]`,
/// `dA = dy·(I + Σ c_{k+1}·T_k)` (each mask group acts as `c_{k+1}` times an identity STE),
/// `dalpha_1 = Σ dy·([r > 1] + I·(round(r) − r))/√numel`,
/// `dalpha_{k+1} = Σ dy·T_k/√|T_k|` (an empty mask gives 0).
///
/// Lazy initialization (`.whileScalesAreOne`): `alpha_1 = 4·mean|A|`;
/// `alpha_{k+1} = 4·Σ_{band} A / Σ_{band} sgn(A)` over the band `T_k \ T_{k+1}`, computed as
/// differences of masked sums. First-call subtraction as `GSBValueQuantizer`.
public final class GSBAttentionQuantizer: Quantizer {
    let groups: GroupSuperposition

    /// The learnable group scales `alpha1 … alphaK`, rank 0 each.
    public var scales: [Tensor] { groups.scales }
    public var thresholds: [Float] { groups.thresholds }

    public init(groups count: Int = 3, thresholds: [Float]? = nil, subtractsOnFirstCall: Bool = true) {
        groups = GroupSuperposition(groups: count, thresholds: thresholds ?? GSB.defaultThresholds(groups: count),
                                    subtractsOnFirstCall: subtractsOnFirstCall)
        super.init(bitWidth: 1, scaleInitialization: .whileScalesAreOne)
        groups.register(on: self)
    }

    public override func initializeScales(from a: Tensor) {
        let (upper, lower) = groups.bounds(max: a.extremes.max, min: nil)
        let k = groups.groups
        let p = a.data
        groups.scales[0].data[0] = Float(4 * a.meanAbsolute)
        guard k > 1 else { return }
        // ΣA·T_k and Σsgn(A·T_k) for k = 1 … K−1, plus an empty T_K.
        var sum = [Double](repeating: 0, count: k + 1)
        var signs = [Double](repeating: 0, count: k + 1)
        for i in 0..<a.count {
            for g in 1..<k where inGroup(p[i], g - 1, upper, lower) {
                sum[g] += Double(p[i])
                signs[g] += Double(signum(p[i]))
            }
        }
        var previous = groups.scales[0].item()
        for g in 1..<k {
            let count = signs[g] - signs[g + 1]
            // An empty band (NaN in the official code) keeps the previous group's value.
            let value = count != 0 ? Float(4 * (sum[g] - sum[g + 1]) / count) : previous
            groups.scales[g].data[0] = value
            previous = value
        }
    }

    public override func quantize(_ a: Tensor, initializing: Bool) -> Tensor {
        let c = groups.effectiveScales(initializing: initializing)
        let (upper, lower) = groups.bounds(max: a.extremes.max, min: nil)
        let k = c.count
        let y = Tensor(uninitialized: a.shape)
        let src = a.data, dst = y.data
        forEachWorkerRange(a.count) { _, range in
            for i in range {
                let x = src[i]
                var value = c[0] * Swift.min(Swift.max(roundHalfEven(x / c[0]), 0), 1)
                for g in 1..<k where inGroup(x, g - 1, upper, lower) { value += c[g] }
                dst[i] = value
            }
        }
        let count = a.count
        return Autograd.record(y, op: "gsbAttention", inputs: [a] + groups.scales) { dy in
            let da = Tensor(uninitialized: a.shape)
            let xv = a.data, g = dy.data, d = da.data
            // Channel 0: the first group's step terms; channel j: Σ_{T_j} dy; channel k + j: |T_j|.
            let sums = PartialSums(workers: workerCount(units: count, elementsPerUnit: 1), channels: 2 * k)
            forEachWorkerRange(count) { w, range in
                var local = [Double](repeating: 0, count: 2 * k)
                for i in range {
                    let x = xv[i], gi = Double(g[i])
                    let r = x / c[0]
                    var slope: Float = r >= 0 && r <= 1 ? 1 : 0
                    local[0] += gi * Double(r > 1 ? 1 : (r >= 0 ? roundHalfEven(r) - r : 0))
                    for j in 1..<k where inGroup(x, j - 1, upper, lower) {
                        slope += c[j]
                        local[j] += gi
                        local[k + j] += 1
                    }
                    d[i] = g[i] * slope
                }
                for j in 0..<(2 * k) { sums.add(local[j], worker: w, channel: j) }
            }
            var scaleGrads: [Tensor?] = [Tensor(Float(sums.total(channel: 0) / Double(count).squareRoot()))]
            for j in 1..<k {
                let members = sums.total(channel: k + j)
                scaleGrads.append(Tensor(members > 0 ? Float(sums.total(channel: j) / members.squareRoot()) : 0))
            }
            return [da] + scaleGrads
        }
    }

    /// Fraction of elements inside group 1's window `0 ≤ A ≤ c_1`.
    public override func straightThroughFraction(of a: Tensor) -> Double? {
        let c = GSB.floored(groups.scales[0].item())
        return a.fraction { $0 / c >= 0 && $0 / c <= 1 }
    }
}
