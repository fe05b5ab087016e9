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
        let fillValues = (0..<ch).map { fill.isEmpty ? UInt8(0) : fill[$0 % fill.count] }
        @inline(__always) func clampX(_ x: Int) -> Int { min(max(x, 0), w - 1) * ch }
        @inline(__always) func clampY(_ y: Int) -> Int { min(max(y, 0), h - 1) * w * ch }
        @inline(__always) func store(_ v: Double) -> UInt8 { v <= 0 ? 0 : v >= 255 ? 255 : UInt8(v) }
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<h {
                    for x in 0..<w {
                        let px = Double(x) + 0.5, py = Double(y) + 0.5
                        let xin = matrix.a * px + matrix.b * py + matrix.c
                        let yin = matrix.d * px + matrix.e * py + matrix.f
                        let d = (y * w + x) * ch
                        guard xin >= 0 && xin < Double(w) && yin >= 0 && yin < Double(h) else {
                            for c in 0..<ch { dst[d + c] = fillValues[c] }
                            continue
                        }
                        switch interpolation {
                        case .nearest:
                            let s = clampY(Int(yin)) + clampX(Int(xin))
                            for c in 0..<ch { dst[d + c] = src[s + c] }
                        case .bilinear:
                            let fx = xin - 0.5, fy = yin - 0.5
                            let x0 = Int(fx.rounded(.down)), y0 = Int(fy.rounded(.down))
                            let dx = fx - Double(x0), dy = fy - Double(y0)
                            let (c0, c1) = (clampX(x0), clampX(x0 + 1)), (r0, r1) = (clampY(y0), clampY(y0 + 1))
                            for c in 0..<ch {
                                let a = Double(src[r0 + c0 + c]), b = Double(src[r0 + c1 + c])
                                let e = Double(src[r1 + c0 + c]), f = Double(src[r1 + c1 + c])
                                let top = a + (b - a) * dx, bottom = e + (f - e) * dx
                                dst[d + c] = store(top + (bottom - top) * dy)
                            }
                        case .bicubic:
                            let fx = xin - 0.5, fy = yin - 0.5
                            let x0 = Int(fx.rounded(.down)), y0 = Int(fy.rounded(.down))
                            let dx = fx - Double(x0), dy = fy - Double(y0)
                            let cols = (clampX(x0 - 1), clampX(x0), clampX(x0 + 1), clampX(x0 + 2))
                            let rows = (clampY(y0 - 1), clampY(y0), clampY(y0 + 1), clampY(y0 + 2))
                            for c in 0..<ch {
                                @inline(__always) func line(_ r: Int) -> Double {
                                    cubic(Double(src[r + cols.0 + c]), Double(src[r + cols.1 + c]),
                                          Double(src[r + cols.2 + c]), Double(src[r + cols.3 + c]), dx)
                                }
                                dst[d + c] = store(cubic(line(rows.0), line(rows.1), line(rows.2), line(rows.3), dy))
                            }
                        }
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
