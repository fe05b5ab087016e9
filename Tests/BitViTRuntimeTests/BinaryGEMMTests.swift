import BitViTCore
import BitViTRuntime
import BitViTTestSupport
import Testing

@Suite("Binary GEMM, one plane, every path")
struct BinaryGEMMTests {
    @Test func signedTimesSignedIsExactXnorPopcount() {
        var rng = RandomGenerator(seed: 11)
        for path in binaryPaths {
            for s in gemmShapes {
                let a = randomFloats(s.m * s.k, &rng), w = randomFloats(s.n * s.k, &rng)
                let pa = a.withUnsafeBufferPointer { BinaryPack.signs($0.baseAddress!, rows: s.m, k: s.k, path: path) }
                let pw = w.withUnsafeBufferPointer { PackedBinaryWeights(signsOf: $0.baseAddress!, rows: s.n, k: s.k) }
                let got = withOutput(s.m * s.n) { BinaryGEMM.multiply(pa, pw, into: $0, path: path) }
                let want = referenceGEMM(a.map(sgn), w.map(sgn), m: s.m, n: s.n, k: s.k)
                expectExact(got, want, "path \(path) shape \(s)")
            }
        }
    }

    @Test func outputTransformScalesBiasAndAccumulates() {
        var rng = RandomGenerator(seed: 12)
        for path in binaryPaths {
            for s in gemmShapes {
                let a = randomFloats(s.m * s.k, &rng), w = randomFloats(s.n * s.k, &rng)
                let alpha = (0..<s.n).map { _ in 0.5 + rng.nextUniform() }
                let rowScale = (0..<s.m).map { _ in 0.5 + rng.nextUniform() }
                let bias = randomFloats(s.n, &rng), initial = randomFloats(s.m * s.n, &rng)
                let pa = a.withUnsafeBufferPointer { BinaryPack.signs($0.baseAddress!, rows: s.m, k: s.k, scale: 0.25, path: path) }
                let pw = w.withUnsafeBufferPointer {
                    PackedBinaryWeights(signsOf: $0.baseAddress!, rows: s.n, k: s.k, channelScales: alpha)
                }
                for withRowScale in [false, true] {
                    let got = rowScale.withUnsafeBufferPointer { rs in
                        bias.withUnsafeBufferPointer { b in
                            withOutput(s.m * s.n, initial: initial) {
                                BinaryGEMM.multiply(pa, pw, into: $0, transform: OutputTransform(
                                    scale: 2, rowScale: withRowScale ? rs.baseAddress : nil, bias: b.baseAddress,
                                    accumulate: true), path: path)
                            }
                        }
                    }
                    let want = referenceGEMM(a.map(sgn), w.map(sgn), m: s.m, n: s.n, k: s.k, scale: 0.5,
                                             rowScale: withRowScale ? rowScale : nil, colScale: alpha, bias: bias,
                                             initial: initial)
                    assertClose(got, want, atol: 1e-3, rtol: 1e-5, "path \(path) shape \(s) rowScale \(withRowScale)")
                }
            }
        }
    }

    @Test func zerosCountAsZeroWithMaskAndAsPlusOneWithout() {
        var rng = RandomGenerator(seed: 13)
        for path in binaryPaths {
            for s in gemmShapes {
                let a = randomFloats(s.m * s.k, &rng, zeroFraction: 0.3), w = randomFloats(s.n * s.k, &rng)
                let pw = w.withUnsafeBufferPointer { PackedBinaryWeights(signsOf: $0.baseAddress!, rows: s.n, k: s.k) }
                for keepZeros in [true, false] {
                    let pa = a.withUnsafeBufferPointer {
                        BinaryPack.signs($0.baseAddress!, rows: s.m, k: s.k, keepZeros: keepZeros, path: path)
                    }
                    let got = withOutput(s.m * s.n) { BinaryGEMM.multiply(pa, pw, into: $0, path: path) }
                    let want = referenceGEMM(a.map(keepZeros ? sgn : packedSign), w.map(sgn), m: s.m, n: s.n, k: s.k)
                    expectExact(got, want, "path \(path) shape \(s) keepZeros \(keepZeros)")
                }
            }
        }
    }

