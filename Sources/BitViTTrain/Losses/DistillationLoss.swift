import Foundation
import BitViTModels
import CBitKernels

/// The student logits a distillation term supervises: the distillation head's when the model
/// has one (DeiT), otherwise the class logits (BHViT, GSB without a distillation token).
func distillationLogits(_ output: ClassifierOutput) -> Tensor {
    output.distillationLogits ?? output.logits
}

/// DeiT hard distillation: cross-entropy of the distillation head against the teacher's
/// arg-max class, `CE(z_dist, argmax z_t)` (docs/reference/gsb.md §6.1, docs/reference/qvit.md §6.1). The recipe's `alpha`
/// weights it against the class-token cross-entropy: `(1−α)·CE(z_cls, y) + α·CE(z_dist, ŷ_t)`.
public final class HardDistillationLoss: LossTerm {
    public let name = "distill"

    public init() {}

    public func loss(_ context: LossContext) throws -> Tensor {
        let teacher = try context.requireTeacherLogits(for: name)
        let student = distillationLogits(context.studentOutput)
        guard teacher.shape == student.shape else {
            throw BitViTError.shapeMismatch("teacher logits \(teacher.shape) vs student \(student.shape)")
        }
        return Tensor.crossEntropy(logits: student, labels: Evaluator.predictions(teacher))
    }
}

/// Soft distillation: `τ²·KL(softmax(z_t/τ) ‖ softmax(z_s/τ))` on the distillation head.
///
/// `KL = Σ_c p_t,c·(log p_t,c − log p_s,c)` summed over the batch and divided according to
/// `reduction`. DeiT (and GSB's code, docs/reference/gsb.md §6.1) divide by the number of logits `B·C`
/// (`reduction='sum'` then `/ outputs_kd.numel()`); `batch` divides by `B`, the textbook KL.
/// The gradient is `τ·(p_s − p_t)/N` with `N` the divisor.
public final class SoftDistillationLoss: LossTerm {
    /// What the summed KL is divided by.
    public enum Reduction: String, Codable, Sendable, CaseIterable {
        /// `B·C`, as DeiT's `DistillationLoss` does.
        case numel
        /// `B` (batch mean of the per-sample KL).
        case batch
    }

    public let name = "distill"
    public let temperature: Float
    public let reduction: Reduction

    public init(temperature: Float = 1, reduction: Reduction = .numel) {
        precondition(temperature > 0, "distillation temperature must be positive")
        self.temperature = temperature
        self.reduction = reduction
    }

    public func loss(_ context: LossContext) throws -> Tensor {
        let teacher = try context.requireTeacherLogits(for: name)
        let student = distillationLogits(context.studentOutput)
        guard teacher.shape == student.shape else {
            throw BitViTError.shapeMismatch("teacher logits \(teacher.shape) vs student \(student.shape)")
        }
        return Self.divergence(student: student, teacher: teacher, temperature: temperature, reduction: reduction)
    }

    /// `τ²·KL(softmax(t/τ) ‖ softmax(s/τ))/N` for logits `[B, C]`; differentiable in `student`.
    public static func divergence(student: Tensor, teacher: Tensor, temperature tau: Float,
                                  reduction: Reduction) -> Tensor {
        let (b, c) = (student.shape[0], student.shape[1])
        let divisor = Float(reduction == .numel ? b * c : b)
        let (logPs, logPt) = withNoGrad { ((student * (1 / tau)).logSoftmax(), (teacher * (1 / tau)).logSoftmax()) }
        var kl = 0.0
        for i in 0..<logPt.count {
            let lt = Double(logPt.data[i])
            kl += exp(lt) * (lt - Double(logPs.data[i]))
        }
        let value = Tensor(Float(kl) * tau * tau / divisor)
        return Autograd.record(value, op: "softDistillation", inputs: [student]) { g in
            [(logPs.exp() - logPt.exp()) * (g.item() * tau / divisor)]
        }
    }
}

/// BHViT's `DistributionLoss` (docs/reference/bhvit.md §8): the batch mean of the cross-entropy between the
/// teacher's distribution and the student's, `−Σ_c softmax(z_t)_c·log softmax(z_s)_c`.
/// It differs from `SoftDistillationLoss(τ: 1, reduction: .batch)` by the teacher's entropy,
/// a constant, so the gradients are the same.
public final class TeacherCrossEntropyLoss: LossTerm {
    public let name = "distill"

    public init() {}

    public func loss(_ context: LossContext) throws -> Tensor {
        let teacher = try context.requireTeacherLogits(for: name)
        let student = distillationLogits(context.studentOutput)
        guard teacher.shape == student.shape else {
            throw BitViTError.shapeMismatch("teacher logits \(teacher.shape) vs student \(student.shape)")
        }
        return Tensor.crossEntropy(logits: student, targetProbabilities: withNoGrad { teacher.softmax() })
    }
}
