/// PIL's `ImageOps` and `ImageEnhance` operations on 8-bit images, as timm's RandAugment calls
/// them. Each channel is processed separately where PIL does so; rounding follows PIL
/// (blends truncate, the smoothing filter rounds).
extension Image {
    /// Maps every sample of channel `c` through `tables[c % tables.count]`.
    public func mapped(through tables: [[UInt8]]) -> Image {
        var out = pixels
        for i in out.indices { out[i] = tables[(i % channels) % tables.count][Int(out[i])] }
        return Image(height: height, width: width, channels: channels, pixels: out)
    }

    /// `ImageOps.invert`: `255 − v`.
    public func inverted() -> Image {
        mapped(through: [(0...255).map { UInt8(255 - $0) }])
    }

    /// `ImageOps.solarize`: values at or above `threshold` are inverted.
    public func solarized(threshold: Int) -> Image {
        mapped(through: [(0...255).map { $0 < threshold ? UInt8($0) : UInt8(255 - $0) }])
    }

    /// timm's `solarize_add`: values below `threshold` get `add` added, capped at 255.
    public func solarizeAdded(_ add: Int, threshold: Int = 128) -> Image {
        mapped(through: [(0...255).map { $0 < threshold ? UInt8(min(255, $0 + add)) : UInt8($0) }])
    }

    /// `ImageOps.posterize`: keeps the `bits` most significant bits (0 gives black).
    public func posterized(bits: Int) -> Image {
        if bits >= 8 { return self }
        let mask = ~((1 << (8 - max(bits, 0))) - 1)
        return mapped(through: [(0...255).map { UInt8($0 & mask & 255) }])
    }

    /// Per-channel histograms: element `c` counts the values of channel `c`.
    public func histograms() -> [[Int]] {
        var counts = [[Int]](repeating: [Int](repeating: 0, count: 256), count: channels)
        for (i, v) in pixels.enumerated() { counts[i % channels][Int(v)] += 1 }
        return counts
    }

    /// `ImageOps.autocontrast()` (no cutoff): each channel's range stretched to 0…255,
    /// `int(v · 255/(hi − lo) − lo · 255/(hi − lo))` clamped.
    public func autocontrasted() -> Image {
        let tables = histograms().map { h -> [UInt8] in
            guard let lo = h.firstIndex(where: { $0 > 0 }), let hi = h.lastIndex(where: { $0 > 0 }), hi > lo else {
                return (0...255).map(UInt8.init)
            }
            let scale = 255.0 / Double(hi - lo), offset = -Double(lo) * scale
            return (0...255).map { UInt8(clamping: Int(Double($0) * scale + offset)) }
        }
        return mapped(through: tables)
    }

    /// `ImageOps.equalize()`: per-channel histogram equalization with PIL's step rule.
    public func equalized() -> Image {
        let tables = histograms().map { h -> [UInt8] in
            let used = h.filter { $0 > 0 }
            let step = used.count <= 1 ? 0 : (used.reduce(0, +) - used.last!) / 255
            guard step > 0 else { return (0...255).map(UInt8.init) }
            var n = step / 2
            return (0...255).map { i in
                defer { n += h[i] }
                return UInt8(clamping: n / step)
            }
        }
        return mapped(through: tables)
    }

    /// `Image.blend(degenerate, self, factor)`: `degenerate + factor · (self − degenerate)`,
    /// truncated toward zero and clamped to 0…255. Factor 1 is the image, 0 the degenerate.
    public func blended(from degenerate: Image, factor: Double) -> Image {
        precondition(degenerate.pixels.count == pixels.count, "blend needs images of one size")
        if factor == 1 { return self }
        if factor == 0 { return degenerate }
        let alpha = Float(factor)
        var out = pixels
        for i in out.indices {
            let base = Float(degenerate.pixels[i])
            let value = base + alpha * (Float(pixels[i]) - base)
            out[i] = value <= 0 ? 0 : value >= 255 ? 255 : UInt8(value)
        }
        return Image(height: height, width: width, channels: channels, pixels: out)
    }

    /// `ImageEnhance.Color`: blend with the gray version (factor 0 = gray, 1 = unchanged).
    public func colorEnhanced(_ factor: Double) -> Image {
        guard channels >= 3 else { return self }
        return blended(from: converted(toChannels: 1).converted(toChannels: channels), factor: factor)
    }

    /// `ImageEnhance.Contrast`: blend with a flat image at the rounded mean gray level.
    public func contrastEnhanced(_ factor: Double) -> Image {
        let gray = converted(toChannels: 1).pixels
        let mean = Int(Double(gray.reduce(0) { $0 + Int($1) }) / Double(max(gray.count, 1)) + 0.5)
        return blended(from: Image(height: height, width: width, channels: channels, repeating: UInt8(clamping: mean)),
                       factor: factor)
    }

    /// `ImageEnhance.Brightness`: blend with black.
    public func brightnessEnhanced(_ factor: Double) -> Image {
        blended(from: Image(height: height, width: width, channels: channels, repeating: 0), factor: factor)
    }

    /// `ImageEnhance.Sharpness`: blend with the `ImageFilter.SMOOTH`-filtered image.
    public func sharpnessEnhanced(_ factor: Double) -> Image {
        blended(from: smoothed(), factor: factor)
    }

    /// PIL's `ImageFilter.SMOOTH`: the 3×3 kernel `[1 1 1; 1 5 1; 1 1 1] / 13`, rounded; the
    /// one-pixel border is copied unchanged.
    public func smoothed() -> Image {
        guard height >= 3, width >= 3 else { return self }
        var out = pixels
        for y in 1..<(height - 1) {
            for x in 1..<(width - 1) {
                for c in 0..<channels {
                    var sum: Float = 0
                    for dy in -1...1 {
                        for dx in -1...1 {
                            let weight: Float = (dy == 0 && dx == 0 ? 5 : 1) / 13
                            sum += Float(pixels[((y + dy) * width + x + dx) * channels + c]) * weight
                        }
                    }
                    sum += 0.5
                    out[(y * width + x) * channels + c] = sum <= 0 ? 0 : sum >= 255 ? 255 : UInt8(sum)
                }
            }
        }
        return Image(height: height, width: width, channels: channels, pixels: out)
    }
}
