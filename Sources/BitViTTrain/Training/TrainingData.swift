import Foundation
import BitViTData

/// A `BatchSource` over a BitViTData `DataLoader`: one loader per epoch, seeded with the run's
/// data seed, so epoch `e` always yields the same batches (the loader's samples, order and
/// augmentation depend only on the sampler, seed, epoch, sample index and visit).
public struct LoaderBatchSource: BatchSource {
    public var dataset: any ImageDataset
    public var transform: TransformPipeline
    public var batchSize: Int
    /// Which samples an epoch visits, in which order, on which process.
    public var sampler: EpochSampler
    /// Training drops the incomplete last batch (timm), evaluation keeps it.
    public var dropLast: Bool
    public var seed: UInt64
    public var mixup: Mixup?
    /// Background threads preparing batches.
    public var workerCount = 1

    public init(dataset: any ImageDataset, transform: TransformPipeline, batchSize: Int, sampler: EpochSampler,
                dropLast: Bool, seed: UInt64, mixup: Mixup? = nil) {
        self.dataset = dataset
        self.transform = transform
        self.batchSize = batchSize
        self.sampler = sampler
        self.dropLast = dropLast
        self.seed = seed
        self.mixup = mixup
    }

    /// Every sample once per epoch, shuffled or in index order, on one process.
    public init(dataset: any ImageDataset, transform: TransformPipeline, batchSize: Int, shuffle: Bool,
                dropLast: Bool, seed: UInt64, mixup: Mixup? = nil) {
        self.init(dataset: dataset, transform: transform, batchSize: batchSize,
                  sampler: EpochSampler(shuffle ? .shuffled : .sequential), dropLast: dropLast, seed: seed, mixup: mixup)
    }

    /// Samples visited per epoch (with repeated augmentation, not the data set's size).
    public var sampleCount: Int { sampler.sampleCount(datasetCount: dataset.count) }

    public var batchesPerEpoch: Int {
        DataLoader.batchesPerEpoch(sampleCount: sampleCount, batchSize: batchSize, dropLast: dropLast)
    }

    public func loader(epoch: Int) -> DataLoader {
        DataLoader(dataset: dataset, transform: transform, batchSize: batchSize, sampler: sampler,
                   dropLast: dropLast, seed: seed, epoch: epoch, mixup: mixup, workerCount: workerCount)
    }

    public func batches(epoch: Int, from start: Int) throws -> BatchStream {
        let loader = loader(epoch: epoch)
        if start == 0 {
            let iterator = loader.makeIterator()
            return BatchStream { try iterator.nextBatch() }
        }
        // Resuming inside an epoch: the remaining batches are prepared one by one; the loader
        // makes batch `i` identical to the one the uninterrupted epoch would have produced.
        var next = start
        return BatchStream {
            guard next < loader.batchesPerEpoch else { return nil }
            defer { next += 1 }
            return try loader.batch(at: next)
        }
    }
}

/// The training, validation and test data a recipe's `data` section describes.
///
/// Validation images select the best checkpoint; the test split is evaluated once, after
/// training (`Trainer.testData`), so a reported test accuracy is never the maximum over epochs.
public struct TrainingData {
    public var train: LoaderBatchSource
    /// The validation images, in order without augmentation (nil: `data.validation.source: none`).
    public var validation: LoaderBatchSource?
    /// The test split, in order without augmentation.
    public var test: LoaderBatchSource
    public var classNames: [String]

    /// Loads the data set, carves or loads the validation images, builds the augmentation
    /// pipeline and the sampler of process `rank` of `worldSize`, and checks that images and
    /// classes fit `config.model`.
    ///
    /// With several processes, each one trains on its shard of every epoch (padded like
    /// `DistributedSampler`, so all shards have the same length) and evaluates its shard of the
    /// validation and test images (unpadded: every image exactly once over the processes).
    public static func make(_ config: TrainConfig, rank: Int = 0, worldSize: Int = 1) throws -> TrainingData {
        try config.validate()
        guard worldSize >= 1, (0..<worldSize).contains(rank) else {
            throw BitViTError.invalidArgument("process rank \(rank) is outside 0..<\(worldSize) (world size \(worldSize))")
        }
        let source = try datasetSource(config)
        let trainSet = try source.load(split: .train)
        var (test, classNames) = try evaluationData(config, source: source)
        let evaluationShard = EpochSampler(.sequential, rank: rank, worldSize: worldSize, pads: false)
        test.sampler = evaluationShard
        guard trainSet.classNames == classNames else {
            throw BitViTError.invalidArgument("data set '\(config.data.dataset)': the train and test splits have different classes")
        }
        let (trainData, validationSet) = try splitTraining(trainSet, config: config, source: source)
        let a = config.data.augmentation
        var mixup: Mixup?
        if a.mixup > 0 || a.cutmix > 0 {
            mixup = Mixup(mixupAlpha: a.mixup, cutmixAlpha: a.cutmix, probability: a.mixProbability,
                          labelSmoothing: config.loss.labelSmoothing)
        }
        let normalization = try self.normalization(config)
        let transform = try trainingTransform(config, normalization: normalization)
        let r = config.data.repeatedAugmentation
        let sampler = EpochSampler(r > 0 ? .repeatedAugmentation(repeats: r) : .shuffled, rank: rank, worldSize: worldSize)
        let train = LoaderBatchSource(dataset: trainData, transform: transform, batchSize: config.data.batchSize,
                                      sampler: sampler, dropLast: true, seed: UInt64(config.training.seed), mixup: mixup)
        guard train.batchesPerEpoch > 0 else {
            throw BitViTError.invalidArgument(
                "\(trainData.count) training images (\(train.sampleCount) visited per epoch) make no full batch of \(config.data.batchSize)")
        }
        let validation = validationSet.map {
            LoaderBatchSource(dataset: $0, transform: test.transform, batchSize: test.batchSize, sampler: evaluationShard,
                              dropLast: false, seed: UInt64(config.training.seed))
        }
        return TrainingData(train: train, validation: validation, test: test, classNames: classNames)
    }

