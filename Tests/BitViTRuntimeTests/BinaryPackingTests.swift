import BitViTCore
import BitViTRuntime
import Testing

@Suite("Packing float rows into bit planes")
struct BinaryPackingTests {
    @Test func signsWithShiftMaskAndPadding() {
        var rng = RandomGenerator(seed: 51)
        for path in binaryPaths {
            for (rows, k) in [(1, 1), (3, 63), (4, 64), (5, 65), (2, 200)] {
                var x = randomFloats(rows * k, &rng, zeroFraction: 0.2)
                let shift = randomFloats(k, &rng, zeroFraction: 0.3)
                x[0] = -shift[0]  // exactly zero after the shift
                let m = x.withUnsafeBufferPointer { xp in
                    shift.withUnsafeBufferPointer {
                        BinaryPack.signs(xp.baseAddress!, rows: rows, k: k, shift: $0.baseAddress, keepZeros: true, path: path)
                    }
                }
                #expect(m.wordsPerRow == (k + 63) / 64)
                for r in 0..<rows {
                    var nonzero: Int32 = 0
                    for j in 0..<k {
                        let v = x[r * k + j] + shift[j]
                        #expect(m.bit(row: r, column: j) == (v < 0), "sign bit (\(r), \(j)) path \(path)")
                        #expect(m.planeValue(row: r, column: j) == sgn(v), "value (\(r), \(j)) path \(path)")
                        if v != 0 { nonzero += 1 }
                    }
                    #expect(m.rowCounts![r] == nonzero, "row \(r) nonzero count path \(path)")
                    // Bits past k stay 0 in both planes, so they add nothing to any product.
                    let last = r * m.wordsPerRow + m.wordsPerRow - 1, used = k - 64 * (m.wordsPerRow - 1)
                    if used < 64 {
                        #expect(m.words[last] >> UInt64(used) == 0 && m.mask![last] >> UInt64(used) == 0, "padding path \(path)")
                    }
                }
            }
        }
    }

    @Test func thresholdsAreStrictAndCountRows() {
        let x: [Float] = [0.5, 0.49, 0.51, 1, -1, 0.7, 0.9, 0.91]
        for path in binaryPaths {
            let m = x.withUnsafeBufferPointer {
                BinaryPack.thresholds($0.baseAddress!, rows: 1, k: 8, thresholds: [0.5, 0.9], path: path)
            }
            #expect((0..<8).map { m.bit(row: 0, column: $0, plane: 0) } == [false, false, true, true, false, true, true, true])
            #expect((0..<8).map { m.bit(row: 0, column: $0, plane: 1) } == [false, false, false, true, false, false, false, true])
            #expect(m.rowCounts![0] == 5 && m.rowCounts![1] == 2)
        }
    }

    @Test func stridedPackingEqualsPackingTheTranspose() {
        // V [tokens, d] packed along tokens (rows = d) equals packing Vᵀ row by row, on every
        // path: rows side by side in memory take the column packer (8 rows per compare, a bit
        // transpose) in groups of 8 and the scalar packer for the rest.
        var rng = RandomGenerator(seed: 52)
        for path in binaryPaths {
            for (tokens, d) in [(77, 9), (49, 32), (64, 16), (130, 24), (5, 7), (1, 8)] {
                var v = randomFloats(tokens * d, &rng, zeroFraction: 0.1)
                v[0] = -0.0  // not negative
                let shift = randomFloats(tokens, &rng, zeroFraction: 0.5)
                var vt = [Float](repeating: 0, count: v.count)
                for t in 0..<tokens { for c in 0..<d { vt[c * tokens + t] = v[t * d + c] } }
                for withShift in [false, true] {
                    let (strided, direct) = shift.withUnsafeBufferPointer { s in
                        let sp = withShift ? s.baseAddress : nil
                        return (v.withUnsafeBufferPointer {
                            BinaryPack.signs($0.baseAddress!, rows: d, k: tokens, rowStride: 1, kStride: d, shift: sp, path: path)
                        }, vt.withUnsafeBufferPointer {
                            BinaryPack.signs($0.baseAddress!, rows: d, k: tokens, shift: sp, path: .scalar)
                        })
                    }
                    #expect(strided.words.array == direct.words.array, "\(tokens)×\(d) shift \(withShift) path \(path)")
                    for c in 0..<d { for t in 0..<tokens where strided.bit(row: c, column: t) != (vt[c * tokens + t] + (withShift ? shift[t] : 0) < 0) {
                        Issue.record("bit (\(c), \(t)) \(tokens)×\(d) path \(path)")
                    } }
                }
            }
        }
    }

