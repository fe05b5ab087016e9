// Matrix products through OpenBLAS sgemm.

extension Tensor {
    /// Matrix product `op(A)·op(B)` over the last two axes, `op` transposing when asked.
    ///
    /// - `a`: `[..., M, K]` (or `[..., K, M]` with `transposeA`).
    /// - `b`: `[..., K, N]` (or `[..., N, K]` with `transposeB`), with the same leading (batch)
    ///   axes as `a`, or rank 2 to share one matrix across the batch (then the batch is folded
    ///   into the rows of a single GEMM when `a` is not transposed).
    /// - Returns `[..., M, N]`.
    public static func matmul(_ a: Tensor, _ b: Tensor,
                              transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
        precondition(a.rank >= 2 && b.rank >= 2, "matmul needs rank ≥ 2, got \(a.shape) and \(b.shape)")
        // A shared right matrix: fold the batch into the rows of one large GEMM.
        if b.rank == 2 && a.rank > 2 && !transposeA {
            let lead = Array(a.shape.dropLast(2))
            let flat = a.reshaped([-1, a.shape[a.rank - 1]])
            let out = matmul(flat, b, transposeB: transposeB)
            return out.reshaped(lead + [a.shape[a.rank - 2], out.shape[1]])
        }
        if b.rank == 2 && a.rank > 2 {
            return matmul(a, b.expanded(to: Array(a.shape.dropLast(2)) + b.shape),
                          transposeA: transposeA, transposeB: transposeB)
        }
        let batchShape = Array(a.shape.dropLast(2))
        precondition(Array(b.shape.dropLast(2)) == batchShape,
                     "matmul batch axes differ: \(a.shape) vs \(b.shape)")
        let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
        let (m, k) = transposeA ? (ac, ar) : (ar, ac)
        let (kb, n) = transposeB ? (bc, br) : (br, bc)
        precondition(k == kb, "matmul inner extents differ: \(a.shape)\(transposeA ? "ᵀ" : "") · \(b.shape)\(transposeB ? "ᵀ" : "")")
        let batch = batchShape.reduce(1, *)
        let out = Tensor(uninitialized: batchShape + [m, n])
        let bStride = br * bc
        let pa = a.data, pb = b.data, pc = out.data
        let one = { (i: Int) in
            BLAS.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                      a: pa + i * ar * ac, lda: ac, b: pb + i * bStride, ldb: bc,
                      c: pc + i * m * n, ldc: n)
        }
        if batch == 1 || m * n * k >= 1 << 22 {
            for i in 0..<batch { one(i) }   // each product is split across the cores
        } else {
            Parallel.forEach(batch) { one($0) }   // many small products: one per worker
        }
        return Autograd.record(out, op: "matmul", inputs: [a, b]) { g in
            let da: Tensor? = a.requiresGrad
                ? (transposeA ? matmul(b, g, transposeA: transposeB, transposeB: true)
                              : matmul(g, b, transposeB: !transposeB))
                : nil
            var db: Tensor? = nil
            if b.requiresGrad {
                db = transposeB ? matmul(g, a, transposeA: true, transposeB: transposeA)
                                : matmul(a, g, transposeA: !transposeA)
            }
            return [da, db]
        }
    }

    /// Affine map over the last axis: `x·Wᵀ + bias`.
    ///
    /// - `x`: `[..., in]`; `weight`: `[out, in]` (PyTorch layout); `bias`: `[out]` or nil.
    /// - Returns `[..., out]`.
    public static func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
        let inF = weight.shape[1], outF = weight.shape[0]
        precondition(weight.rank == 2 && x.shape.last == inF,
                     "linear: input \(x.shape) does not match weight \(weight.shape)")
        if let bias { precondition(bias.shape == [outF], "linear: bias \(bias.shape) for \(outF) outputs") }
        let rows = x.count / inF
        let out = Tensor(uninitialized: Array(x.shape.dropLast()) + [outF])
        if let bias {
            for r in 0..<rows { (out.data + r * outF).update(from: bias.data, count: outF) }
        }
        BLAS.gemm(transposeB: true, m: rows, n: outF, k: inF, a: x.data, lda: inF,
                  b: weight.data, ldb: inF, beta: bias == nil ? 0 : 1, c: out.data, ldc: outF)
        let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
        return Autograd.record(out, op: "linear", inputs: inputs) { g in
            var grads: [Tensor?] = []
            if x.requiresGrad {
                let dx = Tensor(uninitialized: x.shape)
                BLAS.gemm(m: rows, n: inF, k: outF, a: g.data, lda: outF, b: weight.data, ldb: inF,
                          c: dx.data, ldc: inF)
                grads.append(dx)
            } else {
                grads.append(nil)
            }
            if weight.requiresGrad {
                let dw = Tensor(uninitialized: weight.shape)
                BLAS.gemm(transposeA: true, m: outF, n: inF, k: rows, a: g.data, lda: outF,
                          b: x.data, ldb: inF, c: dw.data, ldc: inF)
                grads.append(dw)
            } else {
                grads.append(nil)
            }
            if let bias {
                grads.append(bias.requiresGrad ? g.reshaped([rows, outF]).sum(axis: 0) : nil)
            }
            return grads
        }
    }
}
