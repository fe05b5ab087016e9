import BitViTRuntime
import BitViTRuntimeImages
import Foundation

/// `bitvit predict`: an image file (JPEG or PNG) through a `.bitvit` model with `Classifier`,
/// preprocessed (converted to the model's channels, resized, normalized) as the file says.
public struct ImagePrediction {
    public var image: String
    public var model: String
    public var family: ExportFamily
    public var floatKernels: Bool
    /// The `top` most probable classes, most probable first (ties: lower label first).
    public var ranking: [Prediction]

    /// Classifies the image at `image` with the model at `model` (bit kernels unless
    /// `floatKernels`), keeping the `top` most probable classes (at least one).
    public init(model: String, image: String, top: Int = 5, floatKernels: Bool = false) throws {
        let classifier = try Classifier(contentsOf: URL(fileURLWithPath: model), kernels: floatKernels ? .float : .bitPacked)
        let result = try classifier.classify(imageAt: URL(fileURLWithPath: image))
        self.image = image
        self.model = model
        family = classifier.metadata.family
        self.floatKernels = floatKernels
        ranking = result.topK(max(1, top))
    }

    /// The header line and one line per ranked class.
    public var text: String {
        var lines = ["\(image) → \(model) (\(family.rawValue), \(floatKernels ? "float" : "bit") kernels)"]
        for (rank, p) in ranking.enumerated() {
            lines.append(String(format: "%d. %6.2f %%  [%d] ", rank + 1, 100 * p.probability, p.label) + p.name)
        }
        return lines.joined(separator: "\n")
    }
}
