import BitViTPlatform
import CBitKernels
import Foundation

/// A float weight `[outFeatures, inFeatures]` packed once for `bv_sgemm_packed`
/// (include/bv_sgemm_packed.h): the engine's float linear layers multiply with it instead of
/// OpenBLAS where `isPreferred` (an AVX2 + FMA CPU without AVX-512), since OpenBLAS repacks the
/// weight on every call (docs/performance.md, "Inference").
public final class PackedFloatWeight {
    public let outFeatures: Int
    public let inFeatures: Int
    private let packed: AlignedBuffer<Float>

    /// Packs `weight` (`[out, in]` row-major).
    public init(_ weight: UnsafePointer<Float>, out: Int, in k: Int) {
        outFeatures = out
        inFeatures = k
        packed = AlignedBuffer(count: bv_sgemm_packed_floats(Int32(out), Int32(k)))
        bv_sgemm_pack_weights(weight, Int32(out), Int32(k), packed.pointer)
    }

    /// Whether float linear layers use the packed GEMM: where the CPU prefers it, unless
    /// `BITVIT_PACKED_SGEMM=0` asks for OpenBLAS (to compare the two in one run).
    public static let isPreferred: Bool = ProcessInfo.processInfo.environment["BITVIT_PACKED_SGEMM"] != "0"
        && bv_sgemm_packed_preferred() != 0

    /// `c[m, out] = α·a·Wᵀ + bias` (`accumulate`: added to `c`); `a` `[m, in]` with row stride
    /// `lda`, `c` with row stride `ldc`. The output columns are split over the workers unless
    /// the product is small or already inside a parallel region. `path` forces a kernel path
    /// (tests); nil takes the best the CPU has.
    public func multiply(rows m: Int, _ a: UnsafePointer<Float>, lda: Int, alpha: Float = 1, bias: UnsafePointer<Float>?,
                  accumulate: Bool, into c: UnsafeMutablePointer<Float>, ldc: Int, path: BinaryKernelPath? = nil) {
        guard m > 0 else { return }
        let (n, k) = (outFeatures, inFeatures)
        let panels = (n + 15) / 16
        let parts = Parallel.isInsideRegion || m * n * k < BLAS.parallelThreshold ? 1 : min(Parallel.threadCount, panels)
        let requested = path?.rawValue ?? 0
        Parallel.forPartitions(parts) { p in
            let lo = panels * p / parts * 16, hi = min(n, panels * (p + 1) / parts * 16)
            guard lo < hi else { return }
            bv_sgemm_packed(requested, Int32(m), Int32(k), a, lda, packed.pointer, Int32(n), Int32(lo), Int32(hi), alpha, bias,
                            accumulate ? 1 : 0, c, ldc)
        }
    }

    /// The path `multiply` runs for `requested`: AVX2 or scalar.
    public static func resolve(_ requested: BinaryKernelPath?) -> BinaryKernelPath {
        BinaryKernelPath(rawValue: bv_sgemm_packed_resolve_path(requested?.rawValue ?? 0)) ?? .scalar
    }
}
