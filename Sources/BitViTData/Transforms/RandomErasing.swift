import BitViTCore
import Foundation

/// timm's `RandomErasing`, applied to the normalized image.
///
/// With probability `probability`, erases `count` boxes (a fixed number, or uniform in
/// `minCount...maxCount`). Each box tries up to 10 times: area `U(minArea, maxArea) · H·W / count`,
/// aspect `exp(U(log minAspect, log maxAspect))`, `h = round(√(area·aspect))`,
/// `w = round(√(area/aspect))`, accepted when `h < H` and `w < W`, placed uniformly. The fill is
/// zeros (`.constant`, i.e. the mean color), one N(0, 1) value per channel (`.randomColor`) or one
/// per pixel and channel (`.perPixel`).
public struct RandomErasing: NormalizedImageTransform {
    /// timm's `mode` argument: `const`, `rand` or `pixel`.
    public enum Mode: String, Sendable {
        case constant = "const"
        case randomColor = "rand"
        case perPixel = "pixel"
    }

    /// Probability that an image gets any box.
    public var probability: Double
    /// Box area bounds as fractions of the image area (before dividing among `count` boxes).
    public var minArea: Double
    public var maxArea: Double
    /// Box aspect ratio (height / width) bounds, sampled log-uniformly.
    public var minAspect: Double
    public var maxAspect: Double
    /// What fills a box.
    public var mode: Mode
    /// Number of boxes, uniform in `minCount...maxCount`.
    public var minCount: Int
    public var maxCount: Int

    public init(probability: Double = 0.5, minArea: Double = 0.02, maxArea: Double = 1.0 / 3,
                minAspect: Double = 0.3, maxAspect: Double? = nil, mode: Mode = .constant,
                minCount: Int = 1, maxCount: Int? = nil) {
        precondition(minArea > 0 && minArea <= maxArea && minAspect > 0 && minCount >= 1,
                     "invalid RandomErasing parameters")
        self.probability = probability
        self.minArea = minArea
        self.maxArea = maxArea
        self.minAspect = minAspect
        self.maxAspect = maxAspect ?? 1 / minAspect
        self.mode = mode
        self.minCount = minCount
        self.maxCount = max(maxCount ?? minCount, minCount)
    }

    public func apply(to pixels: UnsafeMutableBufferPointer<Float>, channels: Int, height: Int, width: Int,
                      using rng: inout RandomGenerator) {
        _ = erase(pixels, channels: channels, height: height, width: width, using: &rng)
    }

    /// Erases like `apply` and returns the boxes it filled, `(top, left, height, width)`.
    public func erase(_ pixels: UnsafeMutableBufferPointer<Float>, channels: Int, height: Int, width: Int,
                      using rng: inout RandomGenerator) -> [(top: Int, left: Int, height: Int, width: Int)] {
        if rng.nextDouble() > probability { return [] }
        let area = Double(height * width)
        let count = minCount == maxCount ? minCount : rng.nextInt(in: minCount...maxCount)
        let logAspect = (log(minAspect), log(maxAspect))
        var boxes: [(top: Int, left: Int, height: Int, width: Int)] = []
        for _ in 0..<count {
            for _ in 0..<10 {
                let targetArea = rng.uniform(minArea, maxArea) * area / Double(count)
                let aspect = exp(rng.uniform(logAspect.0, logAspect.1))
                let h = Int((targetArea * aspect).squareRoot().rounded(.toNearestOrEven))
                let w = Int((targetArea / aspect).squareRoot().rounded(.toNearestOrEven))
                guard w < width, h < height else { continue }
                let top = rng.nextInt(in: 0...(height - h)), left = rng.nextInt(in: 0...(width - w))
                fill(pixels, channels: channels, height: height, width: width,
                     box: (top, left, h, w), using: &rng)
                boxes.append((top, left, h, w))
                break
            }
        }
        return boxes
    }

    private func fill(_ pixels: UnsafeMutableBufferPointer<Float>, channels: Int, height: Int, width: Int,
                      box: (top: Int, left: Int, height: Int, width: Int), using rng: inout RandomGenerator) {
        let colors: [Float] = mode == .randomColor ? (0..<channels).map { _ in rng.nextNormal() }
            : [Float](repeating: 0, count: channels)
        for c in 0..<channels {
            for y in box.top..<(box.top + box.height) {
                let row = pixels.baseAddress! + (c * height + y) * width
                for x in box.left..<(box.left + box.width) {
                    row[x] = mode == .perPixel ? rng.nextNormal() : colors[c]
                }
            }
        }
    }
}
