import BitViTCore
import BitViTData
import Testing

/// DeiT's `RASampler.__iter__` written out as the Python does it, on a given permutation:
/// repeat every index `repeats` times in a row, pad by wrapping to a multiple of `worldSize`,
/// take every `worldSize`-th from `rank`, keep the first `⌊⌊N/256⌋·256 / worldSize⌋`.
private func referenceRASampler(permutation: [Int], repeats: Int, rank: Int, worldSize: Int) -> [Int] {
    let n = permutation.count
    let samplesPerRank = Int((Double(n * repeats) / Double(worldSize)).rounded(.up))
    let total = samplesPerRank * worldSize
    var indices = permutation.flatMap { Array(repeating: $0, count: repeats) }
    indices += indices.prefix(total - indices.count)
    let shard = stride(from: rank, to: total, by: worldSize).map { indices[$0] }
    return Array(shard.prefix(n / 256 * 256 / worldSize))
}

@Suite struct EpochSamplerTests {
    @Test func shuffledOnOneProcessIsAPermutationVisitedOnce() {
        let sampler = EpochSampler(.shuffled)
        let draws = sampler.draws(datasetCount: 50, seed: 3, epoch: 2)
        #expect(draws.map(\.index).sorted() == Array(0..<50) && draws.allSatisfy { $0.visit == 0 })
        #expect(draws.map(\.index) == EpochSampler.permutation(count: 50, seed: 3, epoch: 2))
        #expect(draws == sampler.draws(datasetCount: 50, seed: 3, epoch: 2), "an epoch is a function of (seed, epoch)")
        #expect(draws != sampler.draws(datasetCount: 50, seed: 3, epoch: 3))
        #expect(EpochSampler(.sequential).draws(datasetCount: 5, seed: 3, epoch: 2).map(\.index) == Array(0..<5))
    }

    @Test(arguments: [(600, 3, 1), (600, 3, 4), (1000, 3, 3), (777, 2, 8), (256, 1, 1), (300, 3, 5)])
    func repeatedAugmentationFollowsRASampler(n: Int, repeats: Int, worldSize: Int) {
        let permutation = EpochSampler.permutation(count: n, seed: 11, epoch: 4)
        var union: [Int] = []
        for rank in 0..<worldSize {
            let sampler = EpochSampler(.repeatedAugmentation(repeats: repeats), rank: rank, worldSize: worldSize)
            let draws = sampler.draws(datasetCount: n, seed: 11, epoch: 4)
            let reference = referenceRASampler(permutation: permutation, repeats: repeats, rank: rank, worldSize: worldSize)
            #expect(draws.map(\.index) == reference, "n \(n), repeats \(repeats), rank \(rank) of \(worldSize)")
            #expect(draws.count == sampler.sampleCount(datasetCount: n) && draws.count == n / 256 * 256 / worldSize)
            // Every visit of an index on this process has its own number, so its own augmentation.
            #expect(Set(draws).count == draws.count)
            union += draws.map(\.index)
        }
        // Together the processes see about N samples, each image at most `repeats` times (plus padding).
        #expect(union.count == worldSize * (n / 256 * 256 / worldSize))
    }

    @Test func repeatsOfAnImageGoToDifferentProcessesAndGetDifferentVisits() {
        let n = 512, worldSize = 3
        var seen: [Int: [(rank: Int, visit: Int)]] = [:]
        for rank in 0..<worldSize {
            for d in EpochSampler(.repeatedAugmentation(repeats: 3), rank: rank, worldSize: worldSize)
                .draws(datasetCount: n, seed: 1, epoch: 0) {
                seen[d.index, default: []].append((rank, d.visit))
            }
        }
        let full = seen.values.filter { $0.count == 3 }
        #expect(full.count > 100)
        for visits in full {
            #expect(Set(visits.map(\.rank)).count == 3, "the three copies land on three processes")
            #expect(Set(visits.map(\.visit)) == [0, 1, 2])
        }
        // On one process the copies come in a row, with visits 0, 1, 2.
        let single = EpochSampler(.repeatedAugmentation(repeats: 3)).draws(datasetCount: n, seed: 1, epoch: 0)
        #expect(single.prefix(6).map(\.visit) == [0, 1, 2, 0, 1, 2])
        #expect(single[0].index == single[2].index && single[3].index != single[0].index)
    }

