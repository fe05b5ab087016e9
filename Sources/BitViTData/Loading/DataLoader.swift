import BitViTCore

/// The batches of one epoch of a data set: shuffled (or not), transformed per sample, collated
/// into `Batch`es, optionally mixed (mixup/cutmix), prepared ahead on background threads.
///
/// Deterministic: the samples and their order depend only on `(seed, epoch)` and the `sampler`
/// (`EpochSampler`: shuffling, repeated augmentation, this process's shard), each sample's
/// augmentation only on `(seed, epoch, dataset index, visit)` and each batch's mixup only on
/// `(seed, epoch, batch number)`, so the batches are identical whatever `workerCount`,
/// `prefetchDepth` or thread timing.
///
/// Iterate with `forEachBatch`, with an iterator's throwing `nextBatch()`, or as a `Sequence` of
/// `Result<Batch, Error>`; an error while preparing a batch (e.g. a corrupt image, named in the
/// error) reaches the consumer at that batch's turn. Stopping early is fine: the iterator stops
/// its threads when it is released or `close()`d.
///
/// ```swift
/// let loader = DataLoader(dataset: train, transform: .cifarTraining(), batchSize: 128,
///                         shuffle: true, seed: 42, epoch: epoch)
/// try loader.forEachBatch { batch in /* batch.images: [128, 3, 32, 32] */ }
/// ```
public struct DataLoader: Sequence {
    public let dataset: any ImageDataset
    public let transform: TransformPipeline
    /// Samples per batch (the last batch may be smaller unless `dropLast`).
    public let batchSize: Int
    /// Which samples the epoch visits and in which order (shuffling, repeated augmentation,
    /// sharding across processes).
    public let sampler: EpochSampler
    /// Whether the sample order is a seeded permutation (else index order).
    public var shuffle: Bool { sampler.order != .sequential }
    /// Whether an incomplete last batch is skipped.
    public let dropLast: Bool
    /// Seed of every random decision (order, augmentation, mixup).
    public let seed: UInt64
    /// Epoch number: a new order and new augmentations per epoch.
    public let epoch: Int
    /// Batch-level mixup/cutmix; when set every batch carries soft `targets`.
    public var mixup: Mixup?
    /// Batches prepared ahead of the consumer at most (≥ 1).
    public var prefetchDepth: Int
    /// Background threads preparing batches; 0 prepares each batch on the consumer's thread.
    public var workerCount: Int

    /// A loader visiting every sample once, in a seeded permutation (`shuffle`) or in index order.
    public init(dataset: any ImageDataset, transform: TransformPipeline, batchSize: Int,
                shuffle: Bool = false, dropLast: Bool = false, seed: UInt64 = 0, epoch: Int = 0,
                mixup: Mixup? = nil, prefetchDepth: Int = 4, workerCount: Int = 1) {
        self.init(dataset: dataset, transform: transform, batchSize: batchSize,
                  sampler: EpochSampler(shuffle ? .shuffled : .sequential), dropLast: dropLast, seed: seed,
                  epoch: epoch, mixup: mixup, prefetchDepth: prefetchDepth, workerCount: workerCount)
    }

    /// A loader whose epoch visits the samples `sampler` draws.
    public init(dataset: any ImageDataset, transform: TransformPipeline, batchSize: Int, sampler: EpochSampler,
                dropLast: Bool = false, seed: UInt64 = 0, epoch: Int = 0, mixup: Mixup? = nil,
                prefetchDepth: Int = 4, workerCount: Int = 1) {
        precondition(batchSize > 0, "batch size must be positive")
        precondition(prefetchDepth >= 1 && workerCount >= 0, "invalid prefetch settings")
        self.dataset = dataset
        self.transform = transform
        self.batchSize = batchSize
        self.sampler = sampler
        self.dropLast = dropLast
        self.seed = seed
        self.epoch = epoch
        self.mixup = mixup
        self.prefetchDepth = prefetchDepth
        self.workerCount = workerCount
    }

    /// Samples this epoch visits (before dropping an incomplete last batch).
    public var sampleCount: Int { sampler.sampleCount(datasetCount: dataset.count) }

    /// Batches in this epoch.
    public var batchesPerEpoch: Int {
        Self.batchesPerEpoch(sampleCount: sampleCount, batchSize: batchSize, dropLast: dropLast)
    }

    /// Batches in an epoch of `sampleCount` samples.
    public static func batchesPerEpoch(sampleCount: Int, batchSize: Int, dropLast: Bool) -> Int {
        dropLast ? sampleCount / batchSize : (sampleCount + batchSize - 1) / batchSize
    }

    /// The samples this epoch visits, in order.
    public var draws: [SampleDraw] { sampler.draws(datasetCount: dataset.count, seed: seed, epoch: epoch) }

    /// The dataset indices in the order this epoch visits them.
    public var sampleOrder: [Int] { draws.map(\.index) }

