import BitViTCore
import BitViTRuntime
import CBitKernels
import Testing

/// BHViT's C row passes (bhvit_rows.c) against scalar Swift references written from the
/// training graph's formulas, in its operation order, so they must agree bit for bit; on
/// widths whose channel quarters are and are not whole 8-lane blocks, and grids of 1–7 pixels
/// a side (the circular shifts wrap more than once on the smallest).
@Suite("BHViT row kernels")
struct BHViTRowKernelTests {
    static func rprelu(_ u: Float, _ move1: Float, _ slope: Float, _ move2: Float) -> Float {
        let v = u - move1
        return ((v < 0 ? 0 : v) + slope * (v > 0 ? 0 : v)) + move2
    }

    /// The parameter layout of bv_bhvit_block_residual_rows: block kb holds lanes kb·8 ..< kb·8 + 8
    /// of every vector in turn, zeros past the end.
    static func interleaved(_ vectors: [[Float]]) -> [Float] {
        let lanes = Int(BV_RESIDUAL_LANES), n = vectors[0].count, blocks = (n + lanes - 1) / lanes
        var out = [Float](repeating: 0, count: blocks * vectors.count * lanes)
        for (v, vector) in vectors.enumerated() { for k in 0..<n { out[((k / lanes) * vectors.count + v) * lanes + k % lanes] = vector[k] } }
        return out
    }

    /// `i + d` on a circular axis of `side` cells.
    static func wrap(_ i: Int, _ d: Int, _ side: Int) -> Int { ((i + d) % side + side) % side }

    @Test("Block residual with the six shift branches, and without", arguments: [(64, 7), (96, 3), (36, 4), (12, 2), (3, 1), (40, 5)])
    func blockResidual(_ geometry: (c: Int, side: Int)) {
        let (c, side) = geometry, batch = 2, rows = batch * side * side
        var rng = RandomGenerator(seed: UInt64(c * 10 + side))
        let x0 = randomFloats(rows * c, &rng), y = randomFloats(rows * c, &rng), u2 = randomFloats(rows * c, &rng)
        let ls = randomFloats(c, &rng), lm = randomFloats(c, &rng)
        let scale = randomFloats(6 * c, &rng), move = randomFloats(6 * c, &rng)
        for branches in [false, true] {
            var want = x0
            for row in 0..<rows {
                let pixel = row % (side * side), (i, j) = (pixel / side, pixel % side), image = row - pixel
                func at(_ di: Int, _ dj: Int, _ k: Int) -> Float {
                    u2[(image + Self.wrap(i, di, side) * side + Self.wrap(j, dj, side)) * c + k]
                }
                for k in 0..<c {
                    var value = want[row * c + k] + (y[row * c + k] * ls[k] + lm[k])
                    if branches {
                        let q = c / 4 == 0 ? 3 : min(3, k / (c / 4))
                        let near: [(Int, Int)] = [(-1, 0), (1, 0), (0, -1), (0, 1)]
                        let u = at(0, 0, k)
                        let h3 = ((u + at(-1, 0, k)) + at(1, 0, k)) * (1 / 3 as Float)
                        let w3 = ((u + at(0, -1, k)) + at(0, 1, k)) * (1 / 3 as Float)
                        let c3 = at(near[q].0, near[q].1, k)
                        let h5 = ((((u + at(-1, 0, k)) + at(1, 0, k)) + at(-2, 0, k)) + at(2, 0, k)) * (1 / 5 as Float)
                        let w5 = ((((u + at(0, -1, k)) + at(0, 1, k)) + at(0, -2, k)) + at(0, 2, k)) * (1 / 5 as Float)
                        let c5 = at(2 * near[q].0, 2 * near[q].1, k)
                        var total: Float = 0
                        for (b, s) in [h3, w3, c3, h5, w5, c5].enumerated() {
                            let term = s * scale[b * c + k] + move[b * c + k]
                            total = b == 0 ? term : total + term
                        }
                        value = value + total
                    }
                    want[row * c + k] = value
                }
            }
            var vectors = [ls, lm]
            if branches { for b in 0..<6 { vectors += [Array(scale[(b * c)..<((b + 1) * c)]), Array(move[(b * c)..<((b + 1) * c)])] } }
            let params = Self.interleaved(vectors)
            var x = x0
            // Two row ranges, as two workers would take them.
            for range in [0..<(rows / 2), (rows / 2)..<rows] {
                bv_bhvit_block_residual_rows(&x, y, u2, Int32(side), Int32(c), params, branches ? 1 : 0, range.lowerBound,
                                             range.upperBound)
            }
            let wrong = (0..<x.count).filter { x[$0].bitPattern != want[$0].bitPattern }
            #expect(wrong.isEmpty, "c \(c) side \(side) branches \(branches): \(wrong.count) values differ, first \(wrong.prefix(3))")
        }
    }

