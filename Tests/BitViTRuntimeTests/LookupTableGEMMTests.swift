import BitViTCore
import BitViTRuntime
import Testing

/// The AVX2 table-lookup kernel (bgemm_avx2_lut.c) against the AVX2 panel kernel on the same
/// operands: its counts are exact integers and its output transform does the same float
/// operations, so every output must be bit-identical, for every product kind and transform,
/// K across the 63-slot byte chunks and up to its 4096 limit, N across its 32-column blocks
/// and 512-column groups.
@Suite("Binary GEMM by table lookup (AVX2)", .enabled(if: BinaryKernels.supportedPaths.contains(.avx2), "the CPU has no AVX2"))
struct LookupTableGEMMTests {
    static let shapes: [(m: Int, n: Int, k: Int)] = [
        (5, 128, 64), (9, 130, 70), (1, 129, 1), (8, 160, 256), (7, 256, 253), (17, 300, 1000),
        (33, 1030, 252), (3, 600, 4096), (2, 128, 5000),
    ]

    /// C from both kernels: weights packed with and without the tables, the AVX2 path forced.
    static func both(_ a: PackedBinaryMatrix, _ w: PackedBinaryMatrix, channelScales: [Float]? = nil, ldc: Int? = nil,
                     transform: OutputTransform = OutputTransform(), initial: [Float]? = nil) -> (panel: [Float], lut: [Float]) {
        let count = a.rows * (ldc ?? w.rows)
        let panel = PackedBinaryWeights(w, channelScales: channelScales, lookupTables: false)
        let lut = PackedBinaryWeights(w, channelScales: channelScales, lookupTables: true)
        #expect(panel.lookupTables == nil && lut.lookupTables != nil)
        let p = withOutput(count, initial: initial) { BinaryGEMM.multiply(a, panel, into: $0, ldc: ldc, transform: transform, path: .avx2) }
        let l = withOutput(count, initial: initial) { BinaryGEMM.multiply(a, lut, into: $0, ldc: ldc, transform: transform, path: .avx2) }
        return (p, l)
    }

    static func expectIdentical(_ got: (panel: [Float], lut: [Float]), _ what: String,
                                sourceLocation: SourceLocation = #_sourceLocation) {
        let differ = (0..<got.panel.count).filter { got.panel[$0].bitPattern != got.lut[$0].bitPattern }
        #expect(differ.isEmpty, "\(what): \(differ.count) outputs differ, first \(differ.prefix(3))", sourceLocation: sourceLocation)
    }

    @Test func everyProductKindMatchesThePanelKernel() {
        var rng = RandomGenerator(seed: 41)
        for s in Self.shapes {
            let a = randomFloats(s.m * s.k, &rng, zeroFraction: 0.2), w = randomFloats(s.n * s.k, &rng)
            let signed = a.withUnsafeBufferPointer { BinaryPack.signs($0.baseAddress!, rows: s.m, k: s.k) }
            let ternary = a.withUnsafeBufferPointer { BinaryPack.signs($0.baseAddress!, rows: s.m, k: s.k, keepZeros: true) }
            let unsigned = a.withUnsafeBufferPointer { BinaryPack.thresholds($0.baseAddress!, rows: s.m, k: s.k, thresholds: [0.2]) }
            let ws = w.withUnsafeBufferPointer { BinaryPack.signs($0.baseAddress!, rows: s.n, k: s.k, path: .scalar) }
            let wu = w.withUnsafeBufferPointer { BinaryPack.thresholds($0.baseAddress!, rows: s.n, k: s.k, thresholds: [-0.1], path: .scalar) }
            let cases: [(PackedBinaryMatrix, PackedBinaryMatrix, String)] = [
                (signed, ws, "±1×±1"), (ternary, ws, "ternary×±1"), (unsigned, ws, "{0,1}×±1"),
                (signed, wu, "±1×{0,1}"), (unsigned, wu, "{0,1}×{0,1}"),
            ]
            for (pa, pw, what) in cases { Self.expectIdentical(Self.both(pa, pw), "\(what) shape \(s)") }
        }
    }