    /// The training images and the validation images `data.validation` describes.
    private static func splitTraining(_ trainSet: any ImageDataset, config: TrainConfig, source: DatasetSource) throws
        -> (train: any ImageDataset, validation: (any ImageDataset)?) {
        let v = config.data.validation, k = config.data.samplesPerClass
        func limited() throws -> any ImageDataset { try k.map { try trainSet.firstPerClass($0) } ?? trainSet }
        switch v.source {
        case "none":
            return (try limited(), nil)
        case "dataset":
            guard let validation = try source.loadValidationSplit() else {
                throw BitViTError.invalidArgument(
                    "data set '\(config.data.dataset)' has no validation split of its own (data.validation.source: dataset needs image folders with both val/ and test/); use source: train")
            }
            guard validation.classNames == trainSet.classNames else {
                throw BitViTError.invalidArgument("data set '\(config.data.dataset)': the train and val splits have different classes")
            }
            return (try limited(), validation)
        default:
            do {
                let split = try trainSet.stratifiedSplit(validation: v.amount, seed: UInt64(v.seed), trainingPerClass: k)
                return (split.train, split.validation)
            } catch let error as BitViTError {
                throw BitViTError.invalidArgument("data.validation (size \(v.size)) on '\(config.data.dataset)': \(error)")
            }
        }
    }

    /// The batches `TrainingDiagnostics` probes: the training images without augmentation, in
    /// one fixed shuffle (the same every epoch), in evaluation-sized batches.
    public func diagnosticProbe(_ config: TrainConfig) -> LoaderBatchSource {
        LoaderBatchSource(dataset: train.dataset, transform: test.transform, batchSize: test.batchSize,
                          shuffle: true, dropLast: false, seed: UInt64(config.training.seed))
    }

    /// The test split alone (what `bitvit eval` needs), with its class names.
    public static func evaluationData(_ config: TrainConfig) throws -> (source: LoaderBatchSource, classNames: [String]) {
        try config.validate()
        return try evaluationData(config, source: try datasetSource(config))
    }

    private static func evaluationData(_ config: TrainConfig, source: DatasetSource) throws
        -> (source: LoaderBatchSource, classNames: [String]) {
        let fullTestSet = try source.load(split: .test)
        let testSet: any ImageDataset = try config.data.testPerClass.map { try fullTestSet.firstPerClass($0) } ?? fullTestSet
        let geometry = try ModelZoo.inputGeometry(config.model)
        guard testSet.classCount == geometry.classes else {
            throw BitViTError.invalidArgument(
                "data set '\(config.data.dataset)' has \(testSet.classCount) classes, model.classes is \(geometry.classes)")
        }
        // A channel mismatch would otherwise stop the model's forward pass.
        if testSet.count > 0 {
            let channels = try testSet.image(at: 0).channels
            guard channels == geometry.inChannels else {
                throw BitViTError.invalidArgument(
                    "data set '\(config.data.dataset)' has \(channels)-channel images, model '\(config.model.name)' takes \(geometry.inChannels) (model.in_channels)")
            }
        }
        let test = LoaderBatchSource(dataset: testSet, transform: try evaluationTransform(config, normalization: normalization(config)),
                                     batchSize: config.data.evalBatchSize ?? 2 * config.data.batchSize, shuffle: false,
                                     dropLast: false, seed: UInt64(config.training.seed))
        return (test, testSet.classNames)
    }

