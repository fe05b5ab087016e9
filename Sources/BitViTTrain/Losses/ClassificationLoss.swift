import BitViTModels
import BitViTData

/// Cross-entropy of the class-token logits against the batch's labels.
///
/// With `supervisesDistillationHead`, a model that also returns distillation-head logits (a
/// distilled DeiT in training mode) gets the mean of both heads' cross-entropies: a run
/// without a teacher then trains the second head too, which matters because evaluation
/// averages the two heads (DeiT's convention). The recipe uses this when it distills nothing.
///
/// Hard labels use label smoothing ε (target `(1−ε)·onehot + ε/C`, timm
/// `LabelSmoothingCrossEntropy`); a batch with soft targets (mixup/cutmix) uses them as they
/// are (timm `SoftTargetCrossEntropy`), since mixup already folds the smoothing in.
public final class ClassificationLoss: LossTerm {
    public let name = "ce"
    public let labelSmoothing: Float
    /// Also supervise the distillation head (when the model has one) with the labels.
    public let supervisesDistillationHead: Bool

    public init(labelSmoothing: Float = 0, supervisesDistillationHead: Bool = false) {
        precondition((0..<1).contains(labelSmoothing), "label smoothing must be in [0, 1)")
        self.labelSmoothing = labelSmoothing
        self.supervisesDistillationHead = supervisesDistillationHead
    }

    public func loss(_ context: LossContext) throws -> Tensor {
        let output = context.studentOutput
        let classLoss = try loss(logits: output.logits, context.batch)
        guard supervisesDistillationHead, let distillation = output.distillationLogits else { return classLoss }
        return (classLoss + (try loss(logits: distillation, context.batch))) * 0.5
    }

    private func loss(logits: Tensor, _ batch: Batch) throws -> Tensor {
        if let targets = batch.targets {
            guard targets.shape == logits.shape else {
                throw BitViTError.shapeMismatch("soft targets \(targets.shape) for logits \(logits.shape)")
            }
            return Tensor.crossEntropy(logits: logits, targetProbabilities: targets)
        }
        try checkLabels(batch.labels, classes: logits.shape[1])
        return Tensor.crossEntropy(logits: logits, labels: batch.labels, labelSmoothing: labelSmoothing)
    }
}

/// Throws when a label falls outside `0..<classes` (a data/model class-count mismatch).
func checkLabels(_ labels: [Int], classes: Int) throws {
    if let bad = labels.first(where: { $0 < 0 || $0 >= classes }) {
        throw BitViTError.invalidArgument("label \(bad) is outside the model's \(classes) classes")
    }
}
