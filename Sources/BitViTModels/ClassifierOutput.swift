import BitViTNN

/// What an image classifier returns.
///
/// Models with a distillation head return both heads in training mode (`logits` from the
/// class token, `distillationLogits` from the distillation token) and their mean as `logits`
/// in evaluation mode (DeiT's convention).
public struct ClassifierOutput {
    public var logits: Tensor
    public var distillationLogits: Tensor?

    public init(logits: Tensor, distillationLogits: Tensor? = nil) {
        self.logits = logits
        self.distillationLogits = distillationLogits
    }
}

/// A model that maps images `[B, C, H, W]` to class scores.
public protocol ImageClassifier: Module {
    var classCount: Int { get }
    func callAsFunction(_ images: Tensor) -> ClassifierOutput
}