    /// The generator that augments visit `visit` of dataset sample `index` in epoch `epoch` of a
    /// loader seeded with `seed` (to reproduce one sample outside the loader).
    public static func sampleGenerator(seed: UInt64, epoch: Int, index: Int, visit: Int = 0) -> RandomGenerator {
        SeedDerivation.generator(seed: seed, purpose: .sample, epoch: epoch, index: index, variant: visit)
    }

    /// Starts preparing the epoch's batches.
    public func makeIterator() -> BatchIterator {
        let order = draws
        let count = batchesPerEpoch
        let recipe = self
        let session = PrefetchSession(batchCount: count, depth: prefetchDepth, workers: workerCount) { index, isCancelled in
            try recipe.makeBatch(index, order: order, isCancelled: isCancelled)
        }
        return BatchIterator(session: session, batchCount: count)
    }

    /// Calls `body` with every batch of the epoch in order; rethrows the first error of either.
    public func forEachBatch(_ body: (Batch) throws -> Void) throws {
        let iterator = makeIterator()
        defer { iterator.close() }
        while let batch = try iterator.nextBatch() { try body(batch) }
    }

    /// Batch number `index` of the epoch, prepared on the calling thread.
    public func batch(at index: Int) throws -> Batch {
        guard index >= 0 && index < batchesPerEpoch else {
            throw BitViTError.invalidArgument("batch \(index) is outside 0..<\(batchesPerEpoch)")
        }
        return try makeBatch(index, order: draws, isCancelled: { false })
    }

    private struct Cancelled: Error {}

    private func makeBatch(_ index: Int, order: [SampleDraw], isCancelled: () -> Bool) throws -> Batch {
        let selected = order[(index * batchSize)..<Swift.min(order.count, (index + 1) * batchSize)]
        let indices = selected.map(\.index)
        var labels: [Int] = []
        labels.reserveCapacity(indices.count)
        var images: Tensor?
        var sampleShape: (channels: Int, height: Int, width: Int) = (0, 0, 0)
        for (position, draw) in selected.enumerated() {
            if isCancelled() { throw Cancelled() }
            let datasetIndex = draw.index
            var rng = Self.sampleGenerator(seed: seed, epoch: epoch, index: datasetIndex, visit: draw.visit)
            let image = try transform.transformedImage(try dataset.image(at: datasetIndex), using: &rng)
            let shape = (channels: image.channels, height: image.height, width: image.width)
            if images == nil {
                sampleShape = shape
                images = Tensor(uninitialized: [indices.count, shape.channels, shape.height, shape.width])
            } else if shape != sampleShape {
                throw BitViTError.shapeMismatch(
                    "sample \(datasetIndex) is \(shape.channels)×\(shape.height)×\(shape.width) after the transforms, "
                        + "but the batch holds \(sampleShape.channels)×\(sampleShape.height)×\(sampleShape.width); "
                        + "add a resize/crop to the pipeline")
            }
            let size: Int = image.pixels.count
            let slot = UnsafeMutableBufferPointer(start: images!.data + position * size, count: size)
            try transform.normalization.write(image, into: slot)
            for after in transform.normalizedTransforms {
                after.apply(to: slot, channels: shape.channels, height: shape.height, width: shape.width, using: &rng)
            }
            labels.append(dataset.label(at: datasetIndex))
        }
        var batch = Batch(images: images ?? Tensor(uninitialized: [0]), labels: labels, indices: indices)
        if let mixup {
            var rng = SeedDerivation.generator(seed: seed, purpose: .batch, epoch: epoch, index: index)
            mixup.apply(to: &batch, classCount: dataset.classCount, using: &rng)
        }
        return batch
    }
}

/// Delivers one epoch's batches in order from a `DataLoader`'s background threads.
///
/// Copies share the same stream. The threads stop when the last copy is released or on `close()`.
public struct BatchIterator: IteratorProtocol {
    private let handle: Handle
    /// Batches this epoch delivers in all.
    public let batchCount: Int

    init(session: PrefetchSession, batchCount: Int) {
        self.handle = Handle(session: session)
        self.batchCount = batchCount
    }

    /// The next batch, nil at the end of the epoch; throws the error that stopped a batch's
    /// preparation (e.g. `BitViTError.malformed` naming a corrupt image), after which the
    /// iterator is finished.
    public func nextBatch() throws -> Batch? {
        try handle.session.next()
    }

    /// `nextBatch()` as a `Result`, for `for result in loader { let batch = try result.get() }`.
    public mutating func next() -> Result<Batch, Error>? {
        do {
            guard let batch = try nextBatch() else { return nil }
            return .success(batch)
        } catch {
            return .failure(error)
        }
    }

    /// Stops the background threads and waits for them to exit; later calls return nil.
    public func close() {
        handle.session.close()
    }

    /// Worker threads still running (0 once closed or finished).
    public var runningWorkerCount: Int { handle.session.runningWorkers }

    /// Owns the `PrefetchSession` on behalf of the consumer; the workers hold it, not this.
    private final class Handle {
        let session: PrefetchSession
        init(session: PrefetchSession) { self.session = session }
        deinit { session.close() }
    }
}
