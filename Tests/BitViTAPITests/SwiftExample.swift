import BitViTRuntimeImages
import Foundation

/// The three most probable classes of each image file, as "name probability" lines.
func topClasses(model: String, images: [String]) throws -> [[String]] {
    // Load the model (memory-mapped and validated); run its calls on 2 threads.
    let classifier = try Classifier(contentsOf: URL(fileURLWithPath: model), threads: 2)
    print("\(classifier.metadata.family) model, input \(classifier.inputShape), \(classifier.classCount) classes")

    // One image file, preprocessed (channels, size, normalization) as the model file says.
    let first = try classifier.classify(imageAt: URL(fileURLWithPath: images[0]))
    print("\(images[0]): \(first.best.name) (\(first.best.probability))")

    // A batch: preprocessed images, [batch, channels, height, width] floats, in one call.
    var batch: [Float] = []
    for path in images {
        batch += try classifier.preprocessing.input(forImageAt: URL(fileURLWithPath: path))
    }
    return try classifier.classify(batch).map { result in
        result.topK(3).map { "\($0.name) \(String(format: "%.3f", $0.probability))" }
    }
}
