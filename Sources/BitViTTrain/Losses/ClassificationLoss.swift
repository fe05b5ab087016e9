import BitViTModels

/// Cross-entropy of the class-token logits against the batch's labels.
///
/// Hard labels use label smoothing ε (target `(1−ε)·onehot + ε/C`, timm
/// `LabelSmoothingCrossEntropy`); a batch with soft targets (mixup/cutmix) uses them as they
/// are (timm `SoftTargetCrossEntropy`), since mixup already folds the smoothing in.
public final class ClassificationLoss: LossTerm {
    public let name = "ce"
    public let labelSmoothing: Float

    public init(labelSmoothing: Float = 0) {
        precondition((0..<1).contains(labelSmoothing), "label smoothing must be in [0, 1)")
        self.labelSmoothing = labelSmoothing
    }

    public func loss(_ context: LossContext) throws -> Tensor {
        let logits = context.studentOutput.logits
        if let targets = context.batch.targets {
            guard targets.shape == logits.shape else {
                throw BitViTError.shapeMismatch("soft targets \(targets.shape) for logits \(logits.shape)")
            }
            return Tensor.crossEntropy(logits: logits, targetProbabilities: targets)
        }
        try checkLabels(context.batch.labels, classes: logits.shape[1])
        return Tensor.crossEntropy(logits: logits, labels: context.batch.labels, labelSmoothing: labelSmoothing)
    }
}

/// Throws when a label falls outside `0..<classes` (a data/model class-count mismatch).
func checkLabels(_ labels: [Int], classes: Int) throws {
    if let bad = labels.first(where: { $0 < 0 || $0 >= classes }) {
        throw BitViTError.invalidArgument("label \(bad) is outside the model's \(classes) classes")
    }
}
