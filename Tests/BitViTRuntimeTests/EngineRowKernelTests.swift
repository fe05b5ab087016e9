import BitViTCore
import BitViTRuntime
import CBitKernels
import Foundation
import Testing

/// The engine's C row kernels (bv_engine_rows.h) against scalar references, on row lengths that
/// are not multiples of 16 or 64.
@Suite("Engine row kernels")
struct EngineRowKernelTests {
    static let lengths = [1, 13, 64, 70, 198]

    static func bit(_ words: [UInt64], row: Int, _ j: Int, stride: Int, plane: Int = 0, planeStride: Int = 0) -> Bool {
        (words[plane * planeStride + row * stride + j / 64] >> UInt64(j % 64)) & 1 == 1
    }

    @Test("softmax + bias + max equals softmax then add, and returns the largest value", arguments: lengths)
    func softmaxBiasMax(_ n: Int) {
        var rng = RandomGenerator(seed: UInt64(n))
        let rows = 3
        let x = randomFloats(rows * n, &rng), bias = randomFloats(rows * n, &rng).map { 0.01 * $0 }
        var y = [Float](repeating: 0, count: rows * n)
        let m = bv_softmax_bias_max_rows(x, &y, bias, rows, n, 0.7)
        for r in 0..<rows {
            let row = (0..<n).map { Double(x[r * n + $0]) * 0.7 }
            let top = row.max()!, sum = row.reduce(0) { $0 + exp($1 - top) }
            for j in 0..<n {
                let want = exp(row[j] - top) / sum + Double(bias[r * n + j])
                #expect(abs(Double(y[r * n + j]) - want) <= 1e-6, "row \(r) col \(j)")
            }
        }
        #expect(m == y.max()!)
    }

