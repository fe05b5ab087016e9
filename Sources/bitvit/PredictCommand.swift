import ArgumentParser
import BitViTData
import BitViTDeploy
import BitViTModels
import Foundation

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Classify an image (JPEG or PNG) with a .bitvit model: top-5 classes with probabilities.",
        discussion: "The image is converted to the model's channels, resized (bicubic) and normalized as stored in the file.")

    @Argument(help: "Model file (.bitvit).") var model: String
    @Argument(help: "Image file (JPEG or PNG).") var image: String
    @Option(parsing: .unconditional, help: "Classes to list.") var top = 5
    @Flag(help: "Use float kernels on the dequantized weights.") var float = false
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws { try checkOption("--top", top, 1...ModelLimits.classes) }

    struct Prediction: Encodable {
        var label: Int
        var name: String
        var probability: Double
        var logit: Float
    }

    func run() throws {
        let engine = try InferenceEngine(contentsOf: URL(fileURLWithPath: model), floatKernels: float)
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
        let predictions = ranked.prefix(max(1, top)).map { Prediction(label: $0, name: names[$0], probability: exps[$0] / total, logit: logits[$0]) }
        if json { try printJSON(predictions); return }
        print("\(image) → \(model) (\(engine.metadata.family.rawValue), \(float ? "float" : "bit") kernels)")
        for (rank, p) in predictions.enumerated() {
            print(String(format: "%d. %6.2f %%  [%d] ", rank + 1, 100 * p.probability, p.label) + p.name)
        }
    }
}
