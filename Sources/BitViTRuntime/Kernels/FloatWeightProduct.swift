import BitViTPlatform

/// A float weight `[outFeatures, inFeatures]` and its product `c = α·a·Wᵀ (+ bias)`: packed once
/// for `bv_sgemm_packed` where `PackedFloatWeight.isPreferred`, otherwise kept row-major for
/// OpenBLAS sgemm. The engine's float layers (linears, and convolutions after im2col) multiply
/// through it, so both kernels split over the workers the same way.
struct FloatWeightProduct {
    let outFeatures: Int
    let inFeatures: Int
    /// The weight `[out, in]` for OpenBLAS, or nil when `packed` holds it.
    private let weight: AlignedBuffer<Float>?
    private let packed: PackedFloatWeight?

    /// Keeps (or packs) `weight` (`[out, in]` row-major).
    init(_ weight: UnsafePointer<Float>, out: Int, in k: Int) {
        outFeatures = out
        inFeatures = k
        if PackedFloatWeight.isPreferred {
            packed = PackedFloatWeight(weight, out: out, in: k)
            self.weight = nil
        } else {
            packed = nil
            let copy = AlignedBuffer<Float>(count: out * k)
            copy.pointer.update(from: weight, count: out * k)
            self.weight = copy
        }
    }

    /// "packed sgemm" or "sgemm", for profiles.
    var kernelName: String { packed == nil ? "sgemm" : "packed sgemm" }

    /// `c[m, out] = α·a·Wᵀ + bias` (`accumulate`: added to `c`); `a` `[m, in]` with row stride
    /// `lda`, `c` with row stride `ldc`; `bias` has `outFeatures` values.
    func multiply(rows m: Int, _ a: UnsafePointer<Float>, lda: Int, alpha: Float = 1, bias: UnsafePointer<Float>?,
                  accumulate: Bool, into c: UnsafeMutablePointer<Float>, ldc: Int) {
        if let packed {
            packed.multiply(rows: m, a, lda: lda, alpha: alpha, bias: bias, accumulate: accumulate, into: c, ldc: ldc)
            return
        }
        let (n, k) = (outFeatures, inFeatures)
        BLAS.gemm(transposeB: true, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: weight!.pointer, ldb: k,
                  beta: accumulate ? 1 : 0, c: c, ldc: ldc)
        if let bias { addRowVector(bias, to: c, rows: m, cols: n, ld: ldc) }
    }
}

/// `y[r, :] += v` for every row.
func addRowVector(_ v: UnsafePointer<Float>, to y: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ld: Int) {
    Parallel.forRanges(rows, minimumPerThread: max(1, 4096 / max(cols, 1))) { range in
        for r in range {
            let row = y + r * ld
            for j in 0..<cols { row[j] += v[j] }
        }
    }
}