    @Test("outside-interval bits: x > above or x < below, with popcounts", arguments: lengths)
    func outside(_ k: Int) {
        var rng = RandomGenerator(seed: 3)
        let rows = 4, wpr = (k + 63) / 64
        let x = randomFloats(rows * k, &rng), above = randomFloats(k, &rng), below = above.map { $0 - 1.5 }
        var bits = [UInt64](repeating: .max, count: rows * wpr), counts = [Int32](repeating: -1, count: rows)
        bv_pack_outside_rows(x, k, Int32(rows), Int32(k), above, below, &bits, wpr, &counts)
        for r in 0..<rows {
            var count = 0
            for j in 0..<k {
                let want = x[r * k + j] > above[j] || x[r * k + j] < below[j]
                #expect(Self.bit(bits, row: r, j, stride: wpr) == want)
                if want { count += 1 }
            }
            #expect(Int(counts[r]) == count)
            if k % 64 != 0 { #expect(bits[r * wpr + wpr - 1] >> UInt64(k % 64) == 0, "bits past K are zero") }
        }
    }

    @Test("three threshold planes in one pass equal bv_pack_thresholds", arguments: lengths)
    func threeThresholds(_ k: Int) {
        var rng = RandomGenerator(seed: 4)
        let rows = 5, wpr = (k + 63) / 64, t: [Float] = [-0.3, 0.2, 0.9]
        let x = randomFloats(rows * k, &rng)
        var fused = [UInt64](repeating: .max, count: 3 * rows * wpr), reference = fused
        var fusedCounts = [Int32](repeating: -1, count: 3 * rows), referenceCounts = fusedCounts
        bv_pack_three_thresholds_rows(x, k, Int32(rows), Int32(k), t, &fused, wpr, rows * wpr, &fusedCounts)
        bv_pack_thresholds(x, k, 1, Int32(rows), Int32(k), nil, t, 3, &reference, wpr, rows * wpr, &referenceCounts, 1)
        #expect(fused == reference)
        #expect(fusedCounts == referenceCounts)
    }

    @Test("GSB V̂ planes of contiguous rows equal bv_pack_gsb_signed_planes", arguments: lengths)
    func gsbPlanes(_ k: Int) {
        var rng = RandomGenerator(seed: 5)
        let rows = 6, wpr = (k + 63) / 64
        var x = randomFloats(rows * k, &rng, zeroFraction: 0.05)
        x[0] = 0
        let up: [Float] = [0.7, 1.4], down: [Float] = [-0.6, -1.3]
        var fused = [UInt64](repeating: .max, count: 3 * rows * wpr), reference = fused
        bv_pack_gsb_planes_rows(x, k, Int32(rows), Int32(k), up, down, &fused, wpr, rows * wpr)
        bv_pack_gsb_signed_planes(x, k, 1, Int32(rows), Int32(k), up[0], down[0], up[1], down[1], &reference, wpr, rows * wpr)
        #expect(fused == reference)
    }

    @Test("shifted copies, plain and transposed, with the extremes of the written values")
    func shiftedCopies() {
        var rng = RandomGenerator(seed: 6)
        let (rows, cols, stride) = (19, 70, 100)
        let src = randomFloats(rows * stride, &rng), shift = randomFloats(cols, &rng)
        var plain = [Float](repeating: 0, count: rows * cols), transposed = plain
        var (lo1, hi1) = (Float.infinity, -Float.infinity), (lo2, hi2) = (Float.infinity, -Float.infinity)
        bv_add_shift_minmax_rows(src, stride, shift, &plain, cols, rows, cols, &lo1, &hi1)
        bv_transpose_add_shift_minmax(src, stride, shift, &transposed, rows, cols, &lo2, &hi2)
        for r in 0..<rows {
            for j in 0..<cols {
                let want = src[r * stride + j] + shift[j]
                #expect(plain[r * cols + j] == want)
                #expect(transposed[j * rows + r] == want)
            }
        }
        #expect(lo1 == plain.min()! && hi1 == plain.max()!)
        #expect(lo2 == lo1 && hi2 == hi1)
    }

    // MARK: GSB attention kernels on every path the CPU runs

    /// Random sign bits of `rows` rows of `d` bits, row-major words (and word-major for keys).
    static func randomBits(rows: Int, d: Int, _ rng: inout RandomGenerator) -> [UInt64] {
        let words = (d + 63) / 64
        return (0..<(rows * words)).map { i in
            var w: UInt64 = 0
            for b in 0..<64 where rng.nextUniform() < 0.5 { w |= 1 << UInt64(b) }
            let valid = d - (i % words) * 64
            return valid >= 64 ? w : w & ((1 << UInt64(valid)) - 1)
        }
    }

    @Test("GSB attention rows: scores, softmax + B_att, group-1 plane and candidates, every path",
          arguments: binaryPaths, [(n: 198, d: 64), (n: 37, d: 64), (n: 70, d: 100)])
    func gsbAttentionRows(_ path: BinaryKernelPath, _ shape: (n: Int, d: Int)) {
        let (n, d) = shape, words = (d + 63) / 64, wpr = (n + 63) / 64
        var rng = RandomGenerator(seed: UInt64(n * d))
        let q = Self.randomBits(rows: n, d: d, &rng), kRows = Self.randomBits(rows: n, d: d, &rng)
        // Keys word-major (word w of key j at w·n + j).
        var k = [UInt64](repeating: 0, count: words * n)
        for j in 0..<n { for w in 0..<words { k[w * n + j] = kRows[j * words + w] } }
        let bias = randomFloats(n * n, &rng).map { 0.002 * $0 }
        let rowMin = (0..<n).map { r in bias[(r * n)..<((r + 1) * n)].min()! }
        let scale: Float = 0.9 / Float(d).squareRoot(), a1Bound: Float = 0.006, ratio: Float = 0.7
        var p = [Float](repeating: 0, count: n * n)
        var a1 = [UInt64](repeating: .max, count: n * wpr), candidates = a1, counts = [Int32](repeating: -1, count: n)
        let top = bv_gsb_attention_rows(q, words, k, n, Int32(words), Int32(n), Int32(n), Int32(d), scale, bias, rowMin, &p,
                                        a1Bound, ratio, &a1, &candidates, wpr, &counts, path.rawValue)
        #expect(top == p.max()!)
        for r in 0..<n {
            let scores = (0..<n).map { j -> Double in
                var c = 0
                for w in 0..<words { c += (q[r * words + w] ^ kRows[j * words + w]).nonzeroBitCount }
                return Double(scale) * Double(d - 2 * c)
            }
            let top = scores.max()!, sum = scores.reduce(0) { $0 + exp($1 - top) }
            let want = (0..<n).map { exp(scores[$0] - top) / sum + Double(bias[r * n + $0]) }
            var ones = 0
            for j in 0..<n {
                #expect(abs(Double(p[r * n + j]) - want[j]) <= 1e-6, "path \(path) row \(r) col \(j)")
                let bit = Self.bit(a1, row: r, j, stride: wpr)
                if abs(want[j] - Double(a1Bound)) > 1e-5 { #expect(bit == (want[j] > Double(a1Bound))) }
                if bit { ones += 1 }
                // Candidates cover every element above ratio · (the row's max).
                if want[j] > Double(ratio) * want.max()! + 1e-5 { #expect(Self.bit(candidates, row: r, j, stride: wpr)) }
            }
            #expect(Int(counts[r]) == ones)
            if n % 64 != 0 {
                #expect(a1[r * wpr + wpr - 1] >> UInt64(n % 64) == 0 && candidates[r * wpr + wpr - 1] >> UInt64(n % 64) == 0)
            }
        }
    }

    @Test("GSB mask planes test only the candidates, every path", arguments: binaryPaths, [13, 70, 198])
    func gsbMaskPlanes(_ path: BinaryKernelPath, _ n: Int) {
        var rng = RandomGenerator(seed: UInt64(7 * n))
        let rows = 5, wpr = (n + 63) / 64
        let p = randomFloats(rows * n, &rng)
        let candidates = (0..<(rows * wpr)).map { i -> UInt64 in
            var w: UInt64 = 0
            for b in 0..<64 where (i % wpr) * 64 + b < n && rng.nextUniform() < 0.6 { w |= 1 << UInt64(b) }
            return w
        }
        var t1 = [UInt64](repeating: .max, count: rows * wpr), t2 = t1
        var c1 = [Int32](repeating: -1, count: rows), c2 = c1
        bv_gsb_mask_planes_rows(p, Int32(rows), Int32(n), candidates, wpr, 0.2, 0.9, &t1, &t2, &c1, &c2, path.rawValue)
        for r in 0..<rows {
            var (o1, o2) = (0, 0)
            for j in 0..<n {
                let candidate = Self.bit(candidates, row: r, j, stride: wpr)
                let (want1, want2) = (candidate && p[r * n + j] > 0.2, candidate && p[r * n + j] > 0.9)
                #expect(Self.bit(t1, row: r, j, stride: wpr) == want1 && Self.bit(t2, row: r, j, stride: wpr) == want2,
                        "path \(path) row \(r) col \(j)")
                if want1 { o1 += 1 }
                if want2 { o2 += 1 }
            }
            #expect(Int(c1[r]) == o1 && Int(c2[r]) == o2)
        }
    }

    @Test("GSB V̂ planes straight into panels, every path", arguments: binaryPaths, [(tokens: 198, features: 64), (tokens: 37, features: 70)])
    func gsbValuePanels(_ path: BinaryKernelPath, _ shape: (tokens: Int, features: Int)) {
        let (tokens, features) = shape, stride = features + 5
        var rng = RandomGenerator(seed: UInt64(tokens + features))
        var v = randomFloats(tokens * stride, &rng, zeroFraction: 0.03)
        v[0] = -0.25   // with shift[0] = 0.25: exactly zero, packs as +1
        var shift = randomFloats(features, &rng).map { 0.1 * $0 }
        shift[0] = 0.25
        let up: [Float] = [0.8, 1.5], down: [Float] = [-0.7, -1.4]
        let panelDwords = 2 * ((tokens + 63) / 64), panelCount = (features + 15) / 16
        let planeStride = panelCount * 16 * panelDwords
        var panels = [UInt32](repeating: .max, count: 3 * planeStride)
        bv_pack_gsb_value_panels(v, stride, shift, Int32(tokens), Int32(features), up, down, &panels, panelDwords, planeStride,
                                 path.rawValue)
        for f in 0..<(panelCount * 16) {
            for d in 0..<panelDwords {
                var want: [UInt32] = [0, 0, 0]
                for t in min(32 * d, tokens)..<min(32 * d + 32, tokens) where f < features {
                    let x = v[t * stride + f] + shift[f]
                    let negative = x < 0, g1 = x > up[0] || x < down[0], g2 = x > up[1] || x < down[1]
                    if negative { want[0] |= 1 << UInt32(t - 32 * d) }
                    if negative == g1 { want[1] |= 1 << UInt32(t - 32 * d) }
                    if negative == g2 { want[2] |= 1 << UInt32(t - 32 * d) }
                }
                for plane in 0..<3 {
                    #expect(panels[plane * planeStride + ((f / 16) * panelDwords + d) * 16 + f % 16] == want[plane],
                            "path \(path) plane \(plane) feature \(f) dword \(d)")
                }
            }
        }
    }

    @Test("shifted extremes of strided rows, every path", arguments: binaryPaths)
    func shiftMinMax(_ path: BinaryKernelPath) {
        var rng = RandomGenerator(seed: 8)
        let (rows, cols, stride) = (11, 70, 90)
        let src = randomFloats(rows * stride, &rng), shift = randomFloats(cols, &rng)
        var (lo, hi) = (Float.infinity, -Float.infinity)
        bv_shift_minmax_rows(src, stride, shift, rows, cols, &lo, &hi, path.rawValue)
        let values = (0..<rows).flatMap { r in (0..<cols).map { src[r * stride + $0] + shift[$0] } }
        #expect(lo == values.min()! && hi == values.max()!)
    }
}
