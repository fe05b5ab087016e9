/// What `InferenceEngine` needs from a family's inference graph: the logits of a batch of
/// preprocessed images, computed with the engine's workspace and profiler.
protocol EngineRuntime: AnyObject {
    var classes: Int { get }
    /// `[channels, side, side]` of one input image.
    var inputShape: [Int] { get }
    /// Whether an image's logits depend only on that image (not GSB: its masks are batch-global).
    /// Such batches run image-parallel: one image per worker at a time, each worker with its own
    /// workspace, so the objects of the graph keep no per-call state outside the workspace.
    var imagesAreIndependent: Bool { get }
    /// Logits `[batch, classes]` (row-major) of images `[batch, channels, side, side]`.
    func logits(_ images: UnsafePointer<Float>, batch: Int, workspace: Workspace, profiler: EngineProfiler) -> [Float]
}

extension ViTRuntime: EngineRuntime {
    var inputShape: [Int] { [v.inChannels, v.imageSize, v.imageSize] }
    var imagesAreIndependent: Bool { family != .gsb }
}
