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
}
