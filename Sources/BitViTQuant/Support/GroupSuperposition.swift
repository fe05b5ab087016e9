/// The pieces GSB's value and attention quantizers share (docs/reference/gsb.md §4.4–4.5): nested magnitude
/// masks from fixed ratios of the tensor's extremes, and one learnable scalar per group.
struct GroupSuperposition {
    /// Ratios of the extreme value that open groups 2, 3, …, ascending.
    let thresholds: [Float]
    /// `alpha1 … alphaK` (rank 0, initial value 1).
    let scales: [Tensor]
    /// GSB's first-call quirk: on the initializing call only, group k uses
    /// `alpha_k − Σ_{j<k} local_j`, so the cumulative level of each band equals its stored
    /// value; the stored values are not changed.
    let subtractsOnFirstCall: Bool

    init(groups: Int, thresholds: [Float], subtractsOnFirstCall: Bool) {
        precondition(groups >= 1 && thresholds.count == groups - 1,
                     "group superposition: \(groups) groups need \(groups - 1) thresholds, got \(thresholds)")
        precondition(zip(thresholds, thresholds.dropFirst()).allSatisfy { $0 < $1 },
                     "group thresholds must ascend: \(thresholds)")
        self.thresholds = thresholds
        self.subtractsOnFirstCall = subtractsOnFirstCall
        scales = (1...groups).map { _ in Tensor(1) }
    }

    /// Registers the scales on `owner` as `alpha1 … alphaK`.
    func register(on owner: Module) {
        for (k, s) in scales.enumerated() { owner.parameter("alpha\(k + 1)", s) }
    }

    var groups: Int { scales.count }

    /// The floored scales this call uses (first-call subtraction applied when `initializing`).
    func effectiveScales(initializing: Bool) -> [Float] {
        var local: [Float] = []
        var cumulative: Float = 0
        for (k, s) in scales.enumerated() {
            let stored = s.item()
            let value = initializing && subtractsOnFirstCall && k > 0 ? stored - cumulative : stored
            cumulative += value
            local.append(value)
        }
        return local.map(GSB.floored)
    }

    /// Mask bounds for a tensor with extremes `max`/`min`: element v is in group k ≥ 1 when
    /// `v > upper[k−1]` or `v < lower[k−1]` (strict; `float32(t)·extreme`).
    func bounds(max: Float, min: Float?) -> (upper: [Float], lower: [Float]) {
        (thresholds.map { $0 * max }, thresholds.map { t in min.map { t * $0 } ?? -.infinity })
    }
}

/// Membership of one element in groups 1…K−1 under given bounds.
@inline(__always)
func inGroup(_ v: Float, _ k: Int, _ upper: [Float], _ lower: [Float]) -> Bool {
    v > upper[k] || v < lower[k]
}

extension Tensor {
    /// (max, min) over all elements; no autograd.
    var extremes: (max: Float, min: Float) {
        var hi = -Float.infinity, lo = Float.infinity
        let p = data
        for i in 0..<count {
            hi = Swift.max(hi, p[i])
            lo = Swift.min(lo, p[i])
        }
        return (hi, lo)
    }
}