    @Test func unsignedOperandsUseAndPopcount() {
        var rng = RandomGenerator(seed: 14)
        for path in binaryPaths {
            for s in gemmShapes {
                let a = randomFloats(s.m * s.k, &rng), w = randomFloats(s.n * s.k, &rng)
                let a01 = a.map { $0 > 0.3 ? Float(1) : 0 }, w01 = w.map { $0 > -0.2 ? Float(1) : 0 }
                let ua = a.withUnsafeBufferPointer { BinaryPack.thresholds($0.baseAddress!, rows: s.m, k: s.k, thresholds: [0.3], path: path) }
                let sa = a.withUnsafeBufferPointer { BinaryPack.signs($0.baseAddress!, rows: s.m, k: s.k, path: path) }
                let uw = PackedBinaryWeights(w.withUnsafeBufferPointer {
                    BinaryPack.thresholds($0.baseAddress!, rows: s.n, k: s.k, thresholds: [-0.2], path: .scalar)
                })
                let sw = w.withUnsafeBufferPointer { PackedBinaryWeights(signsOf: $0.baseAddress!, rows: s.n, k: s.k) }
                let cases: [(PackedBinaryMatrix, PackedBinaryWeights, [Float], [Float], String)] = [
                    (ua, sw, a01, w.map(sgn), "{0,1}×±1"),
                    (sa, uw, a.map(sgn), w01, "±1×{0,1}"),
                    (ua, uw, a01, w01, "{0,1}×{0,1}"),
                ]
                for (pa, pw, ra, rw, what) in cases {
                    let got = withOutput(s.m * s.n) { BinaryGEMM.multiply(pa, pw, into: $0, path: path) }
                    expectExact(got, referenceGEMM(ra, rw, m: s.m, n: s.n, k: s.k), "\(what) path \(path) shape \(s)")
                }
            }
        }
    }

    @Test func writesOnlyItsColumnsOfAWiderOutput() {
        var rng = RandomGenerator(seed: 15)
        let (m, n, k, ldc) = (9, 37, 77, 50)
        let a = randomFloats(m * k, &rng), w = randomFloats(n * k, &rng)
        let pa = a.withUnsafeBufferPointer { BinaryPack.signs($0.baseAddress!, rows: m, k: k) }
        let pw = w.withUnsafeBufferPointer { PackedBinaryWeights(signsOf: $0.baseAddress!, rows: n, k: k) }
        let want = referenceGEMM(a.map(sgn), w.map(sgn), m: m, n: n, k: k)
        for path in binaryPaths {
            let got = withOutput(m * ldc, initial: [Float](repeating: 7, count: m * ldc)) {
                BinaryGEMM.multiply(pa, pw, into: $0, ldc: ldc, path: path)
            }
            for i in 0..<m {
                #expect(Array(got[(i * ldc)..<(i * ldc + n)]) == Array(want[(i * n)..<(i * n + n)]), "row \(i) path \(path)")
                #expect(got[(i * ldc + n)..<(i * ldc + ldc)].allSatisfy { $0 == 7 }, "padding of row \(i) path \(path)")
            }
        }
    }

    @Test func threadedSplitMatchesOneThread() {
        // Large enough to be split over workers by column groups (N = 384) and by rows (N = 64).
        var rng = RandomGenerator(seed: 16)
        for (m, n, k) in [(197, 384, 384), (197, 64, 1536)] {
            let a = randomFloats(m * k, &rng), w = randomFloats(n * k, &rng)
            let pa = a.withUnsafeBufferPointer { BinaryPack.signs($0.baseAddress!, rows: m, k: k) }
            let pw = w.withUnsafeBufferPointer { PackedBinaryWeights(signsOf: $0.baseAddress!, rows: n, k: k) }
            let saved = BinaryGEMM.minimumWorkPerThread
            BinaryGEMM.minimumWorkPerThread = 1
            let got = withOutput(m * n) { BinaryGEMM.multiply(pa, pw, into: $0) }
            BinaryGEMM.minimumWorkPerThread = saved
            expectExact(got, referenceGEMM(a.map(sgn), w.map(sgn), m: m, n: n, k: k), "shape \(m)×\(n)×\(k)")
        }
    }