    @Test func shardsOfAShuffledEpochPadByWrapping() {
        let n = 10, worldSize = 4
        let permutation = EpochSampler.permutation(count: n, seed: 2, epoch: 1)
        var all: [SampleDraw] = []
        for rank in 0..<worldSize {
            let draws = EpochSampler(.shuffled, rank: rank, worldSize: worldSize).draws(datasetCount: n, seed: 2, epoch: 1)
            #expect(draws.count == 3, "DistributedSampler: ceil(10 / 4) per process")
            #expect(draws.map(\.index) == stride(from: rank, to: 12, by: 4).map { permutation[$0 % n] })
            all += draws
        }
        #expect(Set(all.map(\.index)) == Set(0..<n))
        #expect(all.filter { $0.visit == 1 }.map(\.index).sorted() == permutation.prefix(2).sorted(), "2 padded visits")
    }

    /// Evaluation shards (`pads: false`) visit every sample exactly once over the processes,
    /// in index order within each shard, even when the processes outnumber the samples.
    @Test(arguments: [(10, 4), (12, 4), (3, 5), (1, 1)])
    func unpaddedShardsVisitEverySampleOnce(n: Int, worldSize: Int) {
        var all: [Int] = []
        for rank in 0..<worldSize {
            let sampler = EpochSampler(.sequential, rank: rank, worldSize: worldSize, pads: false)
            let draws = sampler.draws(datasetCount: n, seed: 3, epoch: 0)
            #expect(draws.count == sampler.sampleCount(datasetCount: n))
            #expect(draws.map(\.index) == Array(stride(from: rank, to: n, by: worldSize)))
            #expect(draws.allSatisfy { $0.visit == 0 })
            all += draws.map(\.index)
        }
        #expect(all.sorted() == Array(0..<n))
    }

    @Test func theLoaderAugmentsEveryVisitWithItsOwnGenerator() throws {
        let dataset = try syntheticDataset(labels: (0..<300).map { $0 % 3 }, classes: 3, size: 8, channels: 3)
        let transform = TransformPipeline([RandomCrop(size: 8, padding: 3), RandomHorizontalFlip()], normalization: .none)
        let loader = DataLoader(dataset: dataset, transform: transform, batchSize: 32,
                                sampler: EpochSampler(.repeatedAugmentation(repeats: 3)), dropLast: true, seed: 5, epoch: 1)
        #expect(loader.sampleCount == 256 && loader.batchesPerEpoch == 8)
        var batches: [Batch] = []
        try loader.forEachBatch { batches.append($0) }
        #expect(batches.count == 8)
        let first = batches[0]
        #expect(first.indices[0] == first.indices[1] && first.indices[1] == first.indices[2])
        let plane = 8 * 8 * 3
        let copies = (0..<3).map { Array(first.images.scalars[($0 * plane)..<(($0 + 1) * plane)]) }
        #expect(Set(copies.map { $0.map(\.bitPattern) }).count > 1, "the repeats are augmented differently")
        for (visit, copy) in copies.enumerated() {
            var rng = DataLoader.sampleGenerator(seed: 5, epoch: 1, index: first.indices[0], visit: visit)
            #expect(try loader.transform(dataset.image(at: first.indices[0]), using: &rng).scalars == copy)
        }
        // A batch prepared alone (resuming mid-epoch) is the one the epoch delivered.
        #expect(try loader.batch(at: 5).images.scalars == batches[5].images.scalars)
        // Visit 0 uses the generator a plain loader uses, so runs without repetition are unchanged.
        var a = DataLoader.sampleGenerator(seed: 5, epoch: 1, index: 7)
        var b = DataLoader.sampleGenerator(seed: 5, epoch: 1, index: 7, visit: 0)
        #expect(a.next() == b.next())
    }
}
