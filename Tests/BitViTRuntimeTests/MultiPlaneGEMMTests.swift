import BitViTCore
import BitViTRuntime
import BitViTTestSupport
import Testing

/// Multi-plane products against the float product of the dequantized operands, computed from
/// the codes' definitions (not from the packed bits).
@Suite("Multi-plane binary GEMM")
struct MultiPlaneGEMMTests {
    static let shapes: [(m: Int, n: Int, k: Int)] = [(1, 1, 7), (5, 17, 64), (13, 64, 198), (198, 64, 198), (7, 33, 385)]

    @Test func gsbAttentionTimesGsbValue() {
        // Â: 3 unsigned planes (α1 fires above α1/2, masks above 0.7·max and 0.9·max); V̂: GSB's
        // 3-group signed code of V [tokens, d], packed along tokens (kStride = d).
        var rng = RandomGenerator(seed: 21)
        for path in binaryPaths {
            for s in Self.shapes {
                let att = (0..<(s.m * s.k)).map { _ in rng.nextUniform() * 0.1 }
                let v = randomFloats(s.k * s.n, &rng)  // [k tokens, n = d]
                let (a1, a2, a3): (Float, Float, Float) = (0.03, 0.02, 0.05)
                let maxA = att.max()!, thresholds = [a1 / 2, 0.7 * maxA, 0.9 * maxA]
                let (vmax, vmin) = (v.max()!, v.min()!)
                let (v1, v2, v3): (Float, Float, Float) = (0.6, 0.4, 0.3)
                let pa = att.withUnsafeBufferPointer {
                    BinaryPack.thresholds($0.baseAddress!, rows: s.m, k: s.k, thresholds: thresholds,
                                          planeScales: [a1, a2, a3], path: path)
                }
                let pv = v.withUnsafeBufferPointer {
                    BinaryPack.gsbSignedPlanes($0.baseAddress!, rows: s.n, k: s.k, rowStride: 1, kStride: s.n,
                                               alphas: (v1, v2, v3), t1: (0.7 * vmax, 0.7 * vmin), t2: (0.9 * vmax, 0.9 * vmin))
                }
                let got = withOutput(s.m * s.n) { BinaryGEMM.multiply(pa, PackedBinaryWeights(pv), into: $0, path: path) }

                let aHat = att.map { x -> Float in
                    (x > thresholds[0] ? a1 : 0) + (x > thresholds[1] ? a2 : 0) + (x > thresholds[2] ? a3 : 0)
                }
                var vHatT = [Float](repeating: 0, count: s.n * s.k)  // [n][k]
                for t in 0..<s.k {
                    for d in 0..<s.n {
                        let x = v[t * s.n + d]
                        let t1: Float = x > 0.7 * vmax || x < 0.7 * vmin ? 1 : 0
                        let t2: Float = x > 0.9 * vmax || x < 0.9 * vmin ? 1 : 0
                        vHatT[d * s.k + t] = sgn(x) * (v1 + v2 * t1 + v3 * t2)
                    }
                }
                let want = referenceGEMM(aHat, vHatT, m: s.m, n: s.n, k: s.k)
                assertClose(got, want, atol: 1e-4, rtol: 1e-5, "GSB Â·V̂ path \(path) shape \(s)")
            }
        }
    }

    @Test func bhvitNestedAttentionPlanesAreSummedExactly() {
        // QD: q = clamp(round(3A/α + z), 0, 3) as 3 nested {0,1} planes of equal scale α, times
        // the signs of V. Equal scales take the fused path (all planes in one accumulator).
        var rng = RandomGenerator(seed: 22)
        for path in binaryPaths {
            for s in Self.shapes {
                let x = (0..<(s.m * s.k)).map { _ in 3 * rng.nextUniform() * 0.05 }
                let v = randomFloats(s.n * s.k, &rng)
                let (alpha, zero): (Float, Float) = (0.065, 1e-4)
                let pa = x.withUnsafeBufferPointer {
                    BinaryPack.quantizedPlanes($0.baseAddress!, rows: s.m, k: s.k, alpha: alpha, zero: zero,
                                               qmax: 3, encoding: .thermometer)
                }
                #expect(pa.planes == 3 && pa.planeScales == [alpha, alpha, alpha])
                let pv = v.withUnsafeBufferPointer { PackedBinaryWeights(signsOf: $0.baseAddress!, rows: s.n, k: s.k) }
                let got = withOutput(s.m * s.n) { BinaryGEMM.multiply(pa, pv, into: $0, path: path) }
                let codes = x.map { min(max(($0 / alpha + zero).rounded(.toNearestOrEven), 0), 3) }
                let want = referenceGEMM(codes, v.map(sgn), m: s.m, n: s.n, k: s.k, scale: alpha)
                assertClose(got, want, atol: 1e-4, rtol: 1e-6, "QD path \(path) shape \(s)")
            }
        }
    }