    @Test func packedOutputIsTheThresholdedFloatOutput() {
        // The bits equal (C > above) ∨ (C < below) of the float C, on every path, for N not a
        // multiple of 64, and split over the spinning workers (the engine's fc1 → fc2 fusion).
        var rng = RandomGenerator(seed: 17)
        var shapes = gemmShapes.map { ($0.m, $0.n, $0.k, false) }
        shapes.append((197, 1536, 384, true))
        for path in binaryPaths {
            for (m, n, k, threaded) in shapes where !threaded || path == BinaryKernels.activePath {
                let a = randomFloats(m * k, &rng), w = randomFloats(n * k, &rng), bias = randomFloats(n, &rng)
                let pa = a.withUnsafeBufferPointer { BinaryPack.signs($0.baseAddress!, rows: m, k: k, path: path) }
                let pw = w.withUnsafeBufferPointer { PackedBinaryWeights(signsOf: $0.baseAddress!, rows: n, k: k) }
                // Bounds inside the output's range, so both tests fire; some columns never fire.
                let above = (0..<n).map { j in j % 7 == 3 ? Float.infinity : Float(k) * (rng.nextUniform() - 0.3) * 0.1 }
                let below = (0..<n).map { j in j % 5 == 1 ? -Float.infinity : Float(k) * (rng.nextUniform() - 0.7) * 0.1 }
                let c = bias.withUnsafeBufferPointer { b in
                    withOutput(m * n) { BinaryGEMM.multiply(pa, pw, into: $0, transform: OutputTransform(scale: 0.5, bias: b.baseAddress), path: path) }
                }
                let bits = PackedBinaryMatrix(rows: m, k: n, encoding: .unsigned)
                above.withUnsafeBufferPointer { hi in
                    below.withUnsafeBufferPointer { lo in
                        bias.withUnsafeBufferPointer { b in
                            var scratch = [Float](repeating: 0, count: m * n)
                            let output = BinaryGEMM.PackedOutput(bits: bits, above: hi.baseAddress!, below: lo.baseAddress!)
                            let run = {
                                _ = BinaryGEMM.multiply(pa, pw, into: &scratch, transform: OutputTransform(scale: 0.5, bias: b.baseAddress),
                                                        packedOutput: output, path: path)
                            }
                            if threaded { Parallel.withSpinningWorkers(run) } else { run() }
                        }
                    }
                }
                var mismatches = 0, ones = 0
                for r in 0..<m {
                    var count: Int32 = 0
                    for j in 0..<n {
                        let want = c[r * n + j] > above[j] || c[r * n + j] < below[j]
                        let got = (bits.words[r * bits.wordsPerRow + j / 64] >> UInt64(j % 64)) & 1 == 1
                        if want != got { mismatches += 1 }
                        if got { ones += 1; count += 1 }
                    }
                    if count != bits.rowCounts![r] { mismatches += 1 }
                    for j in n..<(64 * bits.wordsPerRow) where (bits.words[r * bits.wordsPerRow + j / 64] >> UInt64(j % 64)) & 1 == 1 {
                        mismatches += 1
                    }
                }
                #expect(mismatches == 0, "path \(path) shape \(m)×\(n)×\(k) threaded \(threaded)")
                if m * n >= 64 { #expect(ones > 0 && ones < m * n, "path \(path) shape \(m)×\(n)×\(k): \(ones) bits set") }
            }
        }
    }

    @Test func reportsTheRequestedPathWhenSupported() {
        #expect(binaryPaths.first == .scalar)
        #expect(binaryPaths.contains(BinaryKernels.activePath))
        for path in binaryPaths { #expect(BinaryKernels.resolve(path) == path) }
        #expect(BinaryKernels.resolve(nil) == BinaryKernels.activePath)
    }
}
