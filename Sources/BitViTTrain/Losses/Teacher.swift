import BitViTModels
import BitViTQuant

/// A frozen model that supervises the student: it runs in evaluation mode, without gradients,
/// on the same augmented batch as the student (DeiT, docs/reference/gsb.md §6.1, docs/reference/qvit.md §6.1). A distilled
/// teacher therefore returns the mean of its two heads.
public final class Teacher {
    public let model: any ImageClassifier
    /// Lines for the run's log saying where the teacher came from (`WeightsFile.teacher`).
    public let report: [String]

    public init(model: any ImageClassifier, report: [String] = []) {
        self.model = model
        self.report = report
        model.eval()
        for p in model.parameters { p.requiresGrad = false }
    }

    /// Teacher logits `[B, classes]` for images `[B, C, H, W]`.
    public func logits(_ images: Tensor) -> Tensor {
        withNoGrad { model(images).logits }
    }

    /// Teacher logits and every attention block's queries and keys (Q-ViT's DGD, docs/reference/qvit.md §6.2).
    public func logitsAndQueriesKeys(_ images: Tensor) throws -> (logits: Tensor, pairs: [QueryKeyPair]) {
        guard let recorder = model as? any QueryKeyReporting else {
            throw BitViTError.invalidArgument("the teacher \(type(of: model)) does not report attention queries and keys")
        }
        return withNoGrad {
            let (output, pairs) = recorder.forwardRecordingQueriesKeys(images, tap: .beforeQuantizer)
            return (output.logits, pairs)
        }
    }
}
