import BitViTCore
import BitViTRuntime
import Testing

/// Every binary path this CPU runs (scalar included), and every int8 path.
let binaryPaths = BinaryKernels.supportedPaths
let int8Paths = BinaryKernels.supportedInt8Paths

/// Normal floats with about `zeroFraction` of them exactly 0 (sgn(0) cases).
func randomFloats(_ count: Int, _ rng: inout RandomGenerator, zeroFraction: Float = 0) -> [Float] {
    (0..<count).map { _ in rng.nextUniform() < zeroFraction ? 0 : rng.nextNormal() }
}

/// PyTorch sgn: −1, 0, +1.
func sgn(_ x: Float) -> Float { x > 0 ? 1 : (x < 0 ? -1 : 0) }

/// The ±1 value a signed plane packs for x without a mask (0 → +1).
func packedSign(_ x: Float) -> Float { x < 0 ? -1 : 1 }

/// C[m, n] = scale · rowScale[m] · colScale[n] · Σ_k a[m, k]·w[n, k] + bias[n] (+ c0), in double.
func referenceGEMM(_ a: [Float], _ w: [Float], m: Int, n: Int, k: Int, scale: Float = 1,
                   rowScale: [Float]? = nil, colScale: [Float]? = nil, bias: [Float]? = nil,
                   initial: [Float]? = nil) -> [Float] {
    var c = [Float](repeating: 0, count: m * n)
    for i in 0..<m {
        for j in 0..<n {
            var s = 0.0
            for p in 0..<k { s += Double(a[i * k + p]) * Double(w[j * k + p]) }
            var v = Double(scale) * Double(rowScale?[i] ?? 1) * Double(colScale?[j] ?? 1) * s + Double(bias?[j] ?? 0)
            if let initial { v += Double(initial[i * n + j]) }
            c[i * n + j] = Float(v)
        }
    }
    return c
}

/// Runs `body` with a zeroed output buffer of `count` floats and returns its contents.
func withOutput(_ count: Int, initial: [Float]? = nil, _ body: (UnsafeMutablePointer<Float>) -> Void) -> [Float] {
    var out = initial ?? [Float](repeating: 0, count: count)
    out.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    return out
}

/// Shapes (M, N, K) covering K not a multiple of 64 (or 32), M and N not multiples of the
/// tiles (6 × 64 on AVX-512, 4 × 16 elsewhere), and single rows / columns.
let gemmShapes: [(m: Int, n: Int, k: Int)] = [
    (1, 1, 1), (1, 17, 65), (2, 16, 64), (5, 33, 31), (7, 64, 100), (13, 70, 384), (6, 130, 129),
    (25, 200, 1000), (197, 48, 384),
]

/// Expects exact equality and reports the first differing element (not the whole arrays).
func expectExact(_ got: [Float], _ want: [Float], _ what: String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(got.count == want.count, "\(what): \(got.count) values, expected \(want.count)", sourceLocation: sourceLocation)
    if let i = (0..<min(got.count, want.count)).first(where: { got[$0] != want[$0] }) {
        Issue.record("\(what): element \(i) is \(got[i]), expected \(want[i])", sourceLocation: sourceLocation)
    }
}
