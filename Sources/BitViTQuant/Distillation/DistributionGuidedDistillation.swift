/// Q-ViT's distribution-guided distillation loss (DGD, docs/reference/qvit.md §6.2): an L2 distance between
/// the normalized patch-similarity (Gram) matrices of student and teacher queries and keys.
///
/// For every layer l, sample b and head h, with X the `[N, d]` slice of q (and of k):
/// `G = X·Xᵀ`, `Ĝ = G / max(‖G‖_F, eps)`, `D = ‖Ĝ_teacher − Ĝ_student‖_F` (not squared), and
/// `loss = Σ_l Σ_h (1/B)·Σ_b (D_q + D_k)`. Student and teacher may have different head
/// dimensions; N must agree. Gradients reach the student only; where D is exactly 0 its
/// gradient contribution is 0.
///
/// `.perLayer` is BiBERT's variant (the reference code an issue points to): `G = X·Xᵀ/√d`
/// normalized by the Frobenius norm of a layer's whole `[B, H, N, N]` tensor, and
/// `loss = Σ_l (D_q + D_k)` with D the Frobenius distance of those tensors.
public enum DistributionGuidedDistillation {
    public enum Normalization: String, Sendable {
        /// One Gram matrix per (sample, head), averaged over the batch (the default).
        case perSampleHead
        /// BiBERT: one normalization per layer, Gram matrices scaled by 1/√d.
        case perLayer
    }

    /// The loss for matching lists of per-layer queries and keys (`[B, H, N, d]` each; teacher
    /// `[B, H, N, d_t]`), as a rank-0 tensor.
    public static func loss(student: [QueryKeyPair], teacher: [QueryKeyPair],
                            normalization: Normalization = .perSampleHead, eps: Float = 1e-12) -> Tensor {
        precondition(student.count == teacher.count && !student.isEmpty,
                     "DGD: \(student.count) student layers vs \(teacher.count) teacher layers")
        var total: Tensor?
        for (s, t) in zip(student, teacher) {
            for (xs, xt) in [(s.queries, t.queries), (s.keys, t.keys)] {
                precondition(Array(xs.shape.dropLast()) == Array(xt.shape.dropLast()),
                             "DGD: student \(xs.shape) and teacher \(xt.shape) differ before the head dimension")
                let target = withNoGrad { normalizedGram(xt, normalization, eps) }
                let distance = distanceTerm(normalizedGram(xs, normalization, eps), target, normalization)
                total = total.map { $0 + distance } ?? distance
            }
        }
        return total!
    }

    private static func normalizedGram(_ x: Tensor, _ normalization: Normalization, _ eps: Float) -> Tensor {
        var gram = Tensor.matmul(x, x, transposeB: true)                     // [B, H, N, N]
        let axes = normalization == .perSampleHead ? [2, 3] : [0, 1, 2, 3]
        if normalization == .perLayer { gram = gram * (1 / Float(x.shape[3]).squareRoot()) }
        let norm = gram.l2Norm(axes: axes, keepDims: true)
        return gram / Tensor.maximum(norm, Tensor(eps))
    }

    private static func distanceTerm(_ student: Tensor, _ teacher: Tensor, _ normalization: Normalization) -> Tensor {
        switch normalization {
        case .perSampleHead:
            let d = (teacher - student).l2Norm(axes: [2, 3])                  // [B, H]
            return d.sum() * (1 / Float(student.shape[0]))
        case .perLayer:
            return (teacher - student).l2Norm()
        }
    }
}
