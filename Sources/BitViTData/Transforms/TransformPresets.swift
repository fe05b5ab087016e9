import BitViTCore

/// The preprocessing of the methods' training scripts (docs/reference/gsb.md §6.4, docs/reference/qvit.md §7.2,
/// docs/reference/bhvit.md §8).
extension TransformPipeline {
    /// timm's `create_transform(is_training=True)` as DeiT, GSB and Q-ViT train:
    /// `RandomResizedCrop(imageSize, scale, ratio, interpolation)` → horizontal flip →
    /// RandAugment (`randAugment` config; nil for none) → normalize → `RandomErasing`
    /// (`erasingProbability`, `erasingMode`, `erasingCount` boxes; probability 0 for none).
    /// RandAugment fills uncovered areas with the normalization mean, as timm does.
    /// BHViT's `--aa noaug` recipe is `randAugment: nil, erasingProbability: 0, interpolation: .bilinear`.
    public static func timmTraining(imageSize: Int = 224, scale: ClosedRange<Double> = 0.08...1,
                                    ratio: ClosedRange<Double> = (3.0 / 4)...(4.0 / 3),
                                    horizontalFlip: Double = 0.5,
                                    randAugment: String? = "rand-m9-mstd0.5-inc1",
                                    interpolation: Interpolation = .bicubic,
                                    normalization: Normalization = .imagenet,
                                    erasingProbability: Double = 0.25,
                                    erasingMode: RandomErasing.Mode = .perPixel,
                                    erasingCount: Int = 1) throws -> TransformPipeline {
        var transforms: [any ImageTransform] = [
            RandomResizedCrop(size: imageSize, scale: scale, ratio: ratio, interpolation: interpolation),
        ]
        if horizontalFlip > 0 { transforms.append(RandomHorizontalFlip(probability: horizontalFlip)) }
        if let randAugment {
            transforms.append(try RandAugment(config: randAugment, fill: normalization.meanPixel,
                                              interpolations: [interpolation]))
        }
        var after: [any NormalizedImageTransform] = []
        if erasingProbability > 0 {
            after.append(RandomErasing(probability: erasingProbability, mode: erasingMode, maxCount: erasingCount))
        }
        return TransformPipeline(transforms, normalization: normalization, then: after)
    }

    /// The timm/DeiT evaluation transform: resize the shorter side to
    /// `⌊imageSize / cropFraction⌋` (256 for 224), center-crop `imageSize`, normalize.
    public static func evaluation(imageSize: Int = 224, cropFraction: Double = 0.875,
                                  interpolation: Interpolation = .bicubic,
                                  normalization: Normalization = .imagenet) -> TransformPipeline {
        let resizeTo = Int((Double(imageSize) / cropFraction).rounded(.down))
        return TransformPipeline([Resize(.shorterSide(resizeTo), interpolation: interpolation),
                                  CenterCrop(size: imageSize)],
                                 normalization: normalization)
    }

    /// The classic CIFAR training transform at native resolution: zero-pad 4, random 32×32 crop,
    /// horizontal flip, normalize.
    public static func cifarTraining(size: Int = 32, padding: Int = 4,
                                     normalization: Normalization = .cifar10) -> TransformPipeline {
        TransformPipeline([RandomCrop(size: size, padding: padding), RandomHorizontalFlip()],
                          normalization: normalization)
    }

    /// CIFAR evaluation at native resolution: normalize only.
    public static func cifarEvaluation(normalization: Normalization = .cifar10) -> TransformPipeline {
        TransformPipeline(normalization: normalization)
    }

    /// Fashion-MNIST at 28×28, for training and evaluation alike: normalize only.
    public static func fashionMNIST(normalization: Normalization = .fashionMNIST) -> TransformPipeline {
        TransformPipeline(normalization: normalization)
    }
}
