import BitViTCore

/// A mini-batch ready for a model.
public struct Batch {
    /// Images `[B, C, H, W]`, float32, normalized.
    public var images: Tensor
    /// Class labels, `B` values in `0..<classes`.
    public var labels: [Int]
    /// Soft targets `[B, classes]` when mixup/cutmix mixed the batch; nil otherwise.
    public var targets: Tensor?
    /// Dataset indices of the samples, `B` values.
    public var indices: [Int]

    public init(images: Tensor, labels: [Int], targets: Tensor? = nil, indices: [Int]) {
        self.images = images
        self.labels = labels
        self.targets = targets
        self.indices = indices
    }

    public var count: Int { labels.count }
}
