import BitViTCore
import BitViTData
import Foundation
import Testing

@Suite struct DataLoaderTests {
    let dataset: InMemoryDataset

    init() throws {
        // 50 RGB 8×8 images, sample i filled with i, labels cycling through 5 classes.
        dataset = try syntheticDataset(labels: (0..<50).map { $0 % 5 }, classes: 5, size: 8, channels: 3)
    }

    func loader(workers: Int, depth: Int, epoch: Int = 0, mixup: Mixup? = nil) -> DataLoader {
        DataLoader(dataset: dataset, transform: .cifarTraining(size: 8, padding: 2), batchSize: 8,
                   shuffle: true, dropLast: false, seed: 1234, epoch: epoch, mixup: mixup,
                   prefetchDepth: depth, workerCount: workers)
    }

    func collect(_ loader: DataLoader) throws -> [Batch] {
        var batches: [Batch] = []
        try loader.forEachBatch { batches.append($0) }
        return batches
    }

    @Test func sameSeedAndEpochGiveIdenticalBatchesWhateverTheThreading() throws {
        let mixup = Mixup(mixupAlpha: 0.8, cutmixAlpha: 1)
        let reference = try collect(loader(workers: 0, depth: 1, mixup: mixup))
        #expect(reference.count == 7 && loader(workers: 0, depth: 1).batchesPerEpoch == 7)
        #expect(reference.map(\.count) == [8, 8, 8, 8, 8, 8, 2])
        for (workers, depth) in [(1, 1), (1, 4), (2, 2), (3, 8)] {
            let batches = try collect(loader(workers: workers, depth: depth, mixup: mixup))
            #expect(batches.count == reference.count)
            for (a, b) in zip(batches, reference) {
                #expect(a.indices == b.indices && a.labels == b.labels)
                #expect(a.images.shape == b.images.shape && a.images.scalars == b.images.scalars,
                        "workers \(workers), depth \(depth)")
                #expect(a.targets?.scalars == b.targets?.scalars)
            }
        }
    }

    @Test func epochsShuffleDifferentlyAndCoverEverySampleOnce() throws {
        let first = try collect(loader(workers: 1, depth: 2, epoch: 0))
        let second = try collect(loader(workers: 1, depth: 2, epoch: 1))
        let order0 = first.flatMap(\.indices), order1 = second.flatMap(\.indices)
        #expect(order0.sorted() == Array(0..<50) && order1.sorted() == Array(0..<50))
        #expect(order0 != order1)
        #expect(order0 == loader(workers: 0, depth: 1, epoch: 0).sampleOrder)
        // Labels follow the samples; images are [B, 3, 8, 8].
        for batch in first {
            #expect(batch.labels == batch.indices.map { $0 % 5 })
            #expect(batch.images.shape == [batch.count, 3, 8, 8])
            #expect(batch.targets == nil)
        }
    }

    @Test func eachSampleIsThePipelineAppliedWithItsOwnGenerator() throws {
        let loader = loader(workers: 1, depth: 2, epoch: 3)
        let batch = try loader.batch(at: 2)
        for (position, index) in batch.indices.enumerated() {
            var rng = DataLoader.sampleGenerator(seed: 1234, epoch: 3, index: index)
            let expected = try loader.transform(dataset.image(at: index), using: &rng)
            #expect(Array(batch.images.scalars[(position * 192)..<((position + 1) * 192)]) == expected.scalars)
        }
    }

    @Test func dropLastAndUnshuffledOrder() throws {
        let plain = DataLoader(dataset: dataset, transform: .cifarEvaluation(normalization: .none), batchSize: 16,
                               dropLast: true, workerCount: 2)
        let batches = try collect(plain)
        #expect(batches.count == 3 && plain.batchesPerEpoch == 3)
        #expect(batches.flatMap(\.indices) == Array(0..<48))
        // Unaugmented sample 17 is 17/255 everywhere.
        #expect(batches[1].images.scalars[1 * 192] == Float(17) / 255)
        #expect(DataLoader.batchesPerEpoch(sampleCount: 10, batchSize: 4, dropLast: false) == 3)
    }

    @Test func stoppingEarlyShutsTheWorkersDown() throws {
        let big = try syntheticDataset(labels: (0..<2000).map { $0 % 5 }, classes: 5, size: 8, channels: 3)
        let loader = DataLoader(dataset: big, transform: .cifarTraining(size: 8, padding: 2), batchSize: 10,
                                shuffle: true, seed: 1, prefetchDepth: 4, workerCount: 2)
        let iterator = loader.makeIterator()
        #expect(try iterator.nextBatch()?.count == 10)
        iterator.close()
        #expect(iterator.runningWorkerCount == 0)
        #expect(try iterator.nextBatch() == nil)

        // Breaking out of a for-in loop releases the iterator, which stops its threads.
        var seen = 0
        for result in loader {
            _ = try result.get()
            seen += 1
            if seen == 3 { break }
        }
        #expect(seen == 3)
    }

    @Test func aCorruptFileReachesTheConsumerNamingTheFile() throws {
        let dir = try TemporaryDirectory()
        let good = try Image(height: 8, width: 8, channels: 3, repeating: 50).pngData()
        for i in 0..<12 { try dir.write(good, to: "a/\(String(format: "%02d", i)).png") }
        let bad = try dir.write(Array(good.prefix(good.count - 30)), to: "a/05.png")
        let folder = try ImageFolderDataset(root: dir.url)
        for workers in [0, 2] {
            let loader = DataLoader(dataset: folder, transform: .cifarEvaluation(normalization: .none),
                                    batchSize: 4, workerCount: workers)
            let iterator = loader.makeIterator()
            #expect(try iterator.nextBatch()?.indices == [0, 1, 2, 3])
            expectError(naming: bad.path, mentioning: ["PNG"]) { _ = try iterator.nextBatch() }
            #expect(try iterator.nextBatch() == nil, "the epoch ends at the error")
            expectError(naming: bad.path) { try loader.forEachBatch { _ in } }
        }
    }

    @Test func mismatchedSampleSizesAreReported() throws {
        let dir = try TemporaryDirectory()
        try dir.write(try Image(height: 8, width: 8, channels: 3).pngData(), to: "a/0.png")
        try dir.write(try Image(height: 9, width: 8, channels: 3).pngData(), to: "a/1.png")
        let loader = DataLoader(dataset: try ImageFolderDataset(root: dir.url), transform: TransformPipeline(),
                                batchSize: 2, workerCount: 0)
        #expect(throws: BitViTError.self) { try loader.forEachBatch { _ in } }
    }
}
