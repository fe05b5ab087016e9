import BitViTRuntime
import Foundation

// Usage: RuntimeOnly <model.bitvit>
// Runs the model at batch 1 on a fixed test pattern (already normalized, so no image decoding)
// with the bit kernels and with the float kernels, and prints both top-1 classes.
let arguments = CommandLine.arguments
guard arguments.count == 2 else {
    FileHandle.standardError.write(Data("usage: RuntimeOnly <model.bitvit>\n".utf8))
    exit(2)
}
do {
    let file = try ModelFile(contentsOf: URL(fileURLWithPath: arguments[1]))
    let metadata = file.metadata
    for floatKernels in [false, true] {
        let engine = try InferenceEngine(file, floatKernels: floatKernels)
        let count = engine.inputShape.reduce(1, *)
        let image = (0..<count).map { Float(sin(0.37 * Double($0))) }
        let logits = image.withUnsafeBufferPointer { engine.logits($0.baseAddress!, batch: 1) }
        guard logits.count == engine.classes, logits.allSatisfy(\.isFinite) else {
            FileHandle.standardError.write(Data("\(arguments[1]): \(logits.count) logits, expected \(engine.classes) finite values\n".utf8))
            exit(1)
        }
        let best = logits.indices.max { logits[$0] < logits[$1] }!
        print("\(metadata.family.rawValue) '\(metadata.modelName)', input \(engine.inputShape), "
              + "\(floatKernels ? "float" : "bit") kernels: top-1 [\(best)] \(metadata.classNames[best])")
    }
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(1)
}
