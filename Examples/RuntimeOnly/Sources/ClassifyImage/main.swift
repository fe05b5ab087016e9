import BitViTRuntimeImages
import Foundation

// Usage: ClassifyImage <model.bitvit> <image.png|jpg>...
// Prints the three most probable classes of each image file, preprocessed as the model says.
let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: ClassifyImage <model.bitvit> <image.png|jpg>...\n".utf8))
    exit(2)
}
do {
    let classifier = try Classifier(contentsOf: URL(fileURLWithPath: arguments[1]))
    for path in arguments[2...] {
        let result = try classifier.classify(imageAt: URL(fileURLWithPath: path))
        print("\(path): " + result.topK(3).map { "[\($0.label)] \($0.name) " + String(format: "%.3f", $0.probability) }.joined(separator: ", "))
    }
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(1)
}
