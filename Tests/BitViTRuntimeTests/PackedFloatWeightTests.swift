import BitViTCore
import BitViTRuntime
import Testing

/// The float GEMM on packed weights against a double-precision reference, on every path this
/// CPU has (AVX2 + FMA where present, and the portable one).
@Suite("Packed float GEMM, every path")
struct PackedFloatWeightTests {
    /// Row counts around the 6-row tile and the 24-row block, column counts around the 16-wide
    /// panel (1000: the ImageNet head), depths of one to a few hundred.
    static let shapes: [(m: Int, n: Int, k: Int)] = [(1, 1, 1), (5, 17, 3), (6, 16, 64), (7, 33, 99), (25, 10, 384),
                                                      (197, 64, 192), (50, 1000, 48)]
    static let paths = [BinaryKernelPath.scalar, .avx2].filter { PackedFloatWeight.resolve($0) == $0 }

    @Test("α·A·Wᵀ + bias, written and accumulated, with row strides wider than the rows")
    func matchesReference() {
        var rng = RandomGenerator(seed: 57)
        for path in Self.paths {
            for s in Self.shapes {
                let (lda, ldc) = (s.k + 3, s.n + 5)
                let a = randomFloats(s.m * lda, &rng), w = randomFloats(s.n * s.k, &rng), bias = randomFloats(s.n, &rng)
                let c0 = randomFloats(s.m * ldc, &rng)
                let weight = w.withUnsafeBufferPointer { PackedFloatWeight($0.baseAddress!, out: s.n, in: s.k) }
                for (accumulate, withBias, alpha) in [(false, false, Float(1)), (true, true, Float(0.375))] {
                    var c = c0
                    c.withUnsafeMutableBufferPointer { out in
                        bias.withUnsafeBufferPointer { b in
                            weight.multiply(rows: s.m, a, lda: lda, alpha: alpha, bias: withBias ? b.baseAddress! : nil,
                                            accumulate: accumulate, into: out.baseAddress!, ldc: ldc, path: path)
                        }
                    }
                    var worst = 0.0
                    for i in 0..<s.m {
                        for j in 0..<ldc {
                            guard j < s.n else {
                                #expect(c[i * ldc + j] == c0[i * ldc + j], "\(path) \(s): padding column \(j) written")
                                continue
                            }
                            var dot = 0.0, magnitude = 0.0
                            for p in 0..<s.k {
                                dot += Double(a[i * lda + p]) * Double(w[j * s.k + p])
                                magnitude += abs(Double(a[i * lda + p]) * Double(w[j * s.k + p]))
                            }
                            let want = Double(alpha) * dot + (withBias ? Double(bias[j]) : 0) + (accumulate ? Double(c0[i * ldc + j]) : 0)
                            worst = max(worst, abs(Double(c[i * ldc + j]) - want) / (magnitude + 1))
                        }
                    }
                    #expect(worst < 1e-5, "\(path) \(s) accumulate \(accumulate): relative error \(worst)")
                }
            }
        }
    }

    @Test("Split over the workers, the product is the single-thread one")
    func threadedEqualsSingle() {
        var rng = RandomGenerator(seed: 58)
        let (m, n, k) = (197, 1000, 384)
        let a = randomFloats(m * k, &rng), w = randomFloats(n * k, &rng)
        let weight = w.withUnsafeBufferPointer { PackedFloatWeight($0.baseAddress!, out: n, in: k) }
        var single = [Float](repeating: 0, count: m * n), split = single
        Parallel.withThreadCount(1) {
            single.withUnsafeMutableBufferPointer { weight.multiply(rows: m, a, lda: k, bias: nil, accumulate: false, into: $0.baseAddress!, ldc: n) }
        }
        Parallel.withThreadCount(2) {
            split.withUnsafeMutableBufferPointer { weight.multiply(rows: m, a, lda: k, bias: nil, accumulate: false, into: $0.baseAddress!, ldc: n) }
        }
        #expect(single == split)
    }
}
