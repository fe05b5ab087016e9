import Foundation
import BitViTData

/// A `BatchSource` over a BitViTData `DataLoader`: one loader per epoch, seeded with the run's
/// data seed, so epoch `e` always yields the same batches (the loader's order and augmentation
/// depend only on seed, epoch and sample index).
public struct LoaderBatchSource: BatchSource {
    public var dataset: any ImageDataset
    public var transform: TransformPipeline
    public var batchSize: Int
    public var shuffle: Bool
    /// Training drops the incomplete last batch (timm), evaluation keeps it.
    public var dropLast: Bool
    public var seed: UInt64
    public var mixup: Mixup?
    /// Background threads preparing batches.
    public var workerCount = 1

    public init(dataset: any ImageDataset, transform: TransformPipeline, batchSize: Int, shuffle: Bool,
                dropLast: Bool, seed: UInt64, mixup: Mixup? = nil) {
        self.dataset = dataset
        self.transform = transform
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.dropLast = dropLast
        self.seed = seed
        self.mixup = mixup
    }

    public var sampleCount: Int { dataset.count }

    public var batchesPerEpoch: Int {
        DataLoader.batchesPerEpoch(sampleCount: dataset.count, batchSize: batchSize, dropLast: dropLast)
    }

    public func loader(epoch: Int) -> DataLoader {
        DataLoader(dataset: dataset, transform: transform, batchSize: batchSize, shuffle: shuffle,
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

/// The training and validation data a recipe's `data` section describes.
public struct TrainingData {
    public var train: LoaderBatchSource
    /// The test split, evaluated in order without augmentation.
    public var validation: LoaderBatchSource
    public var classNames: [String]

    /// Known values of `data.dataset`.
    public static let datasetNames = ["fashion-mnist", "mnist", "cifar10", "cifar100", "image-folder"]

    /// Loads the data set (test split for validation), builds the augmentation pipeline and
    /// checks that images and classes fit `config.model`.
    public static func make(_ config: TrainConfig) throws -> TrainingData {
        try config.validate()
        let source = try datasetSource(config)
        let trainSet = try source.load(split: .train)
        let (validation, classNames) = try evaluationData(config, source: source)
        guard trainSet.classNames == classNames else {
            throw BitViTError.invalidArgument("data set '\(config.data.dataset)': the train and test splits have different classes")
        }
        var trainData: any ImageDataset = trainSet
        if let k = config.data.samplesPerClass { trainData = try trainSet.firstPerClass(k) }
        let a = config.data.augmentation
        var mixup: Mixup?
        if a.mixup > 0 || a.cutmix > 0 {
            mixup = Mixup(mixupAlpha: a.mixup, cutmixAlpha: a.cutmix, probability: a.mixProbability,
                          labelSmoothing: config.loss.labelSmoothing)
        }
        let transform = try trainingTransform(config, normalization: normalization(config.data.dataset))
        let train = LoaderBatchSource(dataset: trainData, transform: transform, batchSize: config.data.batchSize,
                                      shuffle: true, dropLast: true, seed: UInt64(config.training.seed), mixup: mixup)
        guard train.batchesPerEpoch > 0 else {
            throw BitViTError.invalidArgument("\(trainData.count) training images make no full batch of \(config.data.batchSize)")
        }
        return TrainingData(train: train, validation: validation, classNames: classNames)
    }

    /// The batches `TrainingDiagnostics` probes: the training images without augmentation, in
    /// one fixed shuffle (the same every epoch), in evaluation-sized batches.
    public func diagnosticProbe(_ config: TrainConfig) -> LoaderBatchSource {
        LoaderBatchSource(dataset: train.dataset, transform: validation.transform, batchSize: validation.batchSize,
                          shuffle: true, dropLast: false, seed: UInt64(config.training.seed))
    }

    /// The test split alone (what `bitvit eval` needs), with its class names.
    public static func evaluationData(_ config: TrainConfig) throws -> (source: LoaderBatchSource, classNames: [String]) {
        try config.validate()
        return try evaluationData(config, source: try datasetSource(config))
    }

    private static func evaluationData(_ config: TrainConfig, source: DatasetSource) throws
        -> (source: LoaderBatchSource, classNames: [String]) {
        let testSet = try source.load(split: .test)
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
        let batchSize = config.data.evalBatchSize ?? 2 * config.data.batchSize
        let validation = LoaderBatchSource(dataset: testSet, transform: evaluationTransform(config, normalization: normalization(config.data.dataset)),
                                           batchSize: batchSize, shuffle: false, dropLast: false,
                                           seed: UInt64(config.training.seed))
        return (validation, testSet.classNames)
    }

    /// The location and layout `data.dataset` and `data.root` name. Image folders decode each
    /// image once and keep it (CIFAR-10 JPEG: about 150 MB for both splits).
    public static func datasetSource(_ config: TrainConfig) throws -> DatasetSource {
        let data = config.data
        let channels = try ModelZoo.inputGeometry(config.model).inChannels
        let root = data.root.map { URL(fileURLWithPath: $0) }
        switch data.dataset {
        case "fashion-mnist":
            return .fashionMNIST(directory: root ?? FashionMNIST.defaultDirectory)
        case "mnist":
            guard let root else { throw BitViTError.invalidArgument("data.root is required for mnist") }
            return .mnist(directory: root)
        case "cifar10":
            let dir = root ?? URL(fileURLWithPath: "../shared/datasets/cifar10-jpeg")
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("data_batch_1.bin").path) {
                return .cifar10Binary(directory: dir)
            }
            return .imageFolders(root: dir, channels: channels, cachesDecodedImages: true)
        case "cifar100":
            // The binary release (`train.bin`, `test.bin`), fine labels: GSB's CIFAR-100 (gsb.md §5).
            guard let root else { throw BitViTError.invalidArgument("data.root is required for cifar100 (the cifar-100-binary folder)") }
            return .cifar100Binary(directory: root)
        case "image-folder":
            guard let root else { throw BitViTError.invalidArgument("data.root is required for image-folder") }
            return .imageFolders(root: root, channels: channels, cachesDecodedImages: true)
        default:
            throw BitViTError.invalidArgument("data.dataset '\(data.dataset)' is unknown; use one of \(datasetNames.joined(separator: ", "))")
        }
    }

    static func normalization(_ dataset: String) -> Normalization {
        switch dataset {
        case "fashion-mnist": return .fashionMNIST
        case "mnist": return .mnist
        case "cifar10": return .cifar10
        case "cifar100": return .cifar100
        default: return .imagenet
        }
    }

    /// Resize (when the data's size differs from the model's) → random crop with padding →
    /// flip → RandAugment → normalize → random erasing, each only when configured.
    static func trainingTransform(_ config: TrainConfig, normalization: Normalization) throws -> TransformPipeline {
        let size = try ModelZoo.inputGeometry(config.model).imageSize
        let a = config.data.augmentation
        var steps: [any ImageTransform] = []
        if let scale = a.randomResizedCropScale {
            guard scale.count == 2, scale[0] > 0, scale[0] <= scale[1], scale[1] <= 1 else {
                throw BitViTError.invalidArgument("data.augmentation.random_resized_crop_scale must be [min, max] in (0, 1]")
            }
            steps.append(RandomResizedCrop(size: size, scale: scale[0]...scale[1], interpolation: .bicubic))
        } else {
            steps.append(ResizeToModel(size: size))
        }
        if a.randomCropPadding > 0 { steps.append(RandomCrop(size: size, padding: a.randomCropPadding)) }
        if a.horizontalFlip { steps.append(RandomHorizontalFlip()) }
        if a.randAugmentOps > 0 {
            steps.append(RandAugment(layerCount: a.randAugmentOps, magnitude: a.randAugmentMagnitude,
                                     interpolations: [.bilinear], fill: normalization.meanPixel))
        }
        var after: [any NormalizedImageTransform] = []
        if a.randomErasing > 0 { after.append(RandomErasing(probability: a.randomErasing, mode: .perPixel)) }
        return TransformPipeline(steps, normalization: normalization, then: after)
    }

    /// Resize to the model's size (a no-op at native size) and normalize.
    static func evaluationTransform(_ config: TrainConfig, normalization: Normalization) -> TransformPipeline {
        let size = (try? ModelZoo.inputGeometry(config.model).imageSize) ?? 0
        return TransformPipeline([ResizeToModel(size: size)], normalization: normalization)
    }
}

/// Resizes (bicubic) to the model's square input unless the image already has that size, so
/// native-resolution data passes through untouched.
struct ResizeToModel: ImageTransform {
    let size: Int

    func apply(to image: Image, using rng: inout RandomGenerator) throws -> Image {
        if image.height == size && image.width == size { return image }
        return Resize(.exact(height: size, width: size), interpolation: .bicubic).apply(to: image, using: &rng)
    }
}