    @Test func integerCodePlanesGiveTheIntegerProduct() {
        // b-bit unsigned activation codes × b-bit signed (two's complement) weight codes as
        // b × b plane pairs with weights 2^i · ±2^j: the exact integer product.
        var rng = RandomGenerator(seed: 23)
        for path in binaryPaths {
            for bits in [2, 3, 4] {
                for s in Self.shapes {
                    let ac = (0..<(s.m * s.k)).map { _ in Int32(rng.nextInt(below: 1 << bits)) }
                    let wc = (0..<(s.n * s.k)).map { _ in Int32(rng.nextInt(below: 1 << bits) - (1 << (bits - 1))) }
                    let pa = BinaryPack.codePlanes(ac, rows: s.m, k: s.k, bits: bits, signed: false)
                    let pw = PackedBinaryWeights(BinaryPack.codePlanes(wc, rows: s.n, k: s.k, bits: bits, signed: true))
                    let got = withOutput(s.m * s.n) { BinaryGEMM.multiply(pa, pw, into: $0, path: path) }
                    let want = referenceGEMM(ac.map(Float.init), wc.map(Float.init), m: s.m, n: s.n, k: s.k)
                    expectExact(got, want, "\(bits)-bit codes path \(path) shape \(s)")
                }
            }
        }
    }

    @Test func distinctActivationPlanesTimesEqualWeightPlanes() {
        // A: 3 planes with distinct scales (one group each); W: 2 signed planes of equal scale
        // (fused in registers); with a bias and accumulation so every pair is applied once.
        var rng = RandomGenerator(seed: 24)
        let (m, n, k) = (11, 40, 150)
        let a = randomFloats(m * k, &rng), w1 = randomFloats(n * k, &rng), w2 = randomFloats(n * k, &rng)
        let bias = randomFloats(n, &rng), initial = randomFloats(m * n, &rng)
        let ths: [Float] = [-0.5, 0, 0.8], scales: [Float] = [0.5, 1.5, -2]
        let pa = a.withUnsafeBufferPointer {
            BinaryPack.thresholds($0.baseAddress!, rows: m, k: k, thresholds: ths, planeScales: scales)
        }
        // Two ±1 planes stacked into one 2-plane matrix.
        let stacked = PackedBinaryMatrix(rows: n, k: k, planes: 2, encoding: .signed, planeScales: [0.7, 0.7])
        for (p, w) in [w1, w2].enumerated() {
            let one = w.withUnsafeBufferPointer { BinaryPack.signs($0.baseAddress!, rows: n, k: k) }
            (stacked.words.pointer + p * stacked.planeStride).update(from: one.words.pointer, count: one.planeStride)
        }
        let pw = PackedBinaryWeights(stacked)
        let aHat = a.map { x in zip(ths, scales).reduce(Float(0)) { $0 + (x > $1.0 ? $1.1 : 0) } }
        let wHat = zip(w1, w2).map { 0.7 * (sgn($0) + sgn($1)) }
        let want = referenceGEMM(aHat, wHat, m: m, n: n, k: k, scale: 3, bias: bias, initial: initial)
        for path in binaryPaths {
            let got = bias.withUnsafeBufferPointer { b in
                withOutput(m * n, initial: initial) {
                    BinaryGEMM.multiply(pa, pw, into: $0, transform: OutputTransform(scale: 3, bias: b.baseAddress, accumulate: true),
                                        path: path)
                }
            }
            assertClose(got, want, atol: 1e-3, rtol: 1e-5, "path \(path)")
        }
    }

    @Test func manyPlanePairsRunInSeveralPasses() {
        // 5 × 4 = 20 plane pairs with distinct weights: more than one pass of pair groups.
        var rng = RandomGenerator(seed: 25)
        let (m, n, k) = (9, 70, 96)
        let ac = (0..<(m * k)).map { _ in Int32(rng.nextInt(below: 32)) }
        let wc = (0..<(n * k)).map { _ in Int32(rng.nextInt(below: 16) - 8) }
        let pa = BinaryPack.codePlanes(ac, rows: m, k: k, bits: 5, signed: false, scale: 0.5)
        let pw = PackedBinaryWeights(BinaryPack.codePlanes(wc, rows: n, k: k, bits: 4, signed: true), channelScales: (0..<n).map { Float($0 % 3 + 1) })
        let want = referenceGEMM(ac.map { Float($0) * 0.5 }, wc.map(Float.init), m: m, n: n, k: k,
                                 colScale: (0..<n).map { Float($0 % 3 + 1) })
        for path in binaryPaths {
            let got = withOutput(m * n) { BinaryGEMM.multiply(pa, pw, into: $0, path: path) }
            expectExact(got, want, "path \(path)")
        }
    }
}
