import BitViTPlatform
import CBitKernels

/// int8 matrix products, u8 activation codes × s8 weight codes with s32 accumulation
/// (AVX-512 VNNI vpdpbusd; an exact AVX2 fallback; scalar):
///
///     C[m, n] = scale · a.scale · rowScale[m] · α_n · Σ_k (a[m, k] − z_m) · w[n, k] + bias[n]   (+ C)
///
/// Used for 8-bit patch embeddings and heads and for Q-ViT's 2/3/4-bit layers. Measured on
/// the development machine (docs/deployment.md): at 4×4 bits widening the codes to int8 and
/// using vpdpbusd is about 4× faster than 16 binary plane products; at 2×2 bits the two are
/// within 5–30% (int8 ahead), so the plane form (`BinaryPack.codePlanes` + `BinaryGEMM`)
/// remains available for CPUs without VNNI.
/// C is row-major M×N with row stride `ldc` (default N).
public enum Int8GEMM {
    /// MACs per worker below which a product stays on one thread.
    public static var minimumWorkPerThread = 1 << 20

    /// C = transform(dequantized a · dequantized wᵀ). Returns the path used.
    ///
    /// `columns` restricts the product to a range of a's columns (w then has `columns.count`
    /// columns): Σ over k ∈ columns only. The range must start at a multiple of 4; a's codes
    /// past its end up to the next multiple of 4 are read and meet w's zero padding.
    @discardableResult
    public static func multiply(_ a: QuantizedInt8Matrix, _ w: PackedInt8Weights,
                                into c: UnsafeMutablePointer<Float>, ldc: Int? = nil,
                                transform: OutputTransform = OutputTransform(),
                                columns: Range<Int>? = nil,
                                path: BinaryKernelPath? = nil) -> BinaryKernelPath {
        run(a, w, c: c, c32: nil, ldc: ldc, transform: transform, columns: columns, path: path)
    }

    /// Raw s32 products Σ_k a[m, k]·w[n, k] of the codes (no zero points, no scales).
    @discardableResult
    public static func multiplyRaw(_ a: QuantizedInt8Matrix, _ w: PackedInt8Weights,
                                   into c: UnsafeMutablePointer<Int32>, ldc: Int? = nil,
                                   path: BinaryKernelPath? = nil) -> BinaryKernelPath {
        run(a, w, c: nil, c32: c, ldc: ldc, transform: OutputTransform(), columns: nil, path: path)
    }

    private static func run(_ a: QuantizedInt8Matrix, _ w: PackedInt8Weights,
                            c: UnsafeMutablePointer<Float>?, c32: UnsafeMutablePointer<Int32>?, ldc: Int?,
                            transform: OutputTransform, columns: Range<Int>?, path: BinaryKernelPath?) -> BinaryKernelPath {
        let columns = columns ?? 0..<a.k
        precondition(columns.lowerBound >= 0 && columns.upperBound <= a.k && columns.lowerBound % 4 == 0,
                     "Int8GEMM: columns \(columns) of a with k = \(a.k)")
        precondition(columns.count == w.k, "Int8GEMM: a has k = \(columns.count), w has k = \(w.k)")
        let m = a.rows, n = w.rows, ldc = ldc ?? n
        precondition(ldc >= n, "Int8GEMM: ldc \(ldc) < N \(n)")
        let resolved = BinaryKernels.resolveInt8(path)
        var args = bv_igemm_args()
        args.m = Int32(m); args.n = Int32(n); args.k = Int32(w.k)
        args.a = UnsafePointer(a.codes.pointer + columns.lowerBound)
        args.lda = a.rowStride
        args.a_zero = a.zeroPoints.map { UnsafePointer($0.pointer) }
        args.w = UnsafePointer(w.panels.pointer)
        args.col_sums = UnsafePointer(w.columnSums.pointer)
        args.scale = transform.scale * a.scale
        args.row_scale = transform.rowScale
        args.col_scale = w.channelScales.map { UnsafePointer($0.pointer) }
        args.bias = transform.bias
        args.accumulate = transform.accumulate ? 1 : 0
        args.c = c
        args.c32 = c32
        args.ldc = ldc
        args.a_max = a.maxCode
        args.w_max = w.largestMagnitude
        let frozen = args
        KernelWorkSplit.run(m: m, n: n, work: m * n * w.k, minimumWorkPerThread: minimumWorkPerThread) { rows, cols in
            var local = frozen
            _ = bv_igemm(&local, Int32(rows.lowerBound), Int32(rows.upperBound),
                         Int32(cols.lowerBound), Int32(cols.upperBound), resolved.rawValue)
        }
        return resolved
    }
}
