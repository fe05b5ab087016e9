import Foundation

/// Pixel interpolation for resizing and geometric transforms (PIL's resampling filters).
public enum Interpolation: String, Sendable, CaseIterable {
    case nearest, bilinear, bicubic
}

extension Image {
    /// The image resized to `height × width` the way PIL's `Image.resize` (and so torchvision's
    /// `Resize` on PIL images) does: separable convolution whose support grows with the
    /// downscaling factor (antialiased), horizontal pass first, 8-bit rounding after each pass.
    /// Bicubic uses `a = −0.5`; nearest takes the pixel under each output pixel's center.
    public func resized(height newHeight: Int, width newWidth: Int, interpolation: Interpolation) -> Image {
        precondition(newHeight > 0 && newWidth > 0, "resize target \(newHeight)×\(newWidth) must be positive")
        if newHeight == height && newWidth == width { return self }
        if interpolation == .nearest { return nearestResized(height: newHeight, width: newWidth) }
        var current = self
        if newWidth != width {
            let weights = ResampleWeights(inputSize: width, outputSize: newWidth, interpolation: interpolation)
            current = current.convolved(weights, horizontally: true)
        }
        if newHeight != height {
            let weights = ResampleWeights(inputSize: height, outputSize: newHeight, interpolation: interpolation)
            current = current.convolved(weights, horizontally: false)
        }
        return current
    }

    private func nearestResized(height newHeight: Int, width newWidth: Int) -> Image {
        let scaleY = Double(height) / Double(newHeight), scaleX = Double(width) / Double(newWidth)
        let sourceX = (0..<newWidth).map { min(width - 1, Int((Double($0) + 0.5) * scaleX)) }
        var out = [UInt8](repeating: 0, count: newHeight * newWidth * channels)
        for y in 0..<newHeight {
            let sy = min(height - 1, Int((Double(y) + 0.5) * scaleY))
            for x in 0..<newWidth {
                let s = (sy * width + sourceX[x]) * channels, d = (y * newWidth + x) * channels
                for c in 0..<channels { out[d + c] = pixels[s + c] }
            }
        }
        return Image(height: newHeight, width: newWidth, channels: channels, pixels: out)
    }

    /// One resampling pass along x (`horizontally`) or y, with fixed-point weights as PIL uses.
    private func convolved(_ weights: ResampleWeights, horizontally: Bool) -> Image {
        let outHeight = horizontally ? height : weights.outputSize
        let outWidth = horizontally ? weights.outputSize : width
        var out = [UInt8](repeating: 0, count: outHeight * outWidth * channels)
        let bits = ResampleWeights.precisionBits, half = 1 << (bits - 1)
        let ch = channels, rowLength = width * channels
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                if horizontally {
                    for y in 0..<height {
                        let row = src.baseAddress! + y * rowLength
                        for o in 0..<weights.outputSize {
                            let taps = weights.taps(of: o), first = weights.first[o]
                            for c in 0..<ch {
                                var sum = half
                                var s = row + first * ch + c
                                for w in taps { sum += Int(s.pointee) * w; s += ch }
                                dst[(y * outWidth + o) * ch + c] = UInt8(clamping: sum >> bits)
                            }
                        }
                    }
                } else {
                    // Whole rows at a time: contiguous reads, one accumulator per sample of the row.
                    var sums = [Int](repeating: 0, count: rowLength)
                    for o in 0..<weights.outputSize {
                        for i in 0..<rowLength { sums[i] = half }
                        var sourceRow = weights.first[o]
                        for w in weights.taps(of: o) {
                            let row = src.baseAddress! + sourceRow * rowLength
                            for i in 0..<rowLength { sums[i] += Int(row[i]) * w }
                            sourceRow += 1
                        }
                        let target = dst.baseAddress! + o * rowLength
                        for i in 0..<rowLength { target[i] = UInt8(clamping: sums[i] >> bits) }
                    }
                }
            }
        }
        return Image(height: outHeight, width: outWidth, channels: channels, pixels: out)
    }
}

/// Per-output-pixel filter taps for one axis, normalized and in fixed point (PIL's
/// `precompute_coeffs` + `normalize_coeffs_8bpc`).
struct ResampleWeights {
    static let precisionBits = 22
    let outputSize: Int
    /// First input index each output pixel reads.
    var first: [Int] = []
    private var counts: [Int] = []
    private var table: [Int] = []
    private let stride: Int

    init(inputSize: Int, outputSize: Int, interpolation: Interpolation) {
        self.outputSize = outputSize
        let scale = Double(inputSize) / Double(outputSize)
        let filterScale = max(scale, 1)
        let support = Self.support(interpolation) * filterScale
        stride = Int(support.rounded(.up)) * 2 + 1
        table = [Int](repeating: 0, count: outputSize * stride)
        for o in 0..<outputSize {
            let center = (Double(o) + 0.5) * scale
            let lo = max(Int(center - support + 0.5), 0)
            let hi = min(Int(center + support + 0.5), inputSize)
            var raw = (lo..<hi).map { Self.kernel(interpolation, (Double($0) - center + 0.5) / filterScale) }
            let total = raw.reduce(0, +)
            if total != 0 { raw = raw.map { $0 / total } }
            first.append(lo)
            counts.append(raw.count)
            for (k, w) in raw.enumerated() {
                let scaled = w * Double(1 << Self.precisionBits)
                table[o * stride + k] = Int(scaled < 0 ? scaled - 0.5 : scaled + 0.5)
            }
        }
    }

    func taps(of output: Int) -> ArraySlice<Int> {
        table[(output * stride)..<(output * stride + counts[output])]
    }

    static func support(_ interpolation: Interpolation) -> Double {
        switch interpolation {
        case .nearest: return 0.5
        case .bilinear: return 1
        case .bicubic: return 2
        }
    }

    static func kernel(_ interpolation: Interpolation, _ x: Double) -> Double {
        let x = abs(x)
        switch interpolation {
        case .nearest:
            return x < 0.5 ? 1 : 0
        case .bilinear:
            return x < 1 ? 1 - x : 0
        case .bicubic:
            let a = -0.5
            if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0
        }
    }
}
