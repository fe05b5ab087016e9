import BitViTCore

/// One sample an epoch visits: a dataset index and which visit of that index in the epoch it
/// is (`visit` 0 for the first; repeated augmentation and padding visit an index again, and each
/// visit gets its own augmentation).
public struct SampleDraw: Equatable, Hashable, Sendable {
    public var index: Int
    public var visit: Int

    public init(index: Int, visit: Int = 0) {
        self.index = index
        self.visit = visit
    }
}

/// Which samples one process visits in an epoch, and in which order: the single place that
/// decides the epoch order, repetition and sharding across processes.
///
/// - `.sequential`: index order (evaluation).
/// - `.shuffled`: a permutation drawn from `(seed, epoch)` (PyTorch's `RandomSampler`, and
///   `DistributedSampler(shuffle: true)` across processes).
/// - `.repeatedAugmentation(repeats:)`: DeiT's `RASampler` (also in the official Q-ViT, GSB and
///   BHViT code): the epoch's permutation with every index repeated `repeats` times in a row,
///   padded by wrapping around to a multiple of `worldSize`, dealt out round-robin (process
///   `rank` takes positions `rank, rank + worldSize, …`) and cut to
///   `⌊⌊N / 256⌋ · 256 / worldSize⌋` samples, so an epoch still has about N samples in all but
///   only about N / repeats distinct images, each augmented differently on each visit (and, with
///   several processes, on different processes).
///
/// With several processes, `.sequential` and `.shuffled` pad the order by wrapping around to a
/// multiple of `worldSize` and deal it out the same way (`DistributedSampler`), so every process
/// gets the same number of samples; with `pads` false (evaluation) nothing is padded, every
/// sample is visited exactly once in all and the first `n mod worldSize` processes get one
/// sample more. With one process (the default) nothing is padded and `.shuffled` is the plain
/// permutation.
///
/// The permutation is BitViT's own (Fisher–Yates from a generator derived from `(seed, epoch)`),
/// not PyTorch's `randperm`; everything after it follows the official code exactly.
public struct EpochSampler: Equatable, Sendable {
    public enum Order: Equatable, Sendable {
        case sequential
        case shuffled
        case repeatedAugmentation(repeats: Int)
    }

    public var order: Order
    /// This process's number in `0..<worldSize`.
    public var rank: Int
    /// Processes sharing the epoch.
    public var worldSize: Int
    /// Whether `.sequential` and `.shuffled` wrap around so that every process gets the same
    /// number of samples (training); false deals out every sample exactly once (evaluation).
    public var pads: Bool

    public init(_ order: Order, rank: Int = 0, worldSize: Int = 1, pads: Bool = true) {
        precondition(worldSize >= 1 && rank >= 0 && rank < worldSize, "rank \(rank) is outside 0..<\(worldSize)")
        if case .repeatedAugmentation(let r) = order { precondition(r >= 1, "repeated augmentation needs repeats ≥ 1") }
        self.order = order
        self.rank = rank
        self.worldSize = worldSize
        self.pads = pads
    }

    /// RASampler's cut: the per-process epoch length is `⌊⌊N / 256⌋ · 256 / worldSize⌋`.
    public static let repeatedAugmentationMultiple = 256

    /// Samples this process visits in an epoch over `datasetCount` samples.
    public func sampleCount(datasetCount n: Int) -> Int {
        switch order {
        case .sequential, .shuffled:
            if worldSize == 1 { return n }
            return pads ? (n + worldSize - 1) / worldSize : (n - rank + worldSize - 1) / worldSize
        case .repeatedAugmentation:
            return n / Self.repeatedAugmentationMultiple * Self.repeatedAugmentationMultiple / worldSize
        }
    }

    /// The permutation of `0..<n` that epoch `epoch` of a run seeded with `seed` starts from.
    public static func permutation(count n: Int, seed: UInt64, epoch: Int) -> [Int] {
        var order = Array(0..<n)
        var rng = SeedDerivation.generator(seed: seed, purpose: .shuffle, epoch: epoch, index: 0)
        for i in stride(from: n - 1, to: 0, by: -1) {
            order.swapAt(i, rng.nextInt(below: i + 1))
        }
        return order
    }

    /// The samples this process visits in epoch `epoch`, in order (`sampleCount` of them).
    public func draws(datasetCount n: Int, seed: UInt64, epoch: Int) -> [SampleDraw] {
        guard n > 0 else { return [] }
        var base: [Int]
        var repeats = 1
        switch order {
        case .sequential:
            base = Array(0..<n)
        case .shuffled:
            base = Self.permutation(count: n, seed: seed, epoch: epoch)
        case .repeatedAugmentation(let r):
            base = Self.permutation(count: n, seed: seed, epoch: epoch)
            repeats = r
        }
        if worldSize == 1 && repeats == 1 { return base.map { SampleDraw(index: $0) } }
        // The repeated list has `n · repeats` entries; entry p is base[p / repeats], and its visit
        // number counts the earlier entries with the same index (wrapping adds `repeats` per lap).
        let listCount = n * repeats
        let total: Int
        if case .repeatedAugmentation = order {
            total = (listCount + worldSize - 1) / worldSize * worldSize
        } else {
            total = pads ? (n + worldSize - 1) / worldSize * worldSize : n
        }
        let count = sampleCount(datasetCount: n)
        var out: [SampleDraw] = []
        out.reserveCapacity(count)
        var p = rank
        while out.count < count && p < total {
            let lap = p / listCount, q = p % listCount
            out.append(SampleDraw(index: base[q / repeats], visit: lap * repeats + q % repeats))
            p += worldSize
        }
        return out
    }
}
