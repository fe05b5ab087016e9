import BitViTCore
import Foundation

/// Pixel-exact geometric primitives the transforms are built from.
extension Image {
    /// The `height × width` window whose top-left corner is at row `top`, column `left`.
    /// Parts of the window outside the image are filled with `fill` (as torchvision's `crop`
    /// pads with zeros).
    public func cropped(top: Int, left: Int, height newHeight: Int, width newWidth: Int, fill: UInt8 = 0) -> Image {
        precondition(newHeight > 0 && newWidth > 0, "crop size \(newHeight)×\(newWidth) must be positive")
        if top == 0 && left == 0 && newHeight == height && newWidth == width { return self }
        var out = [UInt8](repeating: fill, count: newHeight * newWidth * channels)
        let rowStart = max(0, -top), rowEnd = min(newHeight, height - top)
        let colStart = max(0, -left), colEnd = min(newWidth, width - left)
        guard rowStart < rowEnd, colStart < colEnd else {
            return Image(height: newHeight, width: newWidth, channels: channels, pixels: out)
        }
        let rowBytes = (colEnd - colStart) * channels
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in rowStart..<rowEnd {
                    let s = ((top + y) * width + left + colStart) * channels
                    let d = (y * newWidth + colStart) * channels
                    (dst.baseAddress! + d).update(from: src.baseAddress! + s, count: rowBytes)
                }
            }
        }
        return Image(height: newHeight, width: newWidth, channels: channels, pixels: out)
    }

    /// The image with `padding` rows/columns of `fill` added on every side.
    public func padded(by padding: Int, fill: UInt8 = 0) -> Image {
        cropped(top: -padding, left: -padding, height: height + 2 * padding, width: width + 2 * padding, fill: fill)
    }

    /// The left–right mirror image.
    public func flippedHorizontally() -> Image {
        var out = pixels
        for y in 0..<height {
            for x in 0..<width {
                let s = (y * width + x) * channels, d = (y * width + width - 1 - x) * channels
                for c in 0..<channels { out[d + c] = pixels[s + c] }
            }
        }
        return Image(height: height, width: width, channels: channels, pixels: out)
    }
}

/// torchvision's `RandomCrop(size, padding)`: pad every side with `fill`, then cut a
/// `height × width` window at a uniformly random position (the CIFAR recipe: 32, padding 4).
public struct RandomCrop: ImageTransform {
    public var height: Int
    public var width: Int
    /// Pixels of `fill` added on every side before cropping.
    public var padding: Int
    public var fill: UInt8

    public init(height: Int, width: Int, padding: Int = 0, fill: UInt8 = 0) {
        precondition(height > 0 && width > 0 && padding >= 0, "invalid RandomCrop parameters")
        (self.height, self.width, self.padding, self.fill) = (height, width, padding, fill)
    }

    public init(size: Int, padding: Int = 0, fill: UInt8 = 0) {
        self.init(height: size, width: size, padding: padding, fill: fill)
    }

    /// Throws `BitViTError.invalidArgument` when the padded image is smaller than the crop.
    public func apply(to image: Image, using rng: inout RandomGenerator) throws -> Image {
        let paddedHeight = image.height + 2 * padding, paddedWidth = image.width + 2 * padding
        guard paddedHeight >= height, paddedWidth >= width else {
            throw BitViTError.invalidArgument(
                "RandomCrop \(height)×\(width) is larger than the padded image \(paddedHeight)×\(paddedWidth)")
        }
        let top = rng.nextInt(in: 0...(paddedHeight - height))
        let left = rng.nextInt(in: 0...(paddedWidth - width))
        return image.cropped(top: top - padding, left: left - padding, height: height, width: width, fill: fill)
    }
}

/// torchvision's `RandomHorizontalFlip(p)`: mirror left–right with probability `probability`.
public struct RandomHorizontalFlip: ImageTransform {
    public var probability: Double

    public init(probability: Double = 0.5) { self.probability = probability }

    public func apply(to image: Image, using rng: inout RandomGenerator) -> Image {
        rng.chance(probability) ? image.flippedHorizontally() : image
    }
}

/// torchvision's `CenterCrop`: the central `height × width` window, top-left at
/// `round((H − height) / 2)`, `round((W − width) / 2)` (half to even, as Python rounds);
/// an image smaller than the crop is first padded with zeros, the extra row/column going
/// to the bottom/right.
public struct CenterCrop: ImageTransform {
    public var height: Int
    public var width: Int

    public init(height: Int, width: Int) {
        precondition(height > 0 && width > 0, "invalid CenterCrop size")
        (self.height, self.width) = (height, width)
    }

    public init(size: Int) { self.init(height: size, width: size) }

    public func apply(to image: Image, using rng: inout RandomGenerator) -> Image {
        var image = image
        if height > image.height || width > image.width {
            let padTop = max(0, (height - image.height) / 2), padLeft = max(0, (width - image.width) / 2)
            image = image.cropped(top: -padTop, left: -padLeft,
                                  height: max(height, image.height), width: max(width, image.width))
        }
        let top = Int((Double(image.height - height) / 2).rounded(.toNearestOrEven))
        let left = Int((Double(image.width - width) / 2).rounded(.toNearestOrEven))
        return image.cropped(top: top, left: left, height: height, width: width)
    }
}

