import BitViTImage
import BitViTRuntime
import Foundation

/// `bitvit predict`: an image file (JPEG or PNG) through a `.bitvit` model, converted to the
/// model's channels, resized (bicubic) and normalized as the file's preprocessing says.
public struct ImagePrediction {
    /// One class of the ranking.
    public struct Entry: Encodable, Equatable {
        public var label: Int
        public var name: String
        /// Softmax probability of the logits.
        public var probability: Double
        public var logit: Float
    }

    public var image: String
    public var model: String
    public var family: ExportFamily
    public var floatKernels: Bool
    /// The `top` most probable classes, most probable first (ties: lower label first).
    public var ranking: [Entry]

    /// Classifies the image at `image` with the model at `model` (bit kernels unless
    /// `floatKernels`), keeping the `top` most probable classes (at least one).
    public init(model: String, image: String, top: Int = 5, floatKernels: Bool = false) throws {
        let engine = try InferenceEngine(contentsOf: URL(fileURLWithPath: model), floatKernels: floatKernels)
        let p = engine.metadata.preprocessing
        var picture = try Image(contentsOf: URL(fileURLWithPath: image), channels: p.channels)
        if picture.height != p.imageSize || picture.width != p.imageSize {
            picture = picture.resized(height: p.imageSize, width: p.imageSize, interpolation: .bicubic)
        }
        var input = [Float](repeating: 0, count: picture.pixels.count)
        try input.withUnsafeMutableBufferPointer { try Normalization(mean: p.mean, std: p.std).write(picture, into: $0) }
        let logits = input.withUnsafeBufferPointer { engine.logits($0.baseAddress!, batch: 1) }
        let largest = logits.max() ?? 0
        let exps = logits.map { Double(exp($0 - largest)) }
        let total = exps.reduce(0, +)
        let ranked = logits.indices.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
        let names = engine.metadata.classNames
        self.image = image
        self.model = model
        family = engine.metadata.family
        self.floatKernels = floatKernels
        ranking = ranked.prefix(max(1, top)).map { Entry(label: $0, name: names[$0], probability: exps[$0] / total, logit: logits[$0]) }
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
