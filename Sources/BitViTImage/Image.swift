/// An 8-bit image in height × width × channels (HWC) order, rows top to bottom.
///
/// Datasets hand out `Image`s and the image transforms (crops, flips, RandAugment) work on them;
/// the pipeline's normalization turns the result into float32 CHW for a `Batch`.
public struct Image: Equatable, Sendable {
    /// Rows.
    public let height: Int
    /// Columns.
    public let width: Int
    /// Samples per pixel: 1 (gray), 3 (RGB) or 4 (RGBA).
    public let channels: Int
    /// `height · width · channels` samples, index `(y · width + x) · channels + c`.
    public var pixels: [UInt8]

    /// Wraps `pixels` (HWC order); the count must be `height · width · channels`.
    public init(height: Int, width: Int, channels: Int, pixels: [UInt8]) {
        precondition(height >= 0 && width >= 0 && channels > 0, "invalid image size \(height)×\(width)×\(channels)")
        precondition(pixels.count == height * width * channels,
                     "\(pixels.count) samples cannot fill a \(height)×\(width)×\(channels) image")
        self.height = height
        self.width = width
        self.channels = channels
        self.pixels = pixels
    }

    /// An image with every sample equal to `value`.
    public init(height: Int, width: Int, channels: Int, repeating value: UInt8 = 0) {
        self.init(height: height, width: width, channels: channels,
                  pixels: [UInt8](repeating: value, count: height * width * channels))
    }

    /// The sample at row `y`, column `x`, channel `c`.
    public subscript(y: Int, x: Int, c: Int) -> UInt8 {
        get { pixels[(y * width + x) * channels + c] }
        set { pixels[(y * width + x) * channels + c] = newValue }
    }

    /// The same picture with `count` channels, converted as PIL's `Image.convert` does:
    /// gray → RGB replicates, RGB → gray is ITU-R 601 luma `(19595 R + 38470 G + 7471 B + 2¹⁵) >> 16`,
    /// alpha is dropped (not composited) and an opaque alpha is added when asked for.
    public func converted(toChannels count: Int) -> Image {
        precondition([1, 3, 4].contains(count), "images have 1, 3 or 4 channels, not \(count)")
        if count == channels { return self }
        let pixelCount = height * width
        var out = [UInt8](repeating: 255, count: pixelCount * count)
        let colorIn = channels >= 3
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for p in 0..<pixelCount {
                    let s = p * channels, d = p * count
                    if count == 1 {
                        if colorIn {
                            let r = UInt32(src[s]), g = UInt32(src[s + 1]), b = UInt32(src[s + 2])
                            dst[d] = UInt8((19595 * r + 38470 * g + 7471 * b + 0x8000) >> 16)
                        } else {
                            dst[d] = src[s]
                        }
                    } else if colorIn {
                        dst[d] = src[s]; dst[d + 1] = src[s + 1]; dst[d + 2] = src[s + 2]
                    } else {
                        dst[d] = src[s]; dst[d + 1] = src[s]; dst[d + 2] = src[s]
                    }
                }
            }
        }
        return Image(height: height, width: width, channels: count, pixels: out)
    }
}
