import Foundation
import BitViTTrain

/// A small deterministic image set for trainer tests: class `c` images are noise plus a 4×4
/// texture chosen by `c` (rows, columns, checkerboard, diagonal) tiled over the image, so every
/// patch carries the class and a tiny ViT learns it in a few steps. Batches of an epoch come in
/// an order shuffled by `(seed, epoch)`.
struct SyntheticBatches: BatchSource {
    let images: [Tensor]
    let labels: [Int]
    let batchSize: Int
    let seed: UInt64
    /// Batch index at which to poison the images with NaN (NaN-detection tests).
    var poisonBatch: Int?
    /// Added to every label (mod the classes), to make a data set that disagrees with another.
    var labelShift = 0
    let classes: Int

    init(count: Int, classes: Int = 4, side: Int = 8, batchSize: Int, seed: UInt64 = 3) {
        var rng = RandomGenerator(seed: seed)
        var images: [Tensor] = [], labels: [Int] = []
        for i in 0..<count {
            let c = i % classes
            let img = Tensor.randn([1, 1, side, side], std: 0.3, using: &rng)
            for r in 0..<side {
                for col in 0..<side {
                    let (y, x) = (r % 4, col % 4)
                    let on = [y < 2, x < 2, (y + x) % 2 == 0, y == x][c % 4]
                    if on { img.data[r * side + col] += 1 }
                }
            }
            images.append(img)
            labels.append(c)
        }
        self.images = images
        self.labels = labels
        self.batchSize = batchSize
        self.seed = seed
        self.classes = classes
    }

    var sampleCount: Int { images.count }
    var batchesPerEpoch: Int { images.count / batchSize }

    func batches(epoch: Int, from start: Int) throws -> BatchStream {
        var rng = RandomGenerator(seed: seed &+ UInt64(epoch) &* 7919)
        var order = Array(0..<images.count)
        order.shuffle(using: &rng)
        let batches = (start..<batchesPerEpoch).map { b -> Batch in
            let idx = Array(order[(b * batchSize)..<((b + 1) * batchSize)])
            let x = Tensor.concatenate(idx.map { images[$0] }, axis: 0)
            if b == poisonBatch { x.data[0] = .nan }
            return Batch(images: x, labels: idx.map { (labels[$0] + labelShift) % classes }, indices: idx)
        }
        return BatchStream(batches)
    }
}

/// A tiny DeiT recipe with dropout and drop path on (so the random stream matters).
func tinyConfig(epochs: Int = 2, overrides: [String] = []) throws -> TrainConfig {
    try TrainConfig.resolve(recipeText: """
        name: tiny
        model: {name: vit-mnist, classes: 4, image_size: 8, patch_size: 4, dim: 16, depth: 2, heads: 2,
                mlp_ratio: 2, drop_rate: 0.1, drop_path_rate: 0.1}
        data: {batch_size: 8}
        optimizer: {name: adamw, lr: 3e-3, weight_decay: 0.05, clip_grad_norm: 5}
        schedule: {warmup_epochs: 1, warmup_lr: 1e-4, min_lr: 1e-5}
        loss: {label_smoothing: 0.1}
        training: {epochs: \(epochs), seed: 11}
        """, overrides: overrides)
}

/// A fresh temporary directory.
func temporaryDirectory(_ name: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("bitvit-\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Records every step's loss through the observer interface.
final class LossRecorder: TrainingObserver {
    var losses: [Double] = []
    var epochs: [MetricsRecord] = []
    var notes: [String] = []
    func batchDidFinish(_ progress: BatchProgress) {}
    func evaluationDidProgress(batch: Int, of batches: Int) {}
    func epochDidFinish(_ record: MetricsRecord, epochs: Int, newBest: Bool) { self.epochs.append(record) }
    func note(_ text: String) { notes.append(text) }
}
