import CBLAS
import CBitKernels
import Foundation

/// Float GEMM through OpenBLAS, with the library configured once for this machine.
public enum BLAS {
    /// Call before heavy work (idempotent); every GEMM entry point calls it.
    ///
    /// OpenBLAS releases older than the CPU may not recognize it and fall back to AVX2 kernels
    /// (e.g. 0.3.21 on AMD Zen 4/5 picks "Haswell"). When the CPU has the AVX-512 subset of
    /// Intel's Skylake-X and the user has not chosen a core with `OPENBLAS_CORETYPE`, BitViT
    /// switches OpenBLAS to its SkylakeX kernels, which are about 1.7× faster there.
    public static let configure: Void = {
        let env = ProcessInfo.processInfo.environment
        let need = UInt32(BV_CPU_AVX512F | BV_CPU_AVX512BW | BV_CPU_AVX512DQ | BV_CPU_AVX512VL)
        let core = String(cString: openblas_get_corename())
        if env["OPENBLAS_CORETYPE"] == nil, bv_cpu_features() & need == need,
           ["haswell", "zen", "sandybridge"].contains(core.lowercased()) {
            gotoblas_dynamic_quit()
            setenv("OPENBLAS_CORETYPE", "SKYLAKEX", 1)
            gotoblas_dynamic_init()
            unsetenv("OPENBLAS_CORETYPE")
        }
        if env["OPENBLAS_NUM_THREADS"] == nil {
            openblas_set_num_threads(Int32(Parallel.threadCount))
        }
    }()

    /// The OpenBLAS kernel family in use, e.g. "SkylakeX".
    public static var coreName: String {
        _ = configure
        return String(cString: openblas_get_corename())
    }

    nonisolated(unsafe) static var singleThreadDepth = 0
    static let threadLock = NSLock()

    /// Runs `body` with OpenBLAS limited to one thread, for GEMMs issued from inside a
    /// `Parallel` region.
    public static func singleThreaded<R>(_ body: () throws -> R) rethrows -> R {
        _ = configure
        threadLock.lock()
        if singleThreadDepth == 0 { openblas_set_num_threads(1) }
        singleThreadDepth += 1
        threadLock.unlock()
        defer {
            threadLock.lock()
            singleThreadDepth -= 1
            if singleThreadDepth == 0 { openblas_set_num_threads(Int32(Parallel.threadCount)) }
            threadLock.unlock()
        }
        return try body()
    }

    /// C = alpha · op(A) · op(B) + beta · C, row-major. op(A) is m×k, op(B) is k×n, C is m×n;
    /// `lda`, `ldb`, `ldc` are the row strides of A, B, C as stored.
    public static func gemm(transposeA: Bool = false, transposeB: Bool = false,
                            m: Int, n: Int, k: Int, alpha: Float = 1,
                            a: UnsafePointer<Float>, lda: Int,
                            b: UnsafePointer<Float>, ldb: Int,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        _ = configure
        if m == 0 || n == 0 { return }
        if k == 0 {
            if beta == 0 {
                for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) }
            } else if beta != 1 {
                for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } }
            }
            return
        }
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans,
                    transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb),
                    beta, c, Int32(ldc))
    }
}
