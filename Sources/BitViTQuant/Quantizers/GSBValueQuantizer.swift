/// Group superposition binarization of the Value tensor, GSB_V (docs/reference/gsb.md §4.4): a sum of K
/// signed binary groups with nested magnitude masks.
///
/// With `M = max(v)`, `m = min(v)` over the whole tensor (batch included) and thresholds
/// `t_1 < … < t_{K−1}` (default 0.7, 0.9), group 1 covers every element and group k+1 the
/// mask `T_k = [v > t_k·M] + [v < t_k·m]`. Forward:
/// `y = Σ_k c_k·sgn(v·T_k) = sgn(v)·(c_1 + c_2·T_1 + …)`, with floored scales `c_k`
/// (see `ElasticQuantizer`). K = 1 is the plain signed binarizer `c_1·sgn(v)`.
///
/// Backward, as the official code (docs/reference/gsb.md §4.4 quirk: outside `T_k`, `r_k = 0` so its window
/// passes, and the input gradient there is never zero):
/// `r_k = v·T_k/c_k`, `I_k = [|r_k| ≤ 1]`, `dv = dy·Σ_k I_k`,
/// `dalpha_k = Σ dy·(sgn(v·T_k) − I_k·r_k)/√|T_k|` (`|T_0| = numel`; an empty mask gives 0).
///
/// Lazy initialization (`.whileScalesAreOne`), per band `B_k = T_{k−1} \ T_k`:
/// `alpha_k = 2·Σ_{B_k}|v| / nnz(v on B_k)`, computed as differences of the masked sums as the
/// official code does. On that first call only the scales are used as
/// `alpha_k − Σ_{j<k} local_j` unless `subtractsOnFirstCall` is false.
public final class GSBValueQuantizer: Quantizer {
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

    public override func initializeScales(from v: Tensor) {
        let (upper, lower) = boundsFor(v)
        let k = groups.groups
        // Σ|v·T_k| and nnz(v·T_k) for k = 0 (all elements) … K−1.
        var absSum = [Double](repeating: 0, count: k + 1)
        var nonZero = [Double](repeating: 0, count: k + 1)
        let p = v.data
        for i in 0..<v.count where p[i] != 0 {
            let a = Double(Swift.abs(p[i]))
            absSum[0] += a
            nonZero[0] += 1
            for g in 1..<k where inGroup(p[i], g - 1, upper, lower) {
                absSum[g] += a
                nonZero[g] += 1
            }
        }
        var previous: Float = 1
        for g in 0..<k {
            let count = nonZero[g] - nonZero[g + 1]
            // An empty band (NaN in the official code) keeps the previous group's value.
            let value = count > 0 ? Float(2 * (absSum[g] - absSum[g + 1]) / count) : previous
            groups.scales[g].data[0] = value
            previous = value
        }
    }

    public override func quantize(_ v: Tensor, initializing: Bool) -> Tensor {
        let c = groups.effectiveScales(initializing: initializing)
        let (upper, lower) = boundsFor(v)
        let k = c.count
        let y = Tensor(uninitialized: v.shape)
        let src = v.data, dst = y.data
        forEachWorkerRange(v.count) { _, range in
            for i in range {
                let x = src[i]
                var level = c[0]
                for g in 1..<k where inGroup(x, g - 1, upper, lower) { level += c[g] }
                dst[i] = signum(x) * level
            }
        }
        let count = v.count
        return Autograd.record(y, op: "gsbValue", inputs: [v] + groups.scales) { dy in
            let dv = Tensor(uninitialized: v.shape)
            let xv = v.data, g = dy.data, d = dv.data
            // Channel j: Σ dy·(sgn(v·T_j) − I_j·r_j); channel k + j: |T_j|.
            let sums = PartialSums(workers: workerCount(units: count, elementsPerUnit: 1), channels: 2 * k)
            forEachWorkerRange(count) { w, range in
                var local = [Double](repeating: 0, count: 2 * k)
                for i in range {
                    let x = xv[i], gi = Double(g[i])
                    let r0 = x / c[0]
                    let inside0 = Swift.abs(r0) <= 1
                    var passes: Float = inside0 ? 1 : 0
                    local[0] += gi * Double(signum(x) - (inside0 ? r0 : 0))
                    for j in 1..<k {
                        guard inGroup(x, j - 1, upper, lower) else {
                            passes += 1                 // v·T_j = 0: its window passes (see the type's comment)
                            continue
                        }
                        let r = x / c[j]
                        let inside = Swift.abs(r) <= 1
                        if inside { passes += 1 }
                        local[j] += gi * Double(signum(x) - (inside ? r : 0))
                        local[k + j] += 1
                    }
                    d[i] = g[i] * passes
                }
                for j in 0..<(2 * k) { sums.add(local[j], worker: w, channel: j) }
            }
            let scaleGrads: [Tensor?] = (0..<k).map { j in
                let members = j == 0 ? Double(count) : sums.total(channel: k + j)
                return Tensor(members > 0 ? Float(sums.total(channel: j) / members.squareRoot()) : 0)
            }
            return [dv] + scaleGrads
        }
    }

    /// Fraction of elements inside group 1's window `|v| ≤ c_1`.
    public override func straightThroughFraction(of v: Tensor) -> Double? {
        let c = GSB.floored(groups.scales[0].item())
        return v.fraction { Swift.abs($0 / c) <= 1 }
    }

    private func boundsFor(_ v: Tensor) -> (upper: [Float], lower: [Float]) {
        let (hi, lo) = v.extremes
        return groups.bounds(max: hi, min: lo)
    }
}
