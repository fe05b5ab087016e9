import BitViTPlatform
import BitViTRuntime
import FuzzSupport

/// The engine-building path: a `.bitvit` file (checksums repaired, so that mutations reach the
/// metadata and tensors) is validated, the engine is built with the bit kernels and with the
/// float kernels, and, when the input is small, both run one forward pass on a fixed image.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEngine(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    Parallel.threadCount = 1
    let bytes = FuzzInput.bytes(data, size)
    guard let file = FuzzInput.expectReadable({ try ModelFile(bytes: ChecksumRepair.modelFile(bytes) ?? bytes, path: "input") }) else {
        return 0
    }
    for floatKernels in [false, true] {
        guard let engine = FuzzInput.expectReadable({ try InferenceEngine(file, floatKernels: floatKernels) }) else { continue }
        let count = engine.inputShape.reduce(1, *)
        guard count <= maxForwardInput else { continue }
        let image = (0..<count).map { Float($0 % 17) / 8 - 1 }
        _ = image.withUnsafeBufferPointer { engine.logits($0.baseAddress!, batch: 1) }
    }
    return 0
}

/// The largest input (channels × side²) run through a forward pass (a 3 × 64 × 64 image).
let maxForwardInput = 3 * 64 * 64

runLibFuzzer(fuzzEngine)