/// torchvision's `Resize`: either the shorter side to `shorterSide` keeping the aspect ratio
/// (the longer side becomes `Int(shorterSide · long / short)`, truncated), or an exact size.
public struct Resize: ImageTransform {
    public enum Target: Equatable, Sendable {
        case shorterSide(Int)
        case exact(height: Int, width: Int)
    }

    public var target: Target
    public var interpolation: Interpolation

    public init(_ target: Target, interpolation: Interpolation = .bilinear) {
        self.target = target
        self.interpolation = interpolation
    }

    /// The output size for an input of `height × width`.
    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        switch target {
        case .exact(let h, let w):
            return (h, w)
        case .shorterSide(let side):
            if width <= height { return (Int(Double(side) * Double(height) / Double(width)), side) }
            return (side, Int(Double(side) * Double(width) / Double(height)))
        }
    }

    public func apply(to image: Image, using rng: inout RandomGenerator) -> Image {
        let size = outputSize(height: image.height, width: image.width)
        return image.resized(height: size.height, width: size.width, interpolation: interpolation)
    }
}

/// torchvision's `RandomResizedCrop` (and timm's `RandomResizedCropAndInterpolation`): a random
/// window covering `scale` of the area with aspect ratio (width / height) in `ratio`,
/// log-uniformly sampled, resized to `height × width`.
///
/// Up to 10 attempts draw `area · U(scale)` and `exp(U(log ratio))`, giving
/// `w = round(√(area·r))`, `h = round(√(area/r))`; the first that fits is placed uniformly.
/// Otherwise the fallback is the central crop with the ratio clamped to `ratio`.
public struct RandomResizedCrop: ImageTransform {
    public var height: Int
    public var width: Int
    /// Window area as a fraction of the image area.
    public var scale: ClosedRange<Double>
    /// Window aspect ratio, width / height.
    public var ratio: ClosedRange<Double>
    public var interpolation: Interpolation

    public init(height: Int, width: Int, scale: ClosedRange<Double> = 0.08...1,
                ratio: ClosedRange<Double> = (3.0 / 4)...(4.0 / 3), interpolation: Interpolation = .bilinear) {
        precondition(height > 0 && width > 0 && scale.lowerBound > 0 && ratio.lowerBound > 0,
                     "invalid RandomResizedCrop parameters")
        (self.height, self.width, self.scale, self.ratio, self.interpolation) = (height, width, scale, ratio, interpolation)
    }

    public init(size: Int, scale: ClosedRange<Double> = 0.08...1,
                ratio: ClosedRange<Double> = (3.0 / 4)...(4.0 / 3), interpolation: Interpolation = .bilinear) {
        self.init(height: size, width: size, scale: scale, ratio: ratio, interpolation: interpolation)
    }

    /// The crop window `(top, left, height, width)` for an image of `imageHeight × imageWidth`.
    public func sampleWindow(imageHeight: Int, imageWidth: Int,
                             using rng: inout RandomGenerator) -> (top: Int, left: Int, height: Int, width: Int) {
        let area = Double(imageHeight * imageWidth)
        let logRatio = (log(ratio.lowerBound), log(ratio.upperBound))
        for _ in 0..<10 {
            let targetArea = area * rng.uniform(scale.lowerBound, scale.upperBound)
            let aspect = exp(rng.uniform(logRatio.0, logRatio.1))
            let w = Int((targetArea * aspect).squareRoot().rounded(.toNearestOrEven))
            let h = Int((targetArea / aspect).squareRoot().rounded(.toNearestOrEven))
            if w > 0 && w <= imageWidth && h > 0 && h <= imageHeight {
                let top = rng.nextInt(in: 0...(imageHeight - h))
                let left = rng.nextInt(in: 0...(imageWidth - w))
                return (top, left, h, w)
            }
        }
        let inRatio = Double(imageWidth) / Double(imageHeight)
        var w = imageWidth, h = imageHeight
        if inRatio < ratio.lowerBound {
            h = Int((Double(w) / ratio.lowerBound).rounded(.toNearestOrEven))
        } else if inRatio > ratio.upperBound {
            w = Int((Double(h) * ratio.upperBound).rounded(.toNearestOrEven))
        }
        return ((imageHeight - h) / 2, (imageWidth - w) / 2, h, w)
    }

    public func apply(to image: Image, using rng: inout RandomGenerator) -> Image {
        let window = sampleWindow(imageHeight: image.height, imageWidth: image.width, using: &rng)
        return image.cropped(top: window.top, left: window.left, height: window.height, width: window.width)
            .resized(height: height, width: width, interpolation: interpolation)
    }
}

/// Converts every image to `channels` (1 or 3) with `Image.converted(toChannels:)`, e.g. to feed
/// gray Fashion-MNIST to a 3-channel model.
public struct ConvertChannels: ImageTransform {
    public var channels: Int

    public init(_ channels: Int) {
        precondition(channels == 1 || channels == 3, "ConvertChannels takes 1 or 3 channels")
        self.channels = channels
    }

    public func apply(to image: Image, using rng: inout RandomGenerator) -> Image {
        image.converted(toChannels: channels)
    }
}