    /// The location and layout `data.dataset` and `data.root` name. Image folders decode each
    /// image once and keep it (CIFAR-10 JPEG: about 150 MB for both splits).
    public static func datasetSource(_ config: TrainConfig) throws -> DatasetSource {
        let data = config.data
        let channels = try ModelZoo.inputGeometry(config.model).inChannels
        let root = data.root.map { URL(fileURLWithPath: $0) }
        switch data.dataset {
        case .fashionMNIST:
            return .fashionMNIST(directory: root ?? FashionMNIST.defaultDirectory)
        case .mnist:
            guard let root else { throw BitViTError.invalidArgument("data.root is required for mnist") }
            return .mnist(directory: root)
        case .cifar10:
            let dir = root ?? URL(fileURLWithPath: "../shared/datasets/cifar10-jpeg")
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("data_batch_1.bin").path) {
                return .cifar10Binary(directory: dir)
            }
            return .imageFolders(root: dir, channels: channels, cachesDecodedImages: true)
        case .cifar100:
            // The binary release (`train.bin`, `test.bin`), fine labels: GSB's CIFAR-100 (docs/reference/gsb.md §6.4).
            guard let root else { throw BitViTError.invalidArgument("data.root is required for cifar100 (the cifar-100-binary folder)") }
            return .cifar100Binary(directory: root)
        case .imageFolder:
            guard let root else { throw BitViTError.invalidArgument("data.root is required for image-folder") }
            return .imageFolders(root: root, channels: channels, cachesDecodedImages: true)
        }
    }

    /// `data.normalization`, or the data set's own statistics when unset.
    public static func normalization(_ config: TrainConfig) throws -> Normalization {
        if let name = config.data.normalization {
            guard let preset = Normalization(presetName: name) else {
                throw BitViTError.invalidArgument("data.normalization '\(name)' is not a preset")
            }
            return preset
        }
        return config.data.dataset.normalization
    }

    static func interpolation(_ name: String, field: String) throws -> Interpolation {
        guard let value = Interpolation(rawValue: name) else {
            throw BitViTError.invalidArgument("\(field) '\(name)' is not an interpolation")
        }
        return value
    }

    /// Resize (when the data's size differs from the model's) → random crop with padding →
    /// flip → RandAugment → normalize → random erasing, each only when configured; every
    /// resampling step uses `data.augmentation.interpolation`.
    static func trainingTransform(_ config: TrainConfig, normalization: Normalization) throws -> TransformPipeline {
        let size = try ModelZoo.inputGeometry(config.model).imageSize
        let a = config.data.augmentation
        let interpolation = try interpolation(a.interpolation, field: "data.augmentation.interpolation")
        var steps: [any ImageTransform] = []
        if let scale = a.randomResizedCropScale {
            guard scale.count == 2, scale[0] > 0, scale[0] <= scale[1], scale[1] <= 1 else {
                throw BitViTError.invalidArgument("data.augmentation.random_resized_crop_scale must be [min, max] in (0, 1]")
            }
            steps.append(RandomResizedCrop(size: size, scale: scale[0]...scale[1], interpolation: interpolation))
        } else {
            steps.append(ResizeToModel(size: size, interpolation: interpolation))
        }
        if a.randomCropPadding > 0 { steps.append(RandomCrop(size: size, padding: a.randomCropPadding)) }
        if a.horizontalFlip { steps.append(RandomHorizontalFlip()) }
        if a.randAugmentOps > 0 {
            steps.append(RandAugment(layerCount: a.randAugmentOps, magnitude: a.randAugmentMagnitude,
                                     interpolations: [interpolation], fill: normalization.meanPixel))
        }
        var after: [any NormalizedImageTransform] = []
        if a.randomErasing > 0 { after.append(RandomErasing(probability: a.randomErasing, mode: .perPixel)) }
        return TransformPipeline(steps, normalization: normalization, then: after)
    }

    /// With `data.eval_crop_pct`: timm's evaluation transform (resize the shorter side to
    /// `⌊size / crop_pct⌋`, center-crop `size`); without: resize straight to the model's size
    /// (a no-op at native size). Then normalize.
    static func evaluationTransform(_ config: TrainConfig, normalization: Normalization) throws -> TransformPipeline {
        let size = try ModelZoo.inputGeometry(config.model).imageSize
        let interpolation = try interpolation(config.data.evalInterpolation, field: "data.eval_interpolation")
        if let crop = config.data.evalCropPct {
            return .evaluation(imageSize: size, cropFraction: crop, interpolation: interpolation, normalization: normalization)
        }
        return TransformPipeline([ResizeToModel(size: size, interpolation: interpolation)], normalization: normalization)
    }
}

/// Resizes to the model's square input unless the image already has that size, so
/// native-resolution data passes through untouched.
struct ResizeToModel: ImageTransform {
    let size: Int
    var interpolation = Interpolation.bicubic

    func apply(to image: Image, using rng: inout RandomGenerator) throws -> Image {
        if image.height == size && image.width == size { return image }
        return Resize(.exact(height: size, width: size), interpolation: interpolation).apply(to: image, using: &rng)
    }
}
