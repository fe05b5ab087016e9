import BitViTModels
import BitViTQuant

/// Recipe settings of Q-ViT's distribution-guided distillation (`loss.dgd`, docs/reference/qvit.md §6.2).
public struct DGDConfig: Codable, Equatable, Sendable {
    /// Coefficient of the term in the total loss (0: off). The paper adds DGD with coefficient 1.
    public var weight = 0.0
    /// How the per-(layer, head) distances combine.
    public var reduction = DGDReduction.sum
    /// `per_sample_head` (one normalized Gram matrix per sample and head, the default) or
    /// `per_layer` (BiBERT's variant).
    public var normalization = DGDNormalization.perSampleHead
    /// Student queries and keys `before_quantizer` (Q-ViT's q̃, k̃ after the IRM) or
    /// `after_quantizer` (dequantized; gradients then reach the quantizer scales too).
    public var tap = DGDTap.beforeQuantizer

    public init() {}
}

/// How DGD's distances are combined over layers, heads and {q, k}.
public enum DGDReduction: String, Codable, Sendable, CaseIterable {
    /// `Σ_l Σ_h (D_q + D_k)`, the paper's formula (docs/reference/qvit.md §6.2); grows with depth × heads.
    case sum
    /// The same divided by `2·L·H` (per-layer normalization: by `2·L`): a mean distance in
    /// [0, 2] whose size does not depend on the architecture.
    case mean
}

public enum DGDNormalization: String, Codable, Sendable, CaseIterable {
    case perSampleHead = "per_sample_head"
    case perLayer = "per_layer"

    var method: DistributionGuidedDistillation.Normalization {
        self == .perSampleHead ? .perSampleHead : .perLayer
    }
}

public enum DGDTap: String, Codable, Sendable, CaseIterable {
    case beforeQuantizer = "before_quantizer"
    case afterQuantizer = "after_quantizer"

    var queryKeyTap: QueryKeyTap { self == .beforeQuantizer ? .beforeQuantizer : .afterQuantizer }
}

/// Q-ViT's distribution-guided distillation as a loss term (`dgd` in the metrics): the
/// distance between the normalized patch-similarity matrices of the student's and the
/// teacher's per-head queries and keys in every block (`DistributionGuidedDistillation`).
/// Student and teacher need the same depth and token count (a distilled student needs a
/// distilled teacher: both carry cls and dist tokens).
public final class DistributionGuidedDistillationLoss: LossTerm {
    public let name = "dgd"
    public let reduction: DGDReduction
    public let normalization: DGDNormalization
    public let tap: DGDTap

    public init(reduction: DGDReduction = .sum, normalization: DGDNormalization = .perSampleHead,
                tap: DGDTap = .beforeQuantizer) {
        self.reduction = reduction
        self.normalization = normalization
        self.tap = tap
    }

    public convenience init(_ config: DGDConfig) {
        self.init(reduction: config.reduction, normalization: config.normalization, tap: config.tap)
    }

    public var queryKeyTap: QueryKeyTap? { tap.queryKeyTap }

    public func prepare(student: any ImageClassifier, teacher: Teacher?) throws {
        guard student is any QueryKeyReporting else {
            throw BitViTError.invalidArgument("DGD needs a student that reports attention queries and keys; \(type(of: student)) does not")
        }
        guard let teacher else { throw BitViTError.invalidArgument("DGD needs a teacher (set loss.distillation.teacher)") }
        guard teacher.model is any QueryKeyReporting else {
            throw BitViTError.invalidArgument("DGD needs a teacher that reports attention queries and keys; \(type(of: teacher.model)) does not")
        }
    }

    public func loss(_ context: LossContext) throws -> Tensor {
        guard let student = context.studentQueriesKeys, let teacher = context.teacherQueriesKeys else {
            throw BitViTError.invalidArgument("DGD: the step recorded no queries and keys (is a teacher configured?)")
        }
        guard student.count == teacher.count, !student.isEmpty else {
            throw BitViTError.shapeMismatch("DGD: the student has \(student.count) attention blocks, the teacher \(teacher.count)")
        }
        for (s, t) in zip(student, teacher) where Array(s.queries.shape.dropLast()) != Array(t.queries.shape.dropLast()) {
            throw BitViTError.shapeMismatch("DGD: student queries \(s.queries.shape) and teacher queries \(t.queries.shape) differ in batch, heads or tokens")
        }
        let total = DistributionGuidedDistillation.loss(student: student, teacher: teacher,
                                                        normalization: normalization.method)
        switch reduction {
        case .sum:
            return total
        case .mean:
            let heads = normalization == .perSampleHead ? student[0].queries.shape[1] : 1
            return total * (1 / Float(2 * student.count * heads))
        }
    }
}
