import Foundation

/// BHViT's weight binarizer for `BinLinear` and `BinConv` (docs/reference/bhvit.md §3.3, §6.2–6.3): one scale
/// and one centre per output channel (each index of axis 0, a "row"), a clipped
/// straight-through estimator on the centred weight, and a row-centred gradient.
///
/// Forward, per row o with `n` elements: `a_o = mean|W[o]|` (from the *uncentred* weight, no
/// gradient), `Wc = W − mean(W[o])`, `y = a_o·sgn(Wc)` (sgn(0) = 0).
///
/// Backward (`.clipped`, the released models): `G = dy·[|Wc| ≤ 1]`, `dW = G − mean_row(G)`.
/// The centring is differentiable in the official code, so a gradient that is uniform along a
/// row vanishes. The scale `a_o` does not multiply the gradient.
///
/// Backward (`.recu`, the code's `--recu` flag, off in the released script): the
/// straight-through window is applied to the standardised weight
/// `Wc' = Wc·2√2/σ_o`, `σ_o = √(var_unbiased(Wc[o]) + 1e−5)`, clipped at
/// `τ = −ln(2 − 2·0.92)·mean|Wc'|` (whole tensor, detached), and the gradient flows through
/// the standardisation and the centring. The forward value is the same as `.clipped`.
///
/// Works on any weight shape with rows on axis 0: `[out, in]` or `[out, in/groups, kh, kw]`.
/// No learnable parameters.
public final class RowCenteredBinaryWeightQuantizer: Quantizer {
    public enum Estimator: String, Sendable {
        /// Clipped identity on the centred weight, window `|Wc| ≤ 1`.
        case clipped
        /// ReCU's window `|Wc'| ≤ τ` on the row-standardised weight.
        case recu
    }

    public let estimator: Estimator

    public init(estimator: Estimator = .clipped) {
        self.estimator = estimator
        super.init(bitWidth: 1)
    }

    /// Per-row scale `a_o` and centre `mean(W[o])` (float32 values of double accumulations).
    private func rowStatistics(_ w: Tensor) -> (scale: [Float], center: [Float], rows: Int, n: Int) {
        let rows = w.shape[0], n = w.count / Swift.max(rows, 1)
        let layout = ChannelLayout(shape: w.shape, axis: 0)
        let scale = layout.meanAbsolutePerChannel(w).map { Float($0) }
        let center = layout.sumPerChannel(w).map { Float($0 / Double(Swift.max(n, 1))) }
        return (scale, center, rows, n)
    }

    public override func quantize(_ w: Tensor, initializing: Bool) -> Tensor {
        precondition(w.rank >= 2, "RowCenteredBinaryWeightQuantizer: weight \(w.shape) has no rows")
        let (scale, center, rows, n) = rowStatistics(w)
        let y = Tensor(uninitialized: w.shape)
        let src = w.data, dst = y.data
        Parallel.forEach(rows, minimumPerThread: Swift.max(1, elementwiseGrain / Swift.max(n, 1))) { o in
            let a = scale[o], m = center[o]
            for i in (o * n)..<((o + 1) * n) { dst[i] = a * signum(src[i] - m) }
        }
        let estimator = estimator
        return Autograd.record(y, op: "rowCenteredBinaryWeight.\(estimator.rawValue)", inputs: [w]) { dy in
            switch estimator {
            case .clipped: return [Self.clippedGradient(w, center: center, dy: dy)]
            case .recu: return [Self.recuGradient(w, center: center, dy: dy)]
            }
        }
    }

    /// `G − mean_row(G)` with `G = dy·[|Wc| ≤ 1]`.
    private static func clippedGradient(_ w: Tensor, center: [Float], dy: Tensor) -> Tensor {
        let rows = w.shape[0], n = w.count / rows
        let dw = Tensor(uninitialized: w.shape)
        let x = w.data, g = dy.data, d = dw.data
        Parallel.forEach(rows, minimumPerThread: Swift.max(1, elementwiseGrain / Swift.max(n, 1))) { o in
            let m = center[o]
            var sum = 0.0
            for i in (o * n)..<((o + 1) * n) {
                let v: Float = Swift.abs(x[i] - m) <= 1 ? g[i] : 0
                d[i] = v
                sum += Double(v)
            }
            let mean = Float(sum / Double(n))
            for i in (o * n)..<((o + 1) * n) { d[i] -= mean }
        }
        return dw
    }

