import BitViTPlatform
import CBitKernels

/// The part of a self-attention block between the qkv projection and the output projection:
/// `qkv` `[B·N, 3C]` (rows ordered q|k|v × head × dim, timm's layout) → context `[B·N, C]`
/// (heads concatenated).
protocol AttentionCore: AnyObject {
    func run(qkv: UnsafePointer<Float>, batch: Int, into context: UnsafeMutablePointer<Float>,
             workspace: Workspace, profiler: EngineProfiler)
}

/// Geometry shared by the attention cores.
struct AttentionGeometry {
    let tokens: Int
    let heads: Int
    let headDim: Int
    var dim: Int { heads * headDim }
    var qkvStride: Int { 3 * dim }

    /// First float of head `h`'s part `part` (0 = q, 1 = k, 2 = v) of image `b`'s first token.
    func pointer(_ qkv: UnsafePointer<Float>, image b: Int, part: Int, head h: Int) -> UnsafePointer<Float> {
        qkv + b * tokens * qkvStride + part * dim + h * headDim
    }
}

/// Full-precision softmax attention (DeiT, and the W1A1 baseline whose attention products stay
/// in float): per image and head, `softmax(q·kᵀ·d^−½)·v` with sgemm.
final class FloatAttention: AttentionCore {
    let g: AttentionGeometry
    init(_ g: AttentionGeometry) { self.g = g }

    func run(qkv: UnsafePointer<Float>, batch: Int, into context: UnsafeMutablePointer<Float>,
             workspace: Workspace, profiler: EngineProfiler) {
        let (n, d, h) = (g.tokens, g.headDim, g.heads)
        let scores = workspace.floats("attention.scores", batch * h * n * n)
        let scale = 1 / Float(d).squareRoot()
        profiler.measure("attention (sgemm, softmax)") {
            Parallel.forEach(batch * h) { item in
                let (b, head) = (item / h, item % h)
                let s = scores + item * n * n
                BLAS.gemm(transposeB: true, m: n, n: n, k: d, a: g.pointer(qkv, image: b, part: 0, head: head), lda: g.qkvStride,
                          b: g.pointer(qkv, image: b, part: 1, head: head), ldb: g.qkvStride, c: s, ldc: n)
                _ = bv_softmax_bias_max_rows(s, s, nil, n, n, scale)
                BLAS.gemm(m: n, n: d, k: n, a: s, lda: n, b: g.pointer(qkv, image: b, part: 2, head: head), ldb: g.qkvStride,
                          c: context + b * n * g.dim + head * d, ldc: g.dim)
            }
        }
    }
}
