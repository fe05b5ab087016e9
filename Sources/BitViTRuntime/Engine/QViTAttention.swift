import BitViTPlatform
import CBitKernels

/// Per-head quantization parameters of one Q-ViT attention operand (q, k, v or P):
/// `x̂ = (clamp(round(x/step_h + zero_h), Qn, Qp) − zero_h)·step_h`.
struct HeadQuantizer {
    let step: [Float]
    let zero: [Float]
    let qn: Float
    let qp: Float

    /// Quantizes `rows` rows of `k` values (row stride `stride`) of head `h` into contiguous `out`.
    func apply(_ x: UnsafePointer<Float>, stride: Int, rows: Int, k: Int, head h: Int, into out: UnsafeMutablePointer<Float>) {
        var (a, z) = (step[h], zero[h])
        bv_quantize_levels_rows(x, stride, Int32(rows), Int32(k), &a, &z, 0, qn, qp, nil, 0, out, k)
    }
}

/// Q-ViT's attention (docs/reference/qvit.md §5.2): IRM LayerNorm over the head dimension on q and k
/// (γ, β shared by heads, ε 1e-5), per-head quantizers on q, k, v and on the softmax output,
/// `softmax(q̂·k̂ᵀ·d^−½)`, `P̂·v̂`. The products of the dequantized per-head values run on
/// sgemm: they are 1/8 of a block's MACs at 198 tokens, and per-head steps would factor out of
/// an integer product exactly (the int8 GEMM could take them over).
final class QViTAttention: AttentionCore {
    let g: AttentionGeometry
    let normQ: (weight: [Float], bias: [Float])?
    let normK: (weight: [Float], bias: [Float])?
    let q: HeadQuantizer, k: HeadQuantizer, v: HeadQuantizer, p: HeadQuantizer

    init(_ g: AttentionGeometry, normQ: (weight: [Float], bias: [Float])?, normK: (weight: [Float], bias: [Float])?,
         q: HeadQuantizer, k: HeadQuantizer, v: HeadQuantizer, p: HeadQuantizer) {
        self.g = g
        self.normQ = normQ
        self.normK = normK
        self.q = q; self.k = k; self.v = v; self.p = p
    }

    func run(qkv: UnsafePointer<Float>, batch: Int, into context: UnsafeMutablePointer<Float>,
             workspace: Workspace, profiler: EngineProfiler) {
        let (n, d, h) = (g.tokens, g.headDim, g.heads)
        let scores = workspace.floats("attention.scores", batch * h * n * n)
        let operands = workspace.floats("attention.operands", batch * h * 3 * n * d)
        let scale = 1 / Float(d).squareRoot()
        profiler.measure("attention (IRM, quantizers, sgemm, softmax)") {
            Parallel.forEach(batch * h) { item in
                let (b, head) = (item / h, item % h)
                let qh = operands + item * 3 * n * d, kh = qh + n * d, vh = kh + n * d
                for (part, norm, quantizer, out) in [(0, normQ, q, qh), (1, normK, k, kh)] {
                    let src = g.pointer(qkv, image: b, part: part, head: head)
                    if let norm {
                        norm.weight.withUnsafeBufferPointer { w in
                            norm.bias.withUnsafeBufferPointer { bias in
                                for r in 0..<n {
                                    bv_layernorm_forward_f32(src + r * g.qkvStride, w.baseAddress, bias.baseAddress, out + r * d, nil, nil, 1, d, 1e-5)
                                }
                            }
                        }
                        quantizer.apply(out, stride: d, rows: n, k: d, head: head, into: out)
                    } else {
                        quantizer.apply(src, stride: g.qkvStride, rows: n, k: d, head: head, into: out)
                    }
                }
                v.apply(g.pointer(qkv, image: b, part: 2, head: head), stride: g.qkvStride, rows: n, k: d, head: head, into: vh)
                let s = scores + item * n * n
                BLAS.gemm(transposeB: true, m: n, n: n, k: d, a: qh, lda: d, b: kh, ldb: d, c: s, ldc: n)
                _ = bv_softmax_bias_max_rows(s, s, nil, n, n, scale)
                p.apply(s, stride: n, rows: n, k: n, head: head, into: s)
                BLAS.gemm(m: n, n: d, k: n, a: s, lda: n, b: vh, ldb: d, c: context + b * n * g.dim + head * d, ldc: g.dim)
            }
        }
    }
}
