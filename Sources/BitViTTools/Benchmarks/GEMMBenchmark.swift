import BitViTCore
import Foundation

/// GFLOPS of the float matrix-product path (OpenBLAS sgemm as BitViT calls it) at ViT shapes.
public enum GEMMBenchmark {
    public struct Shape: Codable, Hashable {
        public var m: Int, n: Int, k: Int
        public var label: String
        public init(m: Int, n: Int, k: Int, label: String) {
            self.m = m; self.n = n; self.k = k; self.label = label
        }
    }

    public struct Measurement: Codable {
        public var shape: Shape
        public var gflops: Double
        public var microseconds: Double
    }

    /// DeiT-S inference shapes (197 tokens) and DeiT-Ti training shapes (batch 64 × 65 tokens).
    public static let vitShapes: [Shape] = [
        Shape(m: 197, n: 1152, k: 384, label: "DeiT-S qkv"),
        Shape(m: 197, n: 384, k: 384, label: "DeiT-S proj"),
        Shape(m: 197, n: 1536, k: 384, label: "DeiT-S fc1"),
        Shape(m: 197, n: 384, k: 1536, label: "DeiT-S fc2"),
        Shape(m: 197, n: 768, k: 768, label: "DeiT-B proj"),
        Shape(m: 4160, n: 576, k: 192, label: "DeiT-Ti train qkv"),
        Shape(m: 4160, n: 768, k: 192, label: "DeiT-Ti train fc1"),
        Shape(m: 4160, n: 192, k: 768, label: "DeiT-Ti train fc2"),
    ]

    /// Measures `C = A·Bᵀ` (the linear-layer layout) for at least `seconds` per shape.
    public static func measure(_ shapes: [Shape] = vitShapes, seconds: Double = 0.3) -> [Measurement] {
        var rng = RandomGenerator(seed: 1)
        return shapes.map { s in
            let a = Tensor.randn([s.m, s.k], using: &rng), b = Tensor.randn([s.n, s.k], using: &rng)
            let c = Tensor(uninitialized: [s.m, s.n])
            let run = { BLAS.gemm(transposeB: true, m: s.m, n: s.n, k: s.k, a: a.data, lda: s.k,
                                  b: b.data, ldb: s.k, c: c.data, ldc: s.n) }
            let per = secondsPerCall(atLeast: seconds, run)
            return Measurement(shape: s, gflops: 2 * Double(s.m * s.n * s.k) / per / 1e9, microseconds: per * 1e6)
        }
    }
}

/// `bitvit bench gemm`: the measurements with the BLAS kernel family and thread count.
extension GEMMBenchmark {
    public struct Report: Encodable {
        public var blas_core: String
        public var threads: Int
        public var shapes: [Measurement]
    }

    /// Measures `shapes` for at least `seconds` each.
    public static func report(_ shapes: [Shape] = vitShapes, seconds: Double = 0.3) -> Report {
        let shapes = measure(shapes, seconds: seconds)
        return Report(blas_core: BLAS.coreName, threads: Parallel.threadCount, shapes: shapes)
    }
}

extension GEMMBenchmark.Report {
    /// A header line and one line per shape.
    public var text: String {
        var lines = ["sgemm (OpenBLAS \(blas_core) kernels, \(threads) threads), C = A·Bᵀ"]
        for r in shapes {
            let label = r.shape.label.padding(toLength: 18, withPad: " ", startingAt: 0)
            lines.append(label + String(format: " M=%-5d N=%-5d K=%-5d %8.1f GFLOPS %9.1f µs",
                                        r.shape.m, r.shape.n, r.shape.k, r.gflops, r.microseconds))
        }
        return lines.joined(separator: "\n")
    }
}

/// Mean wall-clock seconds per call of `body`: one warm-up call, then calls until at least
/// `seconds` have passed.
public func secondsPerCall(atLeast seconds: Double, _ body: () -> Void) -> Double {
    body()
    var calls = 0
    let start = DispatchTime.now().uptimeNanoseconds
    var elapsed = 0.0
    repeat {
        body()
        calls += 1
        elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    } while elapsed < seconds
    return elapsed / Double(calls)
}