    @Test("Tiled RPReLU with GroupMean, in place and not", arguments: [(256, 4), (64, 4), (44, 4), (128, 8), (36, 3)])
    func tileRPReLU(_ shape: (c: Int, ratio: Int)) {
        let (c, ratio) = shape, sc = c / ratio, rows = 5
        var rng = RandomGenerator(seed: UInt64(c + ratio))
        var y = randomFloats(rows * c, &rng)
        y[0] = 0
        y[1] = -0.0
        let source = randomFloats(rows * sc, &rng), p = randomFloats(3 * c, &rng)
        let (want, wantMeans) = Self.hidden(y, rows: rows, c: c, source: source, sc: sc, p, ratio: ratio)
        let (move1, slope, move2) = (Array(p[0..<c]), Array(p[c..<(2 * c)]), Array(p[(2 * c)...]))
        for inPlace in [false, true] {
            var out = inPlace ? y : [Float](repeating: .nan, count: rows * c), means = [Float](repeating: .nan, count: rows * sc)
            if inPlace {
                out.withUnsafeMutableBufferPointer { o in
                    bv_bhvit_tile_rprelu_rows(o.baseAddress, Int32(rows), Int32(c), source, Int32(sc), move1, slope, move2, o.baseAddress,
                                              Int32(ratio), &means)
                }
            } else {
                bv_bhvit_tile_rprelu_rows(y, Int32(rows), Int32(c), source, Int32(sc), move1, slope, move2, &out, Int32(ratio), &means)
            }
            #expect(out.map(\.bitPattern) == want.map(\.bitPattern), "c \(c) ratio \(ratio) in place \(inPlace)")
            #expect(means.map(\.bitPattern) == wantMeans.map(\.bitPattern), "means, c \(c) ratio \(ratio) in place \(inPlace)")
        }
    }

    /// The reference of `tileRPReLU`: H1 = RPReLU(y + Tile(source)) and its GroupMean.
    static func hidden(_ y: [Float], rows: Int, c: Int, source: [Float], sc: Int, _ p: [Float], ratio: Int) -> (h: [Float], means: [Float]) {
        var h = y, means = [Float](repeating: 0, count: rows * (c / ratio))
        for r in 0..<rows {
            for k in 0..<c { h[r * c + k] = Self.rprelu(y[r * c + k] + source[r * sc + k % sc], p[k], p[c + k], p[2 * c + k]) }
            for m in 0..<(c / ratio) {
                var s = h[r * c + m * ratio]
                for j in 1..<ratio { s += h[r * c + m * ratio + j] }
                means[r * (c / ratio) + m] = s * (1 / Float(ratio))
            }
        }
        return (h, means)
    }

