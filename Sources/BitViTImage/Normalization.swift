import BitViTPlatform

/// Conversion of 8-bit pixels to normalized floats: `(value / 255 − mean[c]) / std[c]`
/// (torchvision's `ToTensor` followed by `Normalize(mean, std)`).
///
/// A single mean/std pair applies to every channel; otherwise there is one pair per channel.
public struct Normalization: Equatable, Sendable {
    /// Per-channel mean, in [0, 1] units.
    public var mean: [Float]
    /// Per-channel standard deviation, in [0, 1] units.
    public var std: [Float]

    public init(mean: [Float], std: [Float]) {
        precondition(!mean.isEmpty && mean.count == std.count, "normalization needs matching mean and std")
        precondition(std.allSatisfy { $0 > 0 }, "normalization std must be positive")
        self.mean = mean
        self.std = std
    }

    /// ImageNet statistics (timm's `IMAGENET_DEFAULT_MEAN/STD`), used by DeiT, GSB, BHViT, Q-ViT.
    public static let imagenet = Normalization(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
    /// CIFAR-10 training-set statistics.
    public static let cifar10 = Normalization(mean: [0.4914, 0.4822, 0.4465], std: [0.2470, 0.2435, 0.2616])
    /// CIFAR-100 training-set statistics.
    public static let cifar100 = Normalization(mean: [0.5071, 0.4865, 0.4409], std: [0.2673, 0.2564, 0.2762])
    /// MNIST training-set statistics.
    public static let mnist = Normalization(mean: [0.1307], std: [0.3081])
    /// Fashion-MNIST training-set statistics.
    public static let fashionMNIST = Normalization(mean: [0.2860], std: [0.3530])
    /// Scaling to [0, 1] only.
    public static let none = Normalization(mean: [0], std: [1])

    /// The presets by name, for configuration files.
    public static let presets: [String: Normalization] = [
        "imagenet": .imagenet, "cifar10": .cifar10, "cifar100": .cifar100,
        "mnist": .mnist, "fashion-mnist": .fashionMNIST, "none": .none,
    ]

    /// A preset by name (`imagenet`, `cifar10`, `cifar100`, `mnist`, `fashion-mnist`, `none`).
    public init?(presetName: String) {
        guard let preset = Self.presets[presetName.lowercased()] else { return nil }
        self = preset
    }

    /// The mean as 8-bit values (`min(255, round(255 · mean))`), timm's fill color for
    /// RandAugment's geometric operations.
    public var meanPixel: [UInt8] {
        mean.map { UInt8(min(255, (255 * Double($0)).rounded(.toNearestOrEven))) }
    }

    /// Writes the normalized image, CHW, to `output` (`channels · height · width` floats).
    /// Throws `BitViTError.invalidArgument` when the statistics are per channel and their count
    /// differs from the image's channels.
    public func write(_ image: Image, into output: UnsafeMutableBufferPointer<Float>) throws {
        guard mean.count == 1 || mean.count == image.channels else {
            throw BitViTError.invalidArgument(
                "normalization has \(mean.count) channel statistics, the image has \(image.channels) channels")
        }
        precondition(output.count == image.pixels.count, "normalization output has the wrong size")
        let plane = image.height * image.width, channels = image.channels
        image.pixels.withUnsafeBufferPointer { src in
            for c in 0..<channels {
                let m = mean[mean.count == 1 ? 0 : c], s = std[std.count == 1 ? 0 : c]
                let out = output.baseAddress! + c * plane
                for p in 0..<plane { out[p] = (Float(src[p * channels + c]) / 255 - m) / s }
            }
        }
    }
}