    @Test func quantizedPlanesDecodeToTheRoundedCodes() {
        // Ties: x/α + z = 0.5 → 0, 1.5 → 2, 2.5 → 2 (half to even), then clamp to [0, qmax].
        let x: [Float] = [0.5, 1.5, 2.5, 3.4, -1, 7.6, 2.49, 100]
        for encoding in [CodePlanes.binary, .thermometer] {
            let m = x.withUnsafeBufferPointer {
                BinaryPack.quantizedPlanes($0.baseAddress!, rows: 1, k: 8, alpha: 1, qmax: 3, encoding: encoding)
            }
            #expect(m.planes == (encoding == .binary ? 2 : 3))
            #expect(m.dequantized() == [0, 2, 2, 3, 0, 3, 2, 3], "\(encoding)")
            for p in 0..<m.planes {
                let ones = (0..<8).filter { m.bit(row: 0, column: $0, plane: p) }.count
                #expect(m.rowCounts![p] == Int32(ones))
            }
        }
        let t = x.withUnsafeBufferPointer {
            BinaryPack.quantizedPlanes($0.baseAddress!, rows: 1, k: 8, alpha: 1, qmax: 3, encoding: .thermometer)
        }
        // Nested: plane 2 ⊂ plane 1 ⊂ plane 0.
        for j in 0..<8 {
            #expect(!t.bit(row: 0, column: j, plane: 2) || t.bit(row: 0, column: j, plane: 1))
            #expect(!t.bit(row: 0, column: j, plane: 1) || t.bit(row: 0, column: j, plane: 0))
        }
    }

    @Test func gsbSignedPlanesRepresentTheThreeGroupCode() {
        var rng = RandomGenerator(seed: 53)
        let (rows, k) = (3, 130)
        let v = randomFloats(rows * k, &rng)
        let (a1, a2, a3): (Float, Float, Float) = (0.5, 0.25, 0.125)
        let (mx, mn) = (v.max()!, v.min()!)
        let m = v.withUnsafeBufferPointer {
            BinaryPack.gsbSignedPlanes($0.baseAddress!, rows: rows, k: k, alphas: (a1, a2, a3),
                                       t1: (0.7 * mx, 0.7 * mn), t2: (0.9 * mx, 0.9 * mn))
        }
        let want = v.map { x -> Float in
            let t1: Float = x > 0.7 * mx || x < 0.7 * mn ? 1 : 0, t2: Float = x > 0.9 * mx || x < 0.9 * mn ? 1 : 0
            return sgn(x) * (a1 + a2 * t1 + a3 * t2)
        }
        #expect(m.dequantized() == want)
        #expect(Set(want.map(abs)).count == 3, "all three magnitude groups occur")
    }

    @Test func codePlanesAndPanelsRoundTrip() {
        var rng = RandomGenerator(seed: 54)
        let (rows, k) = (37, 71)  // rows not a multiple of 16, k not of 32
        let codes = (0..<(rows * k)).map { _ in Int32(rng.nextInt(below: 16) - 8) }
        let planes = BinaryPack.codePlanes(codes, rows: rows, k: k, bits: 4, signed: true, scale: 0.5)
        #expect(planes.planeScales == [0.5, 1, 2, -4])
        #expect(planes.dequantized() == codes.map { Float($0) * 0.5 })
        let alpha = (0..<rows).map { Float($0 + 1) }
        let w = PackedBinaryWeights(planes, channelScales: alpha)
        #expect(w.panelCount == 3 && w.panelDwords == 4)
        for r in 0..<rows { for j in 0..<k { #expect(w.value(row: r, column: j) == Float(codes[r * k + j]) * 0.5 * alpha[r]) } }
        // Rows past N in the last panel are zero.
        let lastPanel = (3 * w.planeStride - 16 * w.panelDwords)..<(3 * w.planeStride)
        for i in lastPanel where (i % 16) >= rows % 16 { #expect(w.panels[i] == 0) }
    }
}
