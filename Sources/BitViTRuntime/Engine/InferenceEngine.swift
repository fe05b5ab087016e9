import BitViTPlatform
import Foundation

/// Runs an exported model (`.bitvit`) without the autograd graph: weights packed once at load,
/// activation buffers allocated per batch size and reused across calls, producers fused into
/// the encodings of the next layer, output transforms fused into the GEMMs, work split over
/// `Parallel`'s threads by the kernels.
///
/// `floatKernels` runs the same exported function with sgemm on the dequantized weights and
/// activations (the speed baseline of `bitvit bench infer`, and a second parity reference).
/// Not thread-safe: one engine serves one caller at a time.
public final class InferenceEngine {
    public let file: ModelFile
    public let floatKernels: Bool
    public let profiler = EngineProfiler()
    private let runtime: EngineRuntime
    private let workspace = Workspace()
    /// One workspace per worker for image-parallel batches.
    private var workerWorkspaces: [Workspace] = []

    /// - `int8Digits`: int8 GEMMs per Q-ViT linear layer, 1…4 (its folded weights' precision,
    ///   `7·digits + 1` bits; see `Int8Linear`).
    public init(_ file: ModelFile, floatKernels: Bool = false, int8Digits: Int = 3) throws {
        guard (1...4).contains(int8Digits) else { throw BitViTError.invalidArgument("int8 digits must be 1…4, got \(int8Digits)") }
        self.file = file
        self.floatKernels = floatKernels
        switch file.metadata.family {
        case .deit, .binaryBaseline, .gsb, .qvit:
            runtime = try ViTRuntime(file, floatKernels: floatKernels, int8Digits: int8Digits)
        case .bhvit:
            runtime = try BHViTRuntime(file, floatKernels: floatKernels)
        }
    }

    /// Loads (memory-maps and validates) `url` and builds the engine.
    public convenience init(contentsOf url: URL, floatKernels: Bool = false) throws {
        try self.init(ModelFile(contentsOf: url), floatKernels: floatKernels)
    }

    public var metadata: ModelFileMetadata { file.metadata }
    public var classes: Int { runtime.classes }
    /// `[channels, side, side]` of one input image.
    public var inputShape: [Int] { runtime.inputShape }

    /// Evaluation-mode logits `[batch, classes]` (row-major) of preprocessed images
    /// `[batch, channels, side, side]`. With GSB the logits depend on the whole batch, as in
    /// training (batch-global masks); BHViT's are per image (BatchNorm with running statistics).
    ///
    /// A batch of independent images (every family but GSB) runs image-parallel when the profiler
    /// is off: each worker takes the next image and runs the whole network on it alone, so a batch
    /// pays no fork/join per layer and keeps each image's activations in its core's caches.
    public func logits(_ images: UnsafePointer<Float>, batch: Int) -> [Float] {
        precondition(batch > 0, "InferenceEngine: empty batch")
        let workers = min(Parallel.threadCount, batch)
        if workers > 1 && runtime.imagesAreIndependent && !profiler.isEnabled && !Parallel.isInsideRegion {
            return imageParallelLogits(images, batch: batch, workers: workers)
        }
        return runtime.logits(images, batch: batch, workspace: workspace, profiler: profiler)
    }

    private func imageParallelLogits(_ images: UnsafePointer<Float>, batch: Int, workers: Int) -> [Float] {
        while workerWorkspaces.count < workers { workerWorkspaces.append(Workspace()) }
        let workspaces = workerWorkspaces, runtime = runtime
        let imageValues = inputShape.reduce(1, *), k = classes
        var out = [Float](repeating: 0, count: batch * k)
        let claim = NSLock()
        var next = 0
        out.withUnsafeMutableBufferPointer { o in
            let logits = o.baseAddress!
            Parallel.forPartitions(workers) { worker in
                let quiet = EngineProfiler()
                while true {
                    claim.lock()
                    let i = next
                    next += 1
                    claim.unlock()
                    guard i < batch else { return }
                    let row = runtime.logits(images + i * imageValues, batch: 1, workspace: workspaces[worker], profiler: quiet)
                    (logits + i * k).update(from: row, count: k)
                }
            }
        }
        return out
    }
}
