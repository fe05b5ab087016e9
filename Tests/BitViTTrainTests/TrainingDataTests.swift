import Foundation
import Testing
import BitViTTrain

@Suite struct TrainingDataTests {
    /// 40 random 8×8 gray images in 4 classes.
    func dataset() throws -> InMemoryDataset {
        var rng = RandomGenerator(seed: 4)
        let pixels = (0..<(40 * 64)).map { _ in UInt8(rng.nextInt(below: 256)) }
        return try InMemoryDataset(height: 8, width: 8, channels: 1, pixels: pixels, labels: (0..<40).map { $0 % 4 },
                                   classNames: ["a", "b", "c", "d"])
    }

    @Test func resumingInsideAnEpochYieldsTheSameBatches() throws {
        let transform = TransformPipeline([RandomCrop(size: 8, padding: 2), RandomHorizontalFlip()],
                                          normalization: Normalization(mean: [0.5], std: [0.25]))
        let source = LoaderBatchSource(dataset: try dataset(), transform: transform, batchSize: 6, shuffle: true,
                                       dropLast: true, seed: 9)
        #expect(source.batchesPerEpoch == 6)
        var full: [Batch] = []
        let stream = try source.batches(epoch: 1, from: 0)
        while let b = try stream.next() { full.append(b) }
        #expect(full.count == 6)
        var tail: [Batch] = []
        let resumed = try source.batches(epoch: 1, from: 4)
        while let b = try resumed.next() { tail.append(b) }
        #expect(tail.map(\.indices) == full.suffix(2).map(\.indices))
        #expect(tail.map(\.images.scalars) == full.suffix(2).map(\.images.scalars))
        let other = try source.batches(epoch: 2, from: 0).next()!
        #expect(other.indices != full[0].indices, "another epoch has another order")
    }

    static let fashionMNISTInstalled = FileManager.default.fileExists(
        atPath: FashionMNIST.defaultDirectory.appendingPathComponent("t10k-images-idx3-ubyte.gz").path)

    @Test(.enabled(if: fashionMNISTInstalled, "needs Debian's dataset-fashion-mnist (scripts/setup)"))
    func demoRecipeDataFitsTheModel() throws {
        let config = try TrainConfig.demo(overrides: ["data.samples_per_class=3", "data.batch_size=10"])
        let data = try TrainingData.make(config)
        #expect(data.train.sampleCount == 30 && data.train.batchesPerEpoch == 3)
        #expect(data.validation.sampleCount == 10_000)
        #expect(data.classNames.count == 10 && data.classNames[9] == "Ankle boot")
        let batch = try data.train.batches(epoch: 0, from: 0).next()!
        #expect(batch.images.shape == [10, 1, 28, 28])
    }

    @Test func unknownDatasetAndClassMismatchAreClearErrors() throws {
        #expect {
            _ = try TrainConfig.resolve(recipeText: "data: {dataset: imagenet-22k}")
        } throws: { error in
            "\(error)".contains("data.dataset") && "\(error)".contains("imagenet-22k") && "\(error)".contains(DatasetKind.names)
        }
        let folder = try temporaryDirectory("folder")
        defer { try? FileManager.default.removeItem(at: folder) }
        let missing = try TrainConfig.resolve(recipeText: "data: {dataset: image-folder, root: \(folder.path)}")
        #expect(throws: BitViTError.self) { try TrainingData.make(missing) }
    }
}

@Suite struct TrainingDataChannelTests {
    @Test(.enabled(if: TrainingDataTests.fashionMNISTInstalled, "needs Debian's dataset-fashion-mnist (scripts/setup)"))
    func grayImagesForAnRGBModelAreAClearError() throws {
        let config = try TrainConfig.demo(overrides: ["model.in_channels=3"])
        do {
            _ = try TrainingData.evaluationData(config)
            Issue.record("a channel mismatch was accepted")
        } catch {
            #expect("\(error)".contains("in_channels"))
        }
    }
}
