import BitViTCore
import BitViTRuntime
import BitViTTestSupport
import Testing

@Suite("int8 GEMM (u8 × s8 → s32), every path")
struct Int8GEMMTests {
    static let shapes: [(m: Int, n: Int, k: Int)] = [(1, 1, 1), (1, 17, 5), (5, 16, 64), (7, 33, 99), (13, 70, 384), (197, 64, 768)]

    /// Σ_k a·w in exact integers.
    static func reference(_ a: [UInt8], _ w: [Int8], m: Int, n: Int, k: Int) -> [Int32] {
        var c = [Int32](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { for p in 0..<k { c[i * n + j] += Int32(a[i * k + p]) * Int32(w[j * k + p]) } } }
        return c
    }

    @Test func rawProductsAreExactIntegers() {
        var rng = RandomGenerator(seed: 31)
        for path in int8Paths {
            for s in Self.shapes {
                // Full ranges, including the extremes that saturate vpmaddubsw (255 · −128).
                var a = (0..<(s.m * s.k)).map { _ in UInt8(rng.nextInt(below: 256)) }
                var w = (0..<(s.n * s.k)).map { _ in Int8(rng.nextInt(below: 256) - 128) }
                a[0] = 255; w[0] = -128
                let pa = QuantizedInt8Matrix(codes: a, rows: s.m, k: s.k)
                let pw = w.withUnsafeBufferPointer { PackedInt8Weights(codes: $0.baseAddress!, rows: s.n, k: s.k) }
                var got = [Int32](repeating: 0, count: s.m * s.n)
                got.withUnsafeMutableBufferPointer { Int8GEMM.multiplyRaw(pa, pw, into: $0.baseAddress!, path: path) }
                let want = Self.reference(a, w, m: s.m, n: s.n, k: s.k)
                let bad = (0..<got.count).first { got[$0] != want[$0] }
                #expect(bad == nil, "path \(path) shape \(s): element \(bad ?? -1) is \(bad.map { got[$0] } ?? 0), expected \(bad.map { want[$0] } ?? 0)")
            }
        }
    }

    /// A product over a range of a's columns (`columns:`): the sum over that range only, also
    /// when the range ends inside a 4-byte group (the codes past it meet the weights' zero padding).
    @Test func columnRangesSumOverTheirColumnsOnly() {
        var rng = RandomGenerator(seed: 33)
        let (m, n, k) = (9, 21, 99)
        let a = (0..<(m * k)).map { _ in UInt8(rng.nextInt(below: 256)) }
        let pa = QuantizedInt8Matrix(codes: a, rows: m, k: k)
        for path in int8Paths {
            for columns in [0..<99, 0..<49, 4..<57, 48..<99, 96..<99] {
                let w = (0..<(n * columns.count)).map { _ in Int8(rng.nextInt(below: 256) - 128) }
                let pw = w.withUnsafeBufferPointer { PackedInt8Weights(codes: $0.baseAddress!, rows: n, k: columns.count) }
                let got = withOutput(m * n, initial: [Float](repeating: 0, count: m * n)) {
                    Int8GEMM.multiply(pa, pw, into: $0, columns: columns, path: path)
                }
                let part = (0..<m).flatMap { r in columns.map { a[r * k + $0] } }
                let want = Self.reference(part, w, m: m, n: n, k: columns.count).map(Float.init)
                #expect(got == want, "path \(path) columns \(columns)")
            }
        }
    }

    @Test func zeroPointsScalesAndBias() {
        var rng = RandomGenerator(seed: 32)
        for path in int8Paths {
            for s in Self.shapes {
                let a = (0..<(s.m * s.k)).map { _ in UInt8(rng.nextInt(below: 16)) }   // 4-bit codes
                let w = (0..<(s.n * s.k)).map { _ in Int8(rng.nextInt(below: 16) - 8) }
                let zeros = (0..<s.m).map { _ in Int32(rng.nextInt(below: 16)) }
                let alpha = (0..<s.n).map { _ in 0.01 + rng.nextUniform() * 0.1 }
                let rowScale = (0..<s.m).map { _ in 0.5 + rng.nextUniform() }
                let bias = randomFloats(s.n, &rng), initial = randomFloats(s.m * s.n, &rng)
                let pa = QuantizedInt8Matrix(codes: a, rows: s.m, k: s.k, scale: 0.2, zeroPoints: zeros)
                let pw = w.withUnsafeBufferPointer {
                    PackedInt8Weights(codes: $0.baseAddress!, rows: s.n, k: s.k, channelScales: alpha)
                }
                let got = rowScale.withUnsafeBufferPointer { rs in
                    bias.withUnsafeBufferPointer { b in
                        withOutput(s.m * s.n, initial: initial) {
                            Int8GEMM.multiply(pa, pw, into: $0, transform: OutputTransform(
                                scale: 1.5, rowScale: rs.baseAddress, bias: b.baseAddress, accumulate: true), path: path)
                        }
                    }
                }
                var deqA = [Float](repeating: 0, count: s.m * s.k)
                for i in 0..<s.m { for p in 0..<s.k { deqA[i * s.k + p] = Float(Int32(a[i * s.k + p]) - zeros[i]) } }
                let want = referenceGEMM(deqA, w.map(Float.init), m: s.m, n: s.n, k: s.k, scale: 0.3,
                                         rowScale: rowScale, colScale: alpha, bias: bias, initial: initial)
                assertClose(got, want, atol: 1e-3, rtol: 1e-4, "path \(path) shape \(s)")
            }
        }
    }

    @Test func quantizersRoundHalfToEvenAndClamp() {
        // round(x/α + z) with z = 3: 3.5 → 4, 4.5 → 4, 5.5 → 6, 2.5 → 2 (ties to even, as
        // torch.round on x/α + z); clamped to [0, maxCode].
        let x: [Float] = [0.5, 1.5, 2.5, -10, 1000, -0.5]
        let q = x.withUnsafeBufferPointer { QuantizedInt8Matrix.quantize($0.baseAddress!, rows: 1, k: 6, alpha: 1, zeroPoint: 3) }
        #expect((0..<6).map { q.codes[$0] } == [4, 4, 6, 0, 255, 2])
        let q4 = x.withUnsafeBufferPointer {
            QuantizedInt8Matrix.quantize($0.baseAddress!, rows: 1, k: 6, alpha: 0.5, zeroPoint: 8, maxCode: 15)
        }
        #expect((0..<6).map { q4.codes[$0] } == [9, 11, 13, 0, 15, 7])
        #expect((6..<8).map { q.codes[$0] } == [0, 0], "row padding to a multiple of 4 is zero")
        let w: [Float] = [0.26, -0.9, 0.05, 3]
        let pw = w.withUnsafeBufferPointer { PackedInt8Weights(quantizing: $0.baseAddress!, rows: 1, k: 4, bits: 2, channelScales: [0.5]) }
        // round(w/0.5) = [1 (0.52), -2 (-1.8), 0, 6 → clamped to 1]; 2-bit range [-2, 1]
        #expect((0..<4).map { pw.panels[$0] } == [1, -2, 0, 1])
        #expect(pw.columnSums[0] == 0)
    }
}
