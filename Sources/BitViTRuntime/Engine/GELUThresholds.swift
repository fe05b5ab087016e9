import CBitKernels

/// GSB's fc2 input, `UB(clip(GELU(h)) + s_j)` with step α (docs/reference/gsb.md §4.3, §5.2), folded into
/// thresholds on the fc1 output h itself, so the binary path packs h directly and never
/// evaluates GELU (the largest float cost of the MLP at batch 1):
///
///     bit_j(h) = [round((clip(GELU(h)) + s_j)/α) ≥ 1] = [h > above_j] ∨ [h < below_j]
///
/// GELU falls from 0 to its minimum at h ≈ −0.7518 and rises after, so the set where the bit is
/// 1 is a right ray plus, when the threshold lies below 0, a left ray. The two bounds are
/// found per channel by bisection over float32 values of the predicate computed with the very
/// float GELU (`bv_gelu_forward_f32`), clip, addition and division the training graph uses, so
/// the fold agrees with it for every input at which that float GELU is monotone on each branch.
public enum GELUThresholds {
    /// Where GELU has its minimum.
    static let argmin: Float = -0.75179

    /// Bounds per channel for shifts `shift` (s_j), step `step` (α) and clip.
    static func make(shift: [Float], step: Float, clip: Float?) -> (above: [Float], below: [Float]) {
        var above = [Float](repeating: 0, count: shift.count), below = above
        for (j, s) in shift.enumerated() {
            func fires(_ h: Float) -> Bool {
                var x = h, g: Float = 0
                bv_gelu_forward_f32(&x, &g, 1)
                if let clip { g = min(max(g, -clip), clip) }
                return ((g + s) / step).rounded(.toNearestOrEven) >= 1
            }
            let far: Float = 1e4
            if fires(argmin) {                      // the minimum fires: every h does
                (above[j], below[j]) = (-.infinity, -.infinity)
                continue
            }
            // Firing lies beyond the last quiet value on either side.
            above[j] = fires(far) ? boundary(from: argmin, to: far, fires) : .infinity
            below[j] = fires(-far) ? boundary(from: argmin, to: -far, fires) : -.infinity
        }
        return (above, below)
    }

    /// Where `GELU(h)` is negative and where positive, as `bv_gelu_forward_f32` evaluates it in
    /// float32: negative exactly on [`negativeFrom`, `negativeThrough`], positive exactly from
    /// `positiveFrom` on, zero elsewhere. Below about −5.7 the float erf reaches −1 and GELU is
    /// −0; for denormal h, h/2 rounds to ±0.
    public struct SignBounds: Equatable, Sendable {
        public var negativeFrom: Float
        public var negativeThrough: Float
        public var positiveFrom: Float
    }

    /// The W1A1 baseline's fc2 input `sgn(clip(GELU(h)))` (sgn(0) = 0) as bounds on h. Clipping
    /// to ±clip keeps every sign when clip > 0; nil (no fold) otherwise, or if GELU did not have
    /// the one negative and one positive stretch the bounds describe. The fold agrees with
    /// GELU-then-sign for every finite h at which the float GELU changes sign only at the bounds
    /// (tests sweep every float around them), and for NaN (packed as 0); −∞, where GELU is NaN,
    /// cannot come out of a binary GEMM with finite scales.
    public static func signBounds(clip: Float?) -> SignBounds? {
        if let clip, !(clip > 0) { return nil }
        // 64 equal lanes: the vectorized body of the GELU loop, as the engine's rows run it.
        func gelu(_ h: Float) -> Float {
            var x = [Float](repeating: h, count: 64), g = x
            bv_gelu_forward_f32(&x, &g, 64)
            return g[0]
        }
        let far: Float = 1e4
        guard gelu(argmin) < 0, gelu(far) > 0, gelu(0) == 0 else { return nil }
        let negative = { (h: Float) in gelu(h) < 0 }, positive = { (h: Float) in gelu(h) > 0 }
        let negativeFrom = negative(-far) ? -Float.infinity : boundary(from: -far, to: argmin, negative).nextUp
        let negativeThrough = boundary(from: 0, to: argmin, negative).nextDown
        let positiveFrom = boundary(from: 0, to: far, positive).nextUp
        return SignBounds(negativeFrom: negativeFrom, negativeThrough: negativeThrough, positiveFrom: positiveFrom)
    }

    /// The last value from `quiet` (not firing) toward `loud` (firing) that does not fire,
    /// assuming one switch between them.
    private static func boundary(from quiet: Float, to loud: Float, _ fires: (Float) -> Bool) -> Float {
        var q = quiet, l = loud
        while true {
            let mid = q / 2 + l / 2
            if mid == q || mid == l { return q }
            if fires(mid) { l = mid } else { q = mid }
        }
    }
}
