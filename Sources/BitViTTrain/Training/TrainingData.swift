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
    public static let datasetNames = ["fashion-mnist", "mnist", "cifar10", "image-folder"]

    /// Loads the data set (test split for validation), builds the augmentation pipeline and
    /// checks that images and classes fit `config.model`.
    public static func make(_ config: TrainConfig) throws -> TrainingData {
        let model = try config.model.vitConfig()
        let (trainSet, testSet) = try datasets(config.data, channels: model.inChannels)
        guard trainSet.classCount == model.classes else {
            throw BitViTError.invalidArgument(
                "data set '\(config.data.dataset)' has \(trainSet.classCount) classes, model.classes is \(model.classes)")
        }
        var trainData: any ImageDataset = trainSet
        if let k = config.data.samplesPerClass { trainData = try trainSet.firstPerClass(k) }
        let normalization = normalization(config.data.dataset)
        let seed = UInt64(config.training.seed)
        let a = config.data.augmentation
        var mixup: Mixup?
        if a.mixup > 0 || a.cutmix > 0 {
            mixup = Mixup(mixupAlpha: a.mixup, cutmixAlpha: a.cutmix, probability: a.mixProbability,
                          labelSmoothing: config.loss.labelSmoothing)
        }
        let train = LoaderBatchSource(dataset: trainData, transform: try trainingTransform(config, normalization: normalization),
                                      batchSize: config.data.batchSize, shuffle: true, dropLast: true, seed: seed, mixup: mixup)
        let validation = LoaderBatchSource(dataset: testSet, transform: evaluationTransform(config, normalization: normalization),
                                           batchSize: config.data.evalBatchSize ?? 2 * config.data.batchSize,
                                           shuffle: false, dropLast: false, seed: seed)
        guard train.batchesPerEpoch > 0 else {
            throw BitViTError.invalidArgument("\(trainData.count) training images make no full batch of \(config.data.batchSize)")
        }
        return TrainingData(train: train, validation: validation, classNames: trainSet.classNames)
    }

    /// The training and test splits of `data.dataset`.
    static func datasets(_ data: DataConfig, channels: Int) throws -> (train: any ImageDataset, test: any ImageDataset) {
        switch data.dataset {
        case "fashion-mnist":
            let dir = data.root.map { URL(fileURLWithPath: $0) } ?? FashionMNIST.defaultDirectory
            return (try FashionMNIST.load(split: .train, directory: dir), try FashionMNIST.load(split: .test, directory: dir))
        case "mnist":
            guard let root = data.root else { throw BitViTError.invalidArgument("data.root is required for mnist") }
            let dir = URL(fileURLWithPath: root)
            return (try MNIST.load(split: .train, directory: dir), try MNIST.load(split: .test, directory: dir))
        case "cifar10":
            let dir = URL(fileURLWithPath: data.root ?? "../shared/datasets/cifar10-jpeg")
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("data_batch_1.bin").path) {
                return (try CIFARReader.cifar10(directory: dir, split: .train), try CIFARReader.cifar10(directory: dir, split: .test))
            }
            return try imageFolders(dir, channels: channels)
        case "image-folder":
            guard let root = data.root else { throw BitViTError.invalidArgument("data.root is required for image-folder") }
            return try imageFolders(URL(fileURLWithPath: root), channels: channels)
        default:
            throw BitViTError.invalidArgument("data.dataset '\(data.dataset)' is unknown; use one of \(datasetNames.joined(separator: ", "))")
        }
    }

    /// `root/train/<class>/*` and `root/test/<class>/*`, decoded once and cached.
    private static func imageFolders(_ root: URL, channels: Int) throws -> (train: any ImageDataset, test: any ImageDataset) {
        let train = try ImageFolderDataset(root: root.appendingPathComponent("train"), channels: channels, cachesDecodedImages: true)
        let test = try ImageFolderDataset(root: root.appendingPathComponent("test"), channels: channels, cachesDecodedImages: true)
        guard train.classNames == test.classNames else {
            throw BitViTError.malformed(file: root.path, reason: "train/ and test/ have different class folders")
        }
        return (train, test)
    }

    static func normalization(_ dataset: String) -> Normalization {
        switch dataset {
        case "fashion-mnist": return .fashionMNIST
        case "mnist": return .mnist
        case "cifar10": return .cifar10
        default: return .imagenet
        }
    }

    /// Resize (when the data's size differs from the model's) → random crop with padding →
    /// flip → RandAugment → normalize → random erasing, each only when configured.
    static func trainingTransform(_ config: TrainConfig, normalization: Normalization) throws -> TransformPipeline {
        let size = try config.model.vitConfig().imageSize
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
        let size = (try? config.model.vitConfig().imageSize) ?? 0
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