    @Test("MLP hidden layer: GroupMean and fc2's packed signs without storing it",
          arguments: [(512, 8, 64), (256, 4, 64), (128, 4, 32), (64, 8, 8), (128, 8, 128), (96, 4, 24), (36, 3, 12), (128, 8, 20)])
    func mlpHidden(_ shape: (c: Int, ratio: Int, sc: Int)) {
        let (c, ratio, sc) = shape, rows = 5, words = (c + 63) / 64, stride = words + 1
        var rng = RandomGenerator(seed: UInt64(c * 7 + ratio + sc))
        var y = randomFloats(rows * c, &rng)
        let source = randomFloats(rows * sc, &rng), p = randomFloats(3 * c, &rng), shift = randomFloats(c, &rng)
        y[0] = -source[0]  // u = 0 exactly
        y[c + 1] = .nan
        let (h, wantMeans) = Self.hidden(y, rows: rows, c: c, source: source, sc: sc, p, ratio: ratio)
        var wantBits = [UInt64](repeating: 0, count: rows * stride)
        for r in 0..<rows {
            for k in 0..<c where h[r * c + k] + shift[k] < 0 { wantBits[r * stride + k / 64] |= 1 << UInt64(k % 64) }
        }
        let (move1, slope, move2) = (Array(p[0..<c]), Array(p[c..<(2 * c)]), Array(p[(2 * c)...]))
        var means = [Float](repeating: .nan, count: rows * (c / ratio)), bits = [UInt64](repeating: 0, count: rows * stride)
        let status = bv_bhvit_mlp_hidden_rows(y, Int32(rows), Int32(c), source, Int32(sc), move1, slope, move2, Int32(ratio), &means,
                                              shift, &bits, stride)
        #expect(status == 0)
        #expect(means.map(\.bitPattern) == wantMeans.map(\.bitPattern), "means, c \(c) ratio \(ratio) sc \(sc)")
        #expect(bits == wantBits, "signs, c \(c) ratio \(ratio) sc \(sc)")
        // The same signs as the float rows packed by bv_pack_signs.
        var packed = [UInt64](repeating: 0, count: rows * stride)
        bv_pack_signs(h, c, 1, Int32(rows), Int32(c), shift, &packed, stride, nil, nil, Int32(BV_KPATH_AUTO))
        #expect(packed == bits, "bv_pack_signs, c \(c) ratio \(ratio) sc \(sc)")
    }

    @Test("MSGDC's three RPReLUs, BN and residual; the folded BN rows", arguments: [64, 20, 3])
    func msgdcResidualAndAffine(_ c: Int) {
        let rows = 4
        var rng = RandomGenerator(seed: UInt64(c))
        let x0 = randomFloats(rows * c, &rng), outputs = (0..<3).map { _ in randomFloats(rows * c, &rng) }
        let acts = (0..<9).map { _ in randomFloats(c, &rng) }, s = randomFloats(c, &rng), t = randomFloats(c, &rng)
        var want = x0
        for r in 0..<rows {
            for k in 0..<c {
                let v = (0..<3).map { b in Self.rprelu(outputs[b][r * c + k], acts[3 * b][k], acts[3 * b + 1][k], acts[3 * b + 2][k]) }
                want[r * c + k] = want[r * c + k] + (((v[0] + v[1]) + v[2]) * s[k] + t[k])
            }
        }
        let buffers = acts.map { AlignedBuffer($0) }
        let pointers: [UnsafePointer<Float>?] = buffers.map { UnsafePointer($0.pointer) }
        var x = x0
        withExtendedLifetime(buffers) {
            bv_bhvit_msgdc_residual_rows(&x, outputs[0], outputs[1], outputs[2], Int32(rows), Int32(c), pointers, s, t)
        }
        #expect(x.map(\.bitPattern) == want.map(\.bitPattern), "msgdc c \(c)")

        var y = x0
        y.withUnsafeMutableBufferPointer { bv_bhvit_affine_rows($0.baseAddress, Int32(rows), Int32(c), s, t, $0.baseAddress) }  // in place
        let affine = (0..<(rows * c)).map { x0[$0] * s[$0 % c] + t[$0 % c] }
        #expect(y.map(\.bitPattern) == affine.map(\.bitPattern), "affine c \(c)")
    }
}
