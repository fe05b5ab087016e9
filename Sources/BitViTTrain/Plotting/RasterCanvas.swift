import Foundation

/// An RGB color with 8-bit channels.
public struct RGB: Equatable, Sendable {
    public var r: UInt8, g: UInt8, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }

    /// `#rrggbb`.
    public var hex: String { String(format: "#%02x%02x%02x", r, g, b) }

    public static let white = RGB(255, 255, 255)
    public static let black = RGB(0, 0, 0)
}

/// A small software rasterizer for charts: an 8-bit RGB image (row-major, 3 bytes per pixel,
/// top row first) with anti-aliased lines, rectangles and 5×7 bitmap text.
public struct RasterCanvas {
    public let width: Int
    public let height: Int
    /// `height · width · 3` bytes.
    public private(set) var pixels: [UInt8]

    public init(width: Int, height: Int, background: RGB = .white) {
        precondition(width > 0 && height > 0, "canvas size must be positive")
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        fill(x: 0, y: 0, width: width, height: height, color: background)
    }

    /// The color at (`x`, `y`).
    public func pixel(x: Int, y: Int) -> RGB {
        let i = (y * width + x) * 3
        return RGB(pixels[i], pixels[i + 1], pixels[i + 2])
    }

    /// Blends `color` over pixel (`x`, `y`) with opacity `alpha` in [0, 1]; off-canvas is ignored.
    public mutating func blend(x: Int, y: Int, color: RGB, alpha: Double) {
        guard x >= 0, y >= 0, x < width, y < height, alpha > 0 else { return }
        let a = min(1, alpha), i = (y * width + x) * 3
        func mix(_ old: UInt8, _ new: UInt8) -> UInt8 { UInt8((Double(old) * (1 - a) + Double(new) * a).rounded()) }
        pixels[i] = mix(pixels[i], color.r)
        pixels[i + 1] = mix(pixels[i + 1], color.g)
        pixels[i + 2] = mix(pixels[i + 2], color.b)
    }

    /// Fills a rectangle; the part outside the canvas is skipped (nothing when all of it is).
    public mutating func fill(x: Int, y: Int, width w: Int, height h: Int, color: RGB) {
        let (x0, x1, y0, y1) = (max(0, x), min(width, x + w), max(0, y), min(height, y + h))
        guard x0 < x1, y0 < y1 else { return }
        for yy in y0..<y1 {
            for xx in x0..<x1 { blend(x: xx, y: yy, color: color, alpha: 1) }
        }
    }

    /// A line of the given thickness (pixels) from (x0, y0) to (x1, y1), anti-aliased by
    /// coverage: each pixel near the segment gets opacity from its distance to it.
    public mutating func line(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double, color: RGB, thickness: Double = 1) {
        let half = thickness / 2
        let (minX, maxX) = (Int((min(x0, x1) - half - 1).rounded(.down)), Int((max(x0, x1) + half + 1).rounded(.up)))
        let (minY, maxY) = (Int((min(y0, y1) - half - 1).rounded(.down)), Int((max(y0, y1) + half + 1).rounded(.up)))
        let (dx, dy) = (x1 - x0, y1 - y0)
        let lengthSquared = dx * dx + dy * dy
        for py in max(0, minY)...max(0, min(height - 1, maxY)) {
            for px in max(0, minX)...max(0, min(width - 1, maxX)) {
                // Distance from the pixel center to the segment.
                let (cx, cy) = (Double(px) + 0.5, Double(py) + 0.5)
                let t = lengthSquared > 0 ? max(0, min(1, ((cx - x0) * dx + (cy - y0) * dy) / lengthSquared)) : 0
                let (ex, ey) = (cx - (x0 + t * dx), cy - (y0 + t * dy))
                let distance = (ex * ex + ey * ey).squareRoot()
                let coverage = max(0, min(1, half + 0.5 - distance))
                if coverage > 0 { blend(x: px, y: py, color: color, alpha: coverage) }
            }
        }
    }

    /// Connects `points` with lines.
    public mutating func polyline(_ points: [(Double, Double)], color: RGB, thickness: Double = 2) {
        for (a, b) in zip(points, points.dropFirst()) { line(a.0, a.1, b.0, b.1, color: color, thickness: thickness) }
        if points.count == 1 { fill(x: Int(points[0].0) - 2, y: Int(points[0].1) - 2, width: 5, height: 5, color: color) }
    }

    /// Width in pixels of `text` at `scale`.
    public static func textWidth(_ text: String, scale: Int = 2) -> Int {
        max(0, text.count * (BitmapFont.width + 1) * scale - scale)
    }

    /// Draws `text` with its top-left corner at (`x`, `y`); `vertical` draws it rotated 90°
    /// counter-clockwise (reading upwards) with (`x`, `y`) as the bottom-left corner.
    public mutating func text(_ text: String, x: Int, y: Int, color: RGB, scale: Int = 2, vertical: Bool = false) {
        for (i, ch) in text.enumerated() {
            let offset = i * (BitmapFont.width + 1) * scale
            for gy in 0..<BitmapFont.height {
                for gx in 0..<BitmapFont.width where BitmapFont.isSet(ch, x: gx, y: gy) {
                    if vertical {
                        fill(x: x + gy * scale, y: y - offset - (gx + 1) * scale, width: scale, height: scale, color: color)
                    } else {
                        fill(x: x + offset + gx * scale, y: y + gy * scale, width: scale, height: scale, color: color)
                    }
                }
            }
        }
    }
}
