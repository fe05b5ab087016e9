import BitViTModels
import CBitKernels

/// Global gradient-norm clipping without touching the gradients.
///
/// `globalNorm` is ‖(g₁, …, gₙ)‖₂ over every gradient (accumulated in double, in a fixed order,
/// so it does not depend on threading); `scale(maxNorm:globalNorm:)` is the factor PyTorch's
/// `clip_grad_norm_` would multiply the gradients by, `min(1, maxNorm/(norm + 1e-6))`. The
/// trainer hands that factor to the optimizer as `gradientScale`.
public enum GradientClipping {
    /// Euclidean norm of all gradients of `parameters` (parameters without a gradient count 0).
    public static func globalNorm(_ parameters: [Tensor]) -> Double {
        var sum = 0.0
        for p in parameters {
            guard let g = p.grad else { continue }
            sum += bv_dot_f32(g.data, g.data, g.count)
        }
        return sum.squareRoot()
    }

    /// The gradient multiplier that brings a global norm of `globalNorm` down to `maxNorm`
    /// (1 when it is already below).
    public static func scale(maxNorm: Double, globalNorm: Double) -> Float {
        precondition(maxNorm > 0, "clipping norm must be positive")
        let coefficient = maxNorm / (globalNorm + 1e-6)
        return coefficient < 1 ? Float(coefficient) : 1
    }
}