    /// ReCU's window on the standardised weight, back-propagated through the standardisation
    /// `Wc' = k·Wc/σ` and the centring. With `g' = dy·[|Wc'| ≤ τ]`, `μ = mean(Wc[o])` and
    /// `S = Σ_j g'_j·Wc_j` over the row: `dWc_i = (k/σ)·(g'_i − (Wc_i − μ)·S/(σ²·(n − 1)))`, then
    /// `dW = dWc − mean_row(dWc)`.
    private static func recuGradient(_ w: Tensor, center: [Float], dy: Tensor) -> Tensor {
        let window = ReCUWindow(w, center: center)
        let rows = w.shape[0], n = w.count / rows
        let x = w.data, g = dy.data
        let dw = Tensor(uninitialized: w.shape)
        let d = dw.data
        let k = ReCUWindow.k, bessel = Double(Swift.max(n - 1, 1))
        var local = [Double](repeating: 0, count: n)
        for o in 0..<rows {
            let s = window.sigma[o]
            var dot = 0.0
            for i in (o * n)..<((o + 1) * n) where window.contains(x[i], row: o) {
                dot += Double(g[i]) * Double(x[i] - center[o])
            }
            var rowSum = 0.0
            for j in 0..<n {
                let i = o * n + j
                let wc = Double(x[i] - center[o])
                let gi = window.contains(x[i], row: o) ? Double(g[i]) : 0
                local[j] = k / s * (gi - (wc - window.mu[o]) * dot / (s * s * bessel))
                rowSum += local[j]
            }
            let mean = rowSum / Double(n)
            for j in 0..<n { d[o * n + j] = Float(local[j] - mean) }
        }
        return dw
    }

    /// Fraction of weights inside the clipping window `|Wc| ≤ 1` (`.clipped`) or `|Wc'| ≤ τ`
    /// (`.recu`).
    public override func straightThroughFraction(of w: Tensor) -> Double? {
        let (_, center, rows, n) = rowStatistics(w)
        let recu = estimator == .recu ? ReCUWindow(w, center: center) : nil
        var inside = 0
        for o in 0..<rows {
            for i in (o * n)..<((o + 1) * n) {
                let passes = recu?.contains(w.data[i], row: o) ?? (Swift.abs(w.data[i] - center[o]) <= 1)
                if passes { inside += 1 }
            }
        }
        return Double(inside) / Double(Swift.max(w.count, 1))
    }
}

/// ReCU's standardisation of the centred weight (docs/reference/bhvit.md §6.3): `Wc' = k·Wc/σ_o` with
/// `k = 2√2`, `σ_o = √(var_unbiased(Wc[o]) + 1e−5)`, and the window bound
/// `τ = −ln(2 − 2·0.92)·mean|Wc'|` over the whole tensor.
private struct ReCUWindow {
    static let k = 2 * Double(2).squareRoot()
    /// Per-row mean of the centred weight (0 up to rounding; the variance uses it).
    let mu: [Double]
    let sigma: [Double]
    let tau: Double
    let center: [Float]

    init(_ w: Tensor, center: [Float]) {
        let rows = w.shape[0], n = w.count / rows
        let x = w.data
        var mu = [Double](repeating: 0, count: rows), sigma = [Double](repeating: 0, count: rows)
        var absSum = 0.0
        for o in 0..<rows {
            var s = 0.0
            for i in (o * n)..<((o + 1) * n) { s += Double(x[i] - center[o]) }
            let m = s / Double(n)
            var ss = 0.0
            for i in (o * n)..<((o + 1) * n) { let c = Double(x[i] - center[o]) - m; ss += c * c }
            mu[o] = m
            sigma[o] = (ss / Double(Swift.max(n - 1, 1)) + 1e-5).squareRoot()
            for i in (o * n)..<((o + 1) * n) { absSum += Swift.abs(Double(x[i] - center[o])) * Self.k / sigma[o] }
        }
        self.mu = mu
        self.sigma = sigma
        self.center = center
        tau = -log(2 - 2 * 0.92) * absSum / Double(Swift.max(w.count, 1))
    }

    /// Whether weight value `x` of row `o` lies in the window `|Wc'| ≤ τ` (bounds included).
    @inline(__always)
    func contains(_ x: Float, row o: Int) -> Bool {
        Swift.abs(Double(x - center[o]) * Self.k / sigma[o]) <= tau
    }
}
