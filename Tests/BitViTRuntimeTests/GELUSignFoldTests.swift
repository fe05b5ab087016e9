import BitViTCore
import BitViTRuntime
import CBitKernels
import Testing

/// The W1A1 baseline's fc2 input `sgn(GELU(h))` (zeros kept) read off h by
/// `GELUThresholds.signBounds` and `bv_pack_interval_signs_rows`, against GELU evaluated by
/// `bv_gelu_forward_f32` and packed by `bv_pack_signs` with its mask, on every float around
/// the bounds, every float of the binade where the float erf reaches −1, and a sweep of the
/// whole float line.
@Suite("GELU sign fold (W1A1 fc2 input)")
struct GELUSignFoldTests {
    /// Row length of the packed comparisons (DeiT-S's MLP width, whole 64-bit words).
    static let k = 1536

    static func inputs(_ bounds: GELUThresholds.SignBounds) -> [Float] {
        var x: [Float] = [0, -0.0, .nan, .infinity, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                          .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude, -.leastNormalMagnitude]
        for b in [bounds.negativeFrom, bounds.negativeThrough, bounds.positiveFrom] where b.isFinite {
            var v = b
            for _ in 0..<(1 << 14) { v = v.nextDown }
            for _ in 0..<(1 << 15) { x.append(v); v = v.nextUp }
        }
        // Every float in [−8, −4): GELU's underflow to −0 lies there.
        var v: Float = -8
        while v < -4 { x.append(v); v = v.nextUp }
        // A sweep of every finite float's bit pattern, both signs.
        for bits in stride(from: UInt32(0), to: 0x7F80_0000, by: 4099) {
            x.append(Float(bitPattern: bits))
            x.append(Float(bitPattern: bits | 0x8000_0000))
        }
        while x.count % k != 0 { x.append(-6) }
        return x
    }

    @Test("Bounds: negative on one stretch below 0, positive from just above 0; a clip keeps them")
    func bounds() throws {
        let b = try #require(GELUThresholds.signBounds(clip: nil))
        #expect(b.negativeFrom > -8 && b.negativeFrom < -4, "GELU underflows to −0 between −8 and −4: \(b)")
        #expect(b.negativeThrough < 0 && b.negativeThrough > -1e-30, "\(b)")
        #expect(b.positiveFrom > 0 && b.positiveFrom < 1e-30, "\(b)")
        #expect(GELUThresholds.signBounds(clip: 10) == b)
        #expect(GELUThresholds.signBounds(clip: 0) == nil)
    }

    @Test("Packed signs and mask equal GELU then sign, on every path", arguments: [Int32(BV_KPATH_SCALAR), Int32(BV_KPATH_AUTO)])
    func packedSigns(_ path: Int32) throws {
        let b = try #require(GELUThresholds.signBounds(clip: nil))
        let x = Self.inputs(b), k = Self.k, rows = x.count / k, wpr = k / 64
        var g = [Float](repeating: 0, count: x.count)
        bv_gelu_forward_f32(x, &g, x.count)
        var want = [UInt64](repeating: 0, count: rows * wpr), wantMask = want
        var wantCounts = [Int32](repeating: 0, count: rows)
        bv_pack_signs(g, k, 1, Int32(rows), Int32(k), nil, &want, wpr, &wantMask, &wantCounts, path)
        var got = [UInt64](repeating: .max, count: rows * wpr), gotMask = got
        var gotCounts = [Int32](repeating: -1, count: rows)
        bv_pack_interval_signs_rows(x, k, Int32(rows), Int32(k), b.negativeFrom, b.negativeThrough, b.positiveFrom,
                                    &got, &gotMask, wpr, &gotCounts, path)
        let rowsWithOtherCounts = (0..<rows).filter { gotCounts[$0] != wantCounts[$0] }
        #expect(rowsWithOtherCounts.isEmpty, "nonzero counts differ in rows \(rowsWithOtherCounts.prefix(5))")
        var mismatches: [String] = []
        for w in 0..<(rows * wpr) where got[w] & gotMask[w] != want[w] & wantMask[w] || gotMask[w] != wantMask[w] {
            for j in 0..<64 where (got[w] ^ want[w]) >> UInt64(j) & 1 == 1 || (gotMask[w] ^ wantMask[w]) >> UInt64(j) & 1 == 1 {
                let i = (w / wpr) * k + (w % wpr) * 64 + j
                if mismatches.count < 5 { mismatches.append("h = \(x[i]) (GELU \(g[i]))") }
            }
        }
        #expect(mismatches.isEmpty, "fold ≠ GELU then sign at \(mismatches)")
    }

    @Test("bv_pack_signs with a mask packs a NaN as 0 on every path", arguments: [Int32(BV_KPATH_SCALAR), Int32(BV_KPATH_AUTO)])
    func nanIsZero(_ path: Int32) {
        var x = [Float](repeating: 1, count: 70)
        x[3] = .nan
        x[66] = -.nan
        var bits = [UInt64](repeating: .max, count: 2), mask = bits, counts: [Int32] = [-1]
        bv_pack_signs(x, 70, 1, 1, 70, nil, &bits, 2, &mask, &counts, path)
        let low: UInt64 = ~(UInt64(1) << 3), high: UInt64 = (UInt64(1) << 6) - 1 - (UInt64(1) << 2)
        #expect(mask == [low, high])
        #expect(bits == [0, 0])
        #expect(counts == [68])
    }

    @Test("Rows shorter than a word and tails: bits past K are zero", arguments: [1, 13, 70, 198])
    func tails(_ k: Int) throws {
        let b = try #require(GELUThresholds.signBounds(clip: nil))
        var rng = RandomGenerator(seed: UInt64(k))
        let rows = 3, wpr = (k + 63) / 64
        var x = randomFloats(rows * k, &rng, zeroFraction: 0.1).map { $0 * 4 }
        x[0] = -7
        for path in [Int32(BV_KPATH_SCALAR), Int32(BV_KPATH_AUTO)] {
            var bits = [UInt64](repeating: .max, count: rows * wpr), mask = bits
            var counts = [Int32](repeating: -1, count: rows)
            bv_pack_interval_signs_rows(x, k, Int32(rows), Int32(k), b.negativeFrom, b.negativeThrough, b.positiveFrom,
                                        &bits, &mask, wpr, &counts, path)
            for r in 0..<rows {
                var g = [Float](repeating: 0, count: k)
                bv_gelu_forward_f32(Array(x[(r * k)..<((r + 1) * k)]), &g, k)
                #expect(Int(counts[r]) == g.filter { $0 != 0 }.count)
                for j in 0..<k {
                    let word = r * wpr + j / 64, bit = UInt64(j % 64)
                    let at = "path \(path), h = \(x[r * k + j])"
                    #expect((mask[word] >> bit) & 1 == (g[j] != 0 ? 1 : 0), Comment(rawValue: at))
                    if g[j] != 0 { #expect((bits[word] >> bit) & 1 == (g[j] < 0 ? 1 : 0), Comment(rawValue: at)) }
                }
                if k % 64 != 0 {
                    #expect(bits[r * wpr + wpr - 1] >> UInt64(k % 64) == 0)
                    #expect(mask[r * wpr + wpr - 1] >> UInt64(k % 64) == 0)
                }
            }
        }
    }
}
