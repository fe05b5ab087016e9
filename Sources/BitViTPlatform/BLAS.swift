import CBLAS
import Foundation

/// Float GEMM through OpenBLAS.
///
/// OpenBLAS is used single-threaded: BitViT splits large products across its own workers
/// (`Parallel`), by rows of C or by columns when C is wide. That keeps one thread pool in the
/// process; OpenBLAS's own pool would otherwise spin (`sched_yield`) while BitViT's other
/// kernels run and steal their cores.
///
/// Kernel family: BitViT uses OpenBLAS's own detection of the running CPU. An
/// `OPENBLAS_CORETYPE` inherited from the environment (some images pin it to "Haswell" for
/// reproducible numpy results) would otherwise run AVX2 kernels on AVX-512 CPUs at half speed.
/// `BITVIT_BLAS_CORE` chooses explicitly: `auto` (default, CPU detection), `env` (obey
/// `OPENBLAS_CORETYPE`), or an OpenBLAS core name such as `Haswell` or `SkylakeX`.
/// `coreName` and `coreSelection` report what is in use.
public enum BLAS {
    /// How the kernel family was chosen, for benchmark reports.
    public static var coreSelection: String {
        configure()
        return selection
    }

    nonisolated(unsafe) private static var selection = "OpenBLAS CPU detection"

    private static let configured: Bool = {
        let env = ProcessInfo.processInfo.environment
        let inherited = env["OPENBLAS_CORETYPE"]
        let choice = env["BITVIT_BLAS_CORE"] ?? "auto"
        func reinitialize(coreType: String?) {
            gotoblas_dynamic_quit()
            if let coreType { setenv("OPENBLAS_CORETYPE", coreType, 1) } else { unsetenv("OPENBLAS_CORETYPE") }
            gotoblas_dynamic_init()
            // Leave the environment as found, for child processes.
            if let inherited { setenv("OPENBLAS_CORETYPE", inherited, 1) } else { unsetenv("OPENBLAS_CORETYPE") }
        }
        switch choice.lowercased() {
        case "env":
            selection = inherited.map { "OPENBLAS_CORETYPE=\($0)" } ?? "OpenBLAS CPU detection"
        case "auto":
            if let inherited {
                reinitialize(coreType: nil)
                selection = "OpenBLAS CPU detection (OPENBLAS_CORETYPE=\(inherited) ignored; BITVIT_BLAS_CORE=env obeys it)"
            }
        default:
            reinitialize(coreType: choice)
            selection = "BITVIT_BLAS_CORE=\(choice)"
        }
        openblas_set_num_threads(1)
        return true
    }()

    /// Configures OpenBLAS on first use (idempotent; every GEMM entry point calls it).
    public static func configure() {
        // Reading the flag runs the one-time setup above.
        precondition(configured)
    }

    /// The OpenBLAS kernel family in use, e.g. "Haswell" or "SkylakeX".
    public static var coreName: String {
        configure()
        return String(cString: openblas_get_corename())
    }

    /// Multiply-adds below which a product runs on the calling thread only.
    package static let parallelThreshold = 1 << 21

    /// C = alpha · op(A) · op(B) + beta · C, row-major. op(A) is m×k, op(B) is k×n, C is m×n;
    /// `lda`, `ldb`, `ldc` are the row strides of A, B, C as stored.
    public static func gemm(transposeA: Bool = false, transposeB: Bool = false,
                            m: Int, n: Int, k: Int, alpha: Float = 1,
                            a: UnsafePointer<Float>, lda: Int,
                            b: UnsafePointer<Float>, ldb: Int,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        configure()
        if m == 0 || n == 0 { return }
        if k == 0 {
            for i in 0..<m {
                let row = c + i * ldc
                if beta == 0 { row.update(repeating: 0, count: n) } else { for j in 0..<n { row[j] *= beta } }
            }
            return
        }
        let parts = Parallel.isInsideRegion || m * n * k < parallelThreshold ? 1 : Parallel.threadCount
        if parts == 1 {
            sgemm(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            return
        }
        if m >= n {
            // Split the rows of C (and of op(A)).
            Parallel.forPartitions(parts) { p in
                let lo = m * p / parts, hi = m * (p + 1) / parts
                guard lo < hi else { return }
                let aPart = transposeA ? a + lo : a + lo * lda
                sgemm(transposeA, transposeB, hi - lo, n, k, alpha, aPart, lda, b, ldb, beta, c + lo * ldc, ldc)
            }
        } else {
            // Split the columns of C (and of op(B)).
            Parallel.forPartitions(parts) { p in
                let lo = n * p / parts, hi = n * (p + 1) / parts
                guard lo < hi else { return }
                let bPart = transposeB ? b + lo * ldb : b + lo
                sgemm(transposeA, transposeB, m, hi - lo, k, alpha, a, lda, bPart, ldb, beta, c + lo, ldc)
            }
        }
    }

    private static func sgemm(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                              _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                              _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}
