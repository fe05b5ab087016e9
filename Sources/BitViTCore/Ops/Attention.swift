import CBitKernels

extension Tensor {
    /// Fused multi-head self-attention on a packed projection (timm's layout).
    ///
    /// - `qkv`: `[B, N, 3·D]`; channel `c` of the last axis is (part, head, dim) with
    ///   `c = part·D + head·(D/heads) + dim`, part 0/1/2 = q/k/v.
    /// - Returns `[B, N, D]`: `softmax(scale·q·kᵀ)·v` per head, heads concatenated.
    ///
    /// Q, K and V are read in place with strided GEMMs (no permute copies); the attention
    /// probabilities `[B, heads, N, N]` are the only saved activation. Work is split over
    /// (batch, head) pairs.
    public static func attention(qkv: Tensor, heads: Int, scale: Float) -> Tensor {
        precondition(qkv.rank == 3 && qkv.shape[2] % (3 * heads) == 0,
                     "attention: qkv \(qkv.shape) is not [B, N, 3·D] for \(heads) heads")
        let (b, n, d3) = (qkv.shape[0], qkv.shape[1], qkv.shape[2])
        let dim = d3 / 3, hd = dim / heads
        let probs = Tensor(uninitialized: [b, heads, n, n])
        let out = Tensor(uninitialized: [b, n, dim])
        let src = qkv.data, pp = probs.data, po = out.data
        do {
            Parallel.forEach(b * heads) { bh in
                let bi = bh / heads, h = bh % heads
                let q = src + bi * n * d3 + h * hd, k = q + dim, v = q + 2 * dim
                let p = pp + bh * n * n
                BLAS.gemm(transposeB: true, m: n, n: n, k: hd, a: q, lda: d3, b: k, ldb: d3, c: p, ldc: n)
                bv_softmax_rows_f32(p, p, n, n, scale)
                BLAS.gemm(m: n, n: hd, k: n, a: p, lda: n, b: v, ldb: d3,
                          c: po + bi * n * dim + h * hd, ldc: dim)
            }
        }
        return Autograd.record(out, op: "attention", inputs: [qkv]) { g in
            let dqkv = Tensor(uninitialized: qkv.shape)
            let parts = Swift.min(Parallel.threadCount, b * heads)
            let scratch = Tensor(uninitialized: [parts, n * n])
            let src = qkv.data, pp = probs.data   // captures the saved tensors
            let pg = g.data, pd = dqkv.data, ps = scratch.data
            do {
                Parallel.forPartitions(parts) { worker in
                    let dp = ps + worker * n * n
                    for bh in (b * heads * worker / parts)..<(b * heads * (worker + 1) / parts) {
                        let bi = bh / heads, h = bh % heads
                        let q = src + bi * n * d3 + h * hd, k = q + dim, v = q + 2 * dim
                        let dq = pd + bi * n * d3 + h * hd, dk = dq + dim, dv = dq + 2 * dim
                        let p = pp + bh * n * n, go = pg + bi * n * dim + h * hd
                        BLAS.gemm(transposeB: true, m: n, n: n, k: hd, a: go, lda: dim, b: v, ldb: d3, c: dp, ldc: n)
                        BLAS.gemm(transposeA: true, m: n, n: hd, k: n, a: p, lda: n, b: go, ldb: dim, c: dv, ldc: d3)
                        bv_softmax_backward_rows_f32(p, dp, dp, n, n, scale)
                        BLAS.gemm(m: n, n: hd, k: n, a: dp, lda: n, b: k, ldb: d3, c: dq, ldc: d3)
                        BLAS.gemm(transposeA: true, m: n, n: hd, k: n, a: dp, lda: n, b: q, ldb: d3, c: dk, ldc: d3)
                    }
                }
            }
            return [dqkv]
        }
    }
}
