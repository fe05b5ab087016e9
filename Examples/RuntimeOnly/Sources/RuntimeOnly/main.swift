import BitViTRuntime
import Foundation

// Usage: RuntimeOnly <model.bitvit>
// Runs the model on a batch of two fixed test patterns (already preprocessed, so no image
// decoding) with the bit-packed and the float kernels, on one thread and on the default count,
// and prints each image's most probable class.
let arguments = CommandLine.arguments
guard arguments.count == 2 else {
    FileHandle.standardError.write(Data("usage: RuntimeOnly <model.bitvit>\n".utf8))
    exit(2)
}
do {
    let file = try ModelFile(contentsOf: URL(fileURLWithPath: arguments[1]))
    for kernels in Classifier.Kernels.allCases {
        let classifier = try Classifier(file, kernels: kernels)
        let images = (0..<2 * classifier.valuesPerImage).map { Float(sin(0.37 * Double($0))) }
        let results = try classifier.classify(images)
        classifier.threads = 1
        let oneThread = try classifier.classify(images)
        for (result, single) in zip(results, oneThread) {
            let scale = result.logits.map(abs).max() ?? 1
            guard result.logits.allSatisfy(\.isFinite), zip(result.logits, single.logits).allSatisfy({ abs($0 - $1) <= 1e-5 * scale }) else {
                FileHandle.standardError.write(Data("\(arguments[1]): logits \(result.logits) on the default thread count, \(single.logits) on one thread\n".utf8))
                exit(1)
            }
        }
        print("\(file.metadata.family.rawValue) '\(file.metadata.modelName)', input \(classifier.inputShape), \(kernels.rawValue) kernels: "
              + results.map { "[\($0.best.label)] \($0.best.name)" }.joined(separator: ", "))
    }
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(1)
}
