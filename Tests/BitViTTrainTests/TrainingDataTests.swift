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
        #expect(data.test.sampleCount == 10_000)
        // 10 % of each class's 6,000 training images, drawn from outside the 3 per class trained on.
        let validation = try #require(data.validation?.dataset as? DatasetSubset)
        let train = try #require(data.train.dataset as? DatasetSubset)
        #expect(validation.count == 6_000 && validation.indicesByClass.allSatisfy { $0.count == 600 })
        #expect(validation.base.count == 60_000 && train.base.count == 60_000, "both come from the training split")
        #expect(Set(validation.baseIndices).isDisjoint(with: train.baseIndices))
        #expect(data.classNames.count == 10 && data.classNames[9] == "Ankle boot")
        let batch = try data.train.batches(epoch: 0, from: 0).next()!
        #expect(batch.images.shape == [10, 1, 28, 28])
    }

    /// `train/`, `test/` and (optionally) `val/` folders of 8×8 gray PNGs in 4 classes; pixels
    /// 0–3 say where an image came from (split 1/2/3, class, number), so every image is unique.
    func writeImageFolders(_ root: URL, train: Int, val: Int?, test: Int) throws {
        var rng = RandomGenerator(seed: 17)
        for (code, split, count) in [(1, "train", train), (2, "val", val ?? 0), (3, "test", test)] where count > 0 {
            for c in 0..<4 {
                let folder = root.appendingPathComponent("\(split)/class\(c)")
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                for i in 0..<count {
                    var pixels = (0..<64).map { _ in UInt8(rng.nextInt(below: 256)) }
                    (pixels[0], pixels[1], pixels[2], pixels[3]) = (UInt8(code), UInt8(c), UInt8(i / 256), UInt8(i % 256))
                    let png = try Image(height: 8, width: 8, channels: 1, pixels: pixels).pngData()
                    try Data(png).write(to: folder.appendingPathComponent(String(format: "%04d.png", i)))
                }
            }
        }
    }

    /// The origin (split, class, number) of every image of a data set.
    func origins(_ data: any ImageDataset) throws -> [[UInt8]] {
        try (0..<data.count).map { Array(try data.image(at: $0).pixels.prefix(4)) }
    }

    func folderConfig(_ root: URL, _ overrides: [String] = []) throws -> TrainConfig {
        try tinyConfig(overrides: ["data.dataset=image-folder", "data.root=\(root.path)", "model.in_channels=1"] + overrides)
    }

    @Test func validationIsCarvedStratifiedAndDisjointFromTrainAndTest() throws {
        let root = try temporaryDirectory("folders")
        defer { try? FileManager.default.removeItem(at: root) }
        try writeImageFolders(root, train: 20, val: nil, test: 6)
        let data = try TrainingData.make(try folderConfig(root, ["data.validation.size=0.25"]))
        let validation = try #require(data.validation)
        let (train, val, test) = (try origins(data.train.dataset), try origins(validation.dataset), try origins(data.test.dataset))
        #expect(train.count == 60 && val.count == 20 && test.count == 24)
        #expect(Set(train).isDisjoint(with: val) && Set(val).isDisjoint(with: test) && Set(train).isDisjoint(with: test))
        #expect(Set(train + val).count == 80 && (train + val).allSatisfy { $0[0] == 1 }, "carved from the training split")
        #expect(validation.dataset.indicesByClass.map(\.count) == [5, 5, 5, 5], "stratified")
        #expect(validation.batchSize == 16 && validation.sampler.order == .sequential)
        // The carve has its own seed: the training seed does not move it, the validation seed does.
        let reseeded = try TrainingData.make(try folderConfig(root, ["data.validation.size=0.25", "training.seed=5"]))
        #expect(try origins(reseeded.validation!.dataset) == val)
        let other = try TrainingData.make(try folderConfig(root, ["data.validation.size=0.25", "data.validation.seed=1"]))
        #expect(try origins(other.validation!.dataset) != val)
        // A count per class, and GSB's limited data: training keeps the first 8 of each class.
        let limited = try TrainingData.make(try folderConfig(root, ["data.validation.size=3", "data.samples_per_class=8"]))
        let limitedTrain = try origins(limited.train.dataset), limitedVal = try origins(limited.validation!.dataset)
        #expect(limitedTrain.allSatisfy { $0[3] < 8 } && limitedTrain.count == 32)
        #expect(limitedVal.count == 12 && limitedVal.allSatisfy { $0[3] >= 8 })
        // No validation: everything trains, nothing is selected.
        let none = try TrainingData.make(try folderConfig(root, ["data.validation.source=none"]))
        #expect(none.validation == nil && none.train.dataset.count == 80)
    }

    /// `data.test_per_class` tests on the first K images of every class of the test split.
    @Test func testPerClassKeepsTheFirstImagesOfEveryTestClass() throws {
        let root = try temporaryDirectory("test-subset")
        defer { try? FileManager.default.removeItem(at: root) }
        try writeImageFolders(root, train: 8, val: nil, test: 6)
        let config = try folderConfig(root, ["data.validation.size=2", "data.test_per_class=2"])
        let test = try origins(try TrainingData.make(config).test.dataset)
        #expect(test.count == 8 && test.allSatisfy { $0[3] < 2 && $0[0] == 3 })
        #expect(try TrainingData.evaluationData(config).source.dataset.count == 8, "bitvit eval measures the same subset")
        #expect(throws: BitViTError.self) { try TrainingData.make(try folderConfig(root, ["data.test_per_class=7"])) }
    }

    @Test func theDataSetsOwnValidationSplitIsUsedWhenAsked() throws {
        let root = try temporaryDirectory("folders-val")
        defer { try? FileManager.default.removeItem(at: root) }
        try writeImageFolders(root, train: 10, val: 3, test: 4)
        let data = try TrainingData.make(try folderConfig(root, ["data.validation.source=dataset"]))
        #expect(try origins(data.validation!.dataset).allSatisfy { $0[0] == 2 } && data.validation!.dataset.count == 12)
        #expect(try origins(data.test.dataset).allSatisfy { $0[0] == 3 } && data.train.dataset.count == 40)
        // Without a separate test folder, `val/` is the test split and there is no validation split.
        let bare = try temporaryDirectory("folders-noval")
        defer { try? FileManager.default.removeItem(at: bare) }
        try writeImageFolders(bare, train: 10, val: nil, test: 4)
        do {
            _ = try TrainingData.make(try folderConfig(bare, ["data.validation.source=dataset"]))
            Issue.record("a missing validation split was accepted")
        } catch {
            #expect("\(error)".contains("data.validation.source"))
        }
    }

    @Test func evaluationResizesAndCropsWithTheRecipesCropFraction() throws {
        let root = try temporaryDirectory("folders-crop")
        defer { try? FileManager.default.removeItem(at: root) }
        try writeImageFolders(root, train: 10, val: nil, test: 2)
        let plain = try TrainingData.make(try folderConfig(root))
        #expect(plain.test.transform.imageTransforms.count == 1, "native size: a direct path")
        let cropped = try TrainingData.make(try folderConfig(root, ["model.image_size=16", "data.eval_crop_pct=0.875",
                                                                     "data.eval_interpolation=bilinear",
                                                                     "data.normalization=none"]))
        let steps = cropped.test.transform.imageTransforms
        #expect((steps.first as? Resize)?.target == .shorterSide(18) && (steps.first as? Resize)?.interpolation == .bilinear)
        #expect((steps.last as? CenterCrop).map { ($0.height, $0.width) } ?? (0, 0) == (16, 16))
        #expect(cropped.test.transform.normalization == Normalization.none
                && cropped.validation?.transform.normalization == Normalization.none)
        let batch = try cropped.test.batches(epoch: 0, from: 0).next()!
        #expect(batch.images.shape == [8, 1, 16, 16])
    }

    @Test func repeatedAugmentationNeedsEnoughImagesAndSaysSo() throws {
        let root = try temporaryDirectory("folders-ra")
        defer { try? FileManager.default.removeItem(at: root) }
        try writeImageFolders(root, train: 10, val: nil, test: 2)
        do {
            _ = try TrainingData.make(try folderConfig(root, ["data.repeated_augmentation=3"]))
            Issue.record("an empty repeated-augmentation epoch was accepted")
        } catch {
            #expect("\(error)".contains("0 visited per epoch"), "\(error)")
        }
        // Process 1 of 2 takes every other sample of the epoch; a rank outside the world is an error.
        let config = try folderConfig(root)
        let shard = try TrainingData.make(config, rank: 1, worldSize: 2)
        #expect(shard.train.sampleCount == 18 && shard.train.sampler == EpochSampler(.shuffled, rank: 1, worldSize: 2))
        // It evaluates its half of the validation and test images, unpadded.
        let evaluationShard = EpochSampler(.sequential, rank: 1, worldSize: 2, pads: false)
        #expect(shard.test.sampler == evaluationShard && shard.validation?.sampler == evaluationShard)
        #expect(throws: BitViTError.self) { try TrainingData.make(config, rank: 2, worldSize: 2) }
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