    @Test func packedOutputMatchesThePanelKernel() {
        // GSB's fc1 → fc2 fusion: threshold bits instead of C, on both kernels.
        var rng = RandomGenerator(seed: 44)
        for s in Self.shapes {
            let a = randomFloats(s.m * s.k, &rng), w = randomFloats(s.n * s.k, &rng), bias = randomFloats(s.n, &rng)
            let pa = a.withUnsafeBufferPointer { BinaryPack.signs($0.baseAddress!, rows: s.m, k: s.k) }
            let pw = w.withUnsafeBufferPointer { BinaryPack.signs($0.baseAddress!, rows: s.n, k: s.k, path: .scalar) }
            let above = (0..<s.n).map { j in j % 7 == 3 ? Float.infinity : Float(s.k) * (rng.nextUniform() - 0.3) * 0.1 }
            let below = (0..<s.n).map { j in j % 5 == 1 ? -Float.infinity : Float(s.k) * (rng.nextUniform() - 0.7) * 0.1 }
            func packed(lookupTables: Bool) -> (words: [UInt64], counts: [Int32]) {
                let weights = PackedBinaryWeights(pw, lookupTables: lookupTables)
                let bits = PackedBinaryMatrix(rows: s.m, k: s.n, encoding: .unsigned)
                var scratch = [Float](repeating: 0, count: s.m * s.n)
                above.withUnsafeBufferPointer { hi in
                    below.withUnsafeBufferPointer { lo in
                        bias.withUnsafeBufferPointer { b in
                            _ = BinaryGEMM.multiply(pa, weights, into: &scratch, transform: OutputTransform(scale: 0.5, bias: b.baseAddress),
                                                    packedOutput: .init(bits: bits, above: hi.baseAddress!, below: lo.baseAddress!),
                                                    path: .avx2)
                        }
                    }
                }
                return (Array(UnsafeBufferPointer(start: bits.words.pointer, count: s.m * bits.wordsPerRow)),
                        Array(UnsafeBufferPointer(start: bits.rowCounts!.pointer, count: s.m)))
            }
            let (panel, lut) = (packed(lookupTables: false), packed(lookupTables: true))
            #expect(panel.words == lut.words, "shape \(s): packed bits differ")
            #expect(panel.counts == lut.counts, "shape \(s): row counts differ")
            #expect(lut.counts.contains { $0 > 0 }, "shape \(s): no bit set")
        }
    }

    @Test func outputTransformAndWiderOutputMatchThePanelKernel() {
        var rng = RandomGenerator(seed: 42)
        for s in Self.shapes {
            let a = randomFloats(s.m * s.k, &rng), w = randomFloats(s.n * s.k, &rng)
            let pa = a.withUnsafeBufferPointer { BinaryPack.signs($0.baseAddress!, rows: s.m, k: s.k, scale: 0.25) }
            let pw = w.withUnsafeBufferPointer { BinaryPack.signs($0.baseAddress!, rows: s.n, k: s.k, path: .scalar) }
            let alpha = (0..<s.n).map { _ in 0.5 + rng.nextUniform() }, rowScale = (0..<s.m).map { _ in 0.5 + rng.nextUniform() }
            let bias = randomFloats(s.n, &rng), ldc = s.n + 5, initial = randomFloats(s.m * ldc, &rng)
            for withRowScale in [false, true] {
                let got = rowScale.withUnsafeBufferPointer { rs in
                    bias.withUnsafeBufferPointer { b in
                        Self.both(pa, pw, channelScales: alpha, ldc: ldc, transform: OutputTransform(
                            scale: 2, rowScale: withRowScale ? rs.baseAddress : nil, bias: b.baseAddress, accumulate: true),
                                  initial: initial)
                    }
                }
                Self.expectIdentical(got, "shape \(s) rowScale \(withRowScale)")
                // Columns past N of each row keep their values.
                #expect((0..<s.m).allSatisfy { r in (s.n..<ldc).allSatisfy { got.lut[r * ldc + $0] == initial[r * ldc + $0] } },
                        "shape \(s): padding columns written")
            }
        }
    }

    @Test func threadedSplitMatchesOneThread() {
        var rng = RandomGenerator(seed: 43)
        let (m, n, k) = (197, 1536, 384)
        let a = randomFloats(m * k, &rng), w = randomFloats(n * k, &rng)
        let pa = a.withUnsafeBufferPointer { BinaryPack.signs($0.baseAddress!, rows: m, k: k) }
        let pw = w.withUnsafeBufferPointer { BinaryPack.signs($0.baseAddress!, rows: n, k: k, path: .scalar) }
        let lut = PackedBinaryWeights(pw, lookupTables: true)
        let one = withOutput(m * n) { BinaryGEMM.multiply(pa, lut, into: $0, path: .avx2) }
        let saved = BinaryGEMM.minimumWorkPerThread
        BinaryGEMM.minimumWorkPerThread = 1
        let split = withOutput(m * n) { BinaryGEMM.multiply(pa, lut, into: $0, path: .avx2) }
        BinaryGEMM.minimumWorkPerThread = saved
        #expect(one == split)
        expectExact(one, referenceGEMM(a.map(sgn), w.map(sgn), m: m, n: n, k: k), "shape \(m)×\(n)×\(k)")
    }

    @Test func repackRefreshesTheTables() {
        var rng = RandomGenerator(seed: 44)
        let (m, n, k) = (6, 160, 96)
        let a = randomFloats(m * k, &rng), w1 = randomFloats(n * k, &rng), w2 = randomFloats(n * k, &rng)
        let pa = a.withUnsafeBufferPointer { BinaryPack.signs($0.baseAddress!, rows: m, k: k) }
        let lut = w1.withUnsafeBufferPointer { PackedBinaryWeights(signsOf: $0.baseAddress!, rows: n, k: k, lookupTables: true) }
        lut.repack(from: w2.withUnsafeBufferPointer { BinaryPack.signs($0.baseAddress!, rows: n, k: k, path: .scalar) })
        let got = withOutput(m * n) { BinaryGEMM.multiply(pa, lut, into: $0, path: .avx2) }
        expectExact(got, referenceGEMM(a.map(sgn), w2.map(sgn), m: m, n: n, k: k), "after repack")
    }
}
