import Foundation

/// An affine map from output pixel coordinates to input coordinates,
/// `(x, y) ↦ (a·x + b·y + c, d·x + e·y + f)`, the matrix of PIL's `Image.transform(AFFINE)`.
public struct AffineMatrix: Equatable, Sendable {
    public var a, b, c, d, e, f: Double

    public init(_ a: Double, _ b: Double, _ c: Double, _ d: Double, _ e: Double, _ f: Double) {
        (self.a, self.b, self.c, self.d, self.e, self.f) = (a, b, c, d, e, f)
    }

    /// PIL's `Image.rotate(degrees)` without expansion: counter-clockwise about the image center
    /// `(width/2, height/2)`, with the trigonometric values rounded to 15 decimals as PIL does.
    public static func rotation(degrees: Double, width: Int, height: Int) -> AffineMatrix {
        let angle = -degrees * .pi / 180
        func r15(_ v: Double) -> Double { (v * 1e15).rounded() / 1e15 }
        let (cosA, sinA) = (r15(cos(angle)), r15(sin(angle)))
        let cx = Double(width) / 2, cy = Double(height) / 2
        return AffineMatrix(cosA, sinA, cosA * -cx + sinA * -cy + cx,
                            -sinA, cosA, -sinA * -cx + cosA * -cy + cy)
    }
}

extension Image {
    /// The image warped by `matrix` (output → input coordinates) with PIL's affine sampling:
    /// pixel centers at `+0.5`, output pixels whose source lies outside the image get `fill`
    /// (per channel, cycled), edge pixels are clamped inside, bilinear/bicubic values are
    /// truncated to 8 bits, and bicubic uses `a = −1` (PIL's transform kernel, unlike its resize).
    public func warped(by matrix: AffineMatrix, interpolation: Interpolation, fill: [UInt8]) -> Image {
        var out = [UInt8](repeating: 0, count: pixels.count)
        let w = width, h = height, ch = channels
        var values = [Double](repeating: 0, count: ch)
        pixels.withUnsafeBufferPointer { src in
            @inline(__always) func sample(_ x: Int, _ y: Int, _ c: Int) -> Double {
                Double(src[(min(max(y, 0), h - 1) * w + min(max(x, 0), w - 1)) * ch + c])
            }
            for y in 0..<h {
                for x in 0..<w {
                    let px = Double(x) + 0.5, py = Double(y) + 0.5
                    let xin = matrix.a * px + matrix.b * py + matrix.c
                    let yin = matrix.d * px + matrix.e * py + matrix.f
                    let d = (y * w + x) * ch
                    let inside = xin >= 0 && xin < Double(w) && yin >= 0 && yin < Double(h)
                    guard inside else {
                        for c in 0..<ch { out[d + c] = fill.isEmpty ? 0 : fill[c % fill.count] }
                        continue
                    }
                    switch interpolation {
                    case .nearest:
                        let sx = Int(xin), sy = Int(yin)
                        for c in 0..<ch { values[c] = sample(sx, sy, c) }
                    case .bilinear:
                        let fx = xin - 0.5, fy = yin - 0.5
                        let x0 = Int(fx.rounded(.down)), y0 = Int(fy.rounded(.down))
                        let dx = fx - Double(x0), dy = fy - Double(y0)
                        for c in 0..<ch {
                            let top = sample(x0, y0, c) + (sample(x0 + 1, y0, c) - sample(x0, y0, c)) * dx
                            let bottom = sample(x0, y0 + 1, c) + (sample(x0 + 1, y0 + 1, c) - sample(x0, y0 + 1, c)) * dx
                            values[c] = top + (bottom - top) * dy
                        }
                    case .bicubic:
                        let fx = xin - 0.5, fy = yin - 0.5
                        let x0 = Int(fx.rounded(.down)) - 1, y0 = Int(fy.rounded(.down)) - 1
                        let dx = fx - Double(x0 + 1), dy = fy - Double(y0 + 1)
                        for c in 0..<ch {
                            var rows = (0.0, 0.0, 0.0, 0.0)
                            func row(_ r: Int) -> Double {
                                cubic(sample(x0, y0 + r, c), sample(x0 + 1, y0 + r, c),
                                      sample(x0 + 2, y0 + r, c), sample(x0 + 3, y0 + r, c), dx)
                            }
                            rows = (row(0), row(1), row(2), row(3))
                            values[c] = cubic(rows.0, rows.1, rows.2, rows.3, dy)
                        }
                    }
                    for c in 0..<ch {
                        let v = values[c]
                        out[d + c] = v <= 0 ? 0 : v >= 255 ? 255 : UInt8(v)
                    }
                }
            }
        }
        return Image(height: h, width: w, channels: ch, pixels: out)
    }
}

/// PIL's 4-tap cubic for transforms (`a = −1`) at fraction `t` between `v1` and `v2`.
@inline(__always)
private func cubic(_ v0: Double, _ v1: Double, _ v2: Double, _ v3: Double, _ t: Double) -> Double {
    let p2 = -v0 + v2
    let p3 = 2 * (v0 - v1) + v2 - v3
    let p4 = -v0 + v1 - v2 + v3
    return v1 + t * (p2 + t * (p3 + t * p4))
}
