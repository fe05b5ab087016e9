import BitViTCore

/// A random or fixed operation on one 8-bit HWC image (crop, flip, resize, RandAugment, …).
///
/// All randomness comes from `rng`, so the same generator state gives the same output.
public protocol ImageTransform {
    func apply(to image: Image, using rng: inout RandomGenerator) throws -> Image
}

/// A random or fixed operation on one normalized float32 image, after normalization
/// (e.g. random erasing, which fills in normalized units).
public protocol NormalizedImageTransform {
    /// Modifies `pixels`, laid out CHW (`channels × height × width`), in place.
    func apply(to pixels: UnsafeMutableBufferPointer<Float>, channels: Int, height: Int, width: Int,
               using rng: inout RandomGenerator)
}

/// The per-sample preprocessing of a data pipeline: 8-bit image transforms, then normalization
/// to float32 CHW (torchvision's `ToTensor` + `Normalize`), then transforms on the normalized
/// floats. Presets for the project's recipes are in `TransformPipeline+Presets`.
public struct TransformPipeline {
    /// Applied first, in order, to the 8-bit image.
    public var imageTransforms: [any ImageTransform]
    /// Turns the 8-bit result into normalized floats.
    public var normalization: Normalization
    /// Applied last, in order, to the normalized floats.
    public var normalizedTransforms: [any NormalizedImageTransform]

    public init(_ imageTransforms: [any ImageTransform] = [], normalization: Normalization = .none,
                then normalizedTransforms: [any NormalizedImageTransform] = []) {
        self.imageTransforms = imageTransforms
        self.normalization = normalization
        self.normalizedTransforms = normalizedTransforms
    }

    /// The image after the 8-bit transforms only (e.g. to look at augmented samples).
    public func transformedImage(_ image: Image, using rng: inout RandomGenerator) throws -> Image {
        var image = image
        for transform in imageTransforms { image = try transform.apply(to: image, using: &rng) }
        return image
    }

    /// Runs the whole pipeline and writes the result, CHW, to `output`, which must hold
    /// exactly `channels · height · width` floats of the final image; returns that image's
    /// `(channels, height, width)`. Throws `BitViTError.shapeMismatch` when the sizes differ.
    @discardableResult
    public func apply(to image: Image, into output: UnsafeMutableBufferPointer<Float>,
                      using rng: inout RandomGenerator) throws -> (channels: Int, height: Int, width: Int) {
        let final = try transformedImage(image, using: &rng)
        let shape = (channels: final.channels, height: final.height, width: final.width)
        guard output.count == final.pixels.count else {
            throw BitViTError.shapeMismatch(
                "transformed image is \(final.channels)×\(final.height)×\(final.width), the output holds \(output.count) values")
        }
        try normalization.write(final, into: output)
        for transform in normalizedTransforms {
            transform.apply(to: output, channels: shape.channels, height: shape.height, width: shape.width, using: &rng)
        }
        return shape
    }

    /// Runs the whole pipeline and returns a `[C, H, W]` tensor.
    public func callAsFunction(_ image: Image, using rng: inout RandomGenerator) throws -> Tensor {
        let final = try transformedImage(image, using: &rng)
        let tensor = Tensor(uninitialized: [final.channels, final.height, final.width])
        let output = UnsafeMutableBufferPointer(start: tensor.data, count: tensor.count)
        try normalization.write(final, into: output)
        for transform in normalizedTransforms {
            transform.apply(to: output, channels: final.channels, height: final.height, width: final.width, using: &rng)
        }
        return tensor
    }
}
