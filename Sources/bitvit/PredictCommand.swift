import ArgumentParser
import BitViTPlatform
import BitViTTools

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

    func run() throws {
        let prediction = try ImagePrediction(model: model, image: image, top: top, floatKernels: float)
        if json { try printJSON(prediction.ranking); return }
        print(prediction.text)
    }
}
