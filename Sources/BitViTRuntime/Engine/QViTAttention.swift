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

    /// Quantizes like `apply`, writing the u8 codes `c − Qn` (row stride `rowStride` bytes).
    func codes(_ x: UnsafePointer<Float>, stride: Int, rows: Int, k: Int, head h: Int,
               into out: UnsafeMutablePointer<UInt8>, rowStride: Int) {
        var (a, z) = (step[h], zero[h])
        bv_quantize_levels_rows(x, stride, Int32(rows), Int32(k), &a, &z, 0, qn, qp, out, rowStride, nil, 0)
    }

    /// Whether every `c − z` fits s8 (a right operand of the int8 GEMM). The loader guarantees
    /// integer zero points and at most 256 levels (`ModelManifest.valueProblem`), so the codes
    /// `c − Qn` always fit u8 (a left operand).
    var hasSignedOffsets: Bool { zero.allSatisfy { qn - $0 >= -128 && qp - $0 <= 127 } }

    /// The largest |c − z| of head `h`.
    func largestOffset(head h: Int) -> Int32 { Int32(max(abs(qn - zero[h]), abs(qp - zero[h]))) }

    /// Packs the u8 codes `c − Qn` of head `h` (element (n, j) at `codes[n·nStride + j·kStride]`)
    /// as the int8 GEMM's s8 weight panels of `c − z`, with their row sums.
    func packOffsets(_ codes: UnsafePointer<UInt8>, nStride: Int, kStride: Int, rows: Int, k: Int, head h: Int,
                     into panels: UnsafeMutablePointer<Int8>, sums: UnsafeMutablePointer<Int32>) {
        bv_pack_panels_u8_offset(codes, nStride, kStride, Int32(rows), Int32(k), Int32(qn - zero[h]), panels, sums)
    }
}

/// Q-ViT's attention (docs/reference/qvit.md §5.2): IRM LayerNorm over the head dimension on q and k
/// (γ, β shared by heads, ε 1e-5), per-head quantizers on q, k, v and on the softmax output,
/// `softmax(q̂·k̂ᵀ·d^−½)`, `P̂·v̂`.
///
/// Both products run on the int8 GEMM on the codes (`integerProducts`):
/// q̂·k̂ᵀ = α_q·α_k·Σ (c_q − z_q)(c_k − z_k), with q's codes as the u8 operand (zero point per
/// row) and k's `c_k − z_k` as s8 panels, and P̂·v̂ likewise with P's codes and v's transposed;
/// the steps apply in the GEMM's epilogue. The sums are exact integers, so
/// the result equals the dequantized float product up to its rounding. The float path
/// (`floatKernels`, or a zero point that puts some `c − z` outside s8) multiplies the dequantized
/// values with sgemm.
final class QViTAttention: AttentionCore {
    let g: AttentionGeometry
    let normQ: (weight: [Float], bias: [Float])?
    let normK: (weight: [Float], bias: [Float])?
    let q: HeadQuantizer, k: HeadQuantizer, v: HeadQuantizer, p: HeadQuantizer
    /// Whether the products run on the int8 GEMM (see the type's description).
    let integerProducts: Bool
    /// Per head, the u8 zero point z − Qn of q's and of P's codes, repeated for every row.
    private let queryZeros: [AlignedBuffer<Int32>], probabilityZeros: [AlignedBuffer<Int32>]

    init(_ g: AttentionGeometry, normQ: (weight: [Float], bias: [Float])?, normK: (weight: [Float], bias: [Float])?,
         q: HeadQuantizer, k: HeadQuantizer, v: HeadQuantizer, p: HeadQuantizer, floatKernels: Bool = false) {
        self.g = g
        self.normQ = normQ
        self.normK = normK
        self.q = q; self.k = k; self.v = v; self.p = p
        let integer = !floatKernels && k.hasSignedOffsets && v.hasSignedOffsets
        func rows(_ quantizer: HeadQuantizer) -> [AlignedBuffer<Int32>] {
            guard integer else { return [] }
            return (0..<g.heads).map { AlignedBuffer([Int32](repeating: Int32(quantizer.zero[$0] - quantizer.qn), count: g.tokens)) }
        }
        integerProducts = integer
        queryZeros = rows(q)
        probabilityZeros = rows(p)
    }

    func run(qkv: UnsafePointer<Float>, batch: Int, into context: UnsafeMutablePointer<Float>,
             workspace: Workspace, profiler: EngineProfiler) {
        if integerProducts {
            profiler.measure("attention (IRM, quantizers, int8 GEMM, softmax)") {
                runOnCodes(qkv: qkv, batch: batch, into: context, workspace: workspace)
            }
        } else {
            profiler.measure("attention (IRM, quantizers, sgemm, softmax)") {
                runOnValues(qkv: qkv, batch: batch, into: context, workspace: workspace)
            }
        }
    }

    /// q or k of one (image, head), after the IRM LayerNorm when the model has it: `n` rows of `d`
    /// floats at `src` (row stride `stride`).
    private func rectified(_ src: UnsafePointer<Float>, norm: (weight: [Float], bias: [Float])?,
                           into out: UnsafeMutablePointer<Float>) -> (UnsafePointer<Float>, stride: Int) {
        guard let norm else { return (src, g.qkvStride) }
        norm.weight.withUnsafeBufferPointer { w in
            norm.bias.withUnsafeBufferPointer { bias in
                for r in 0..<g.tokens {
                    bv_layernorm_forward_f32(src + r * g.qkvStride, w.baseAddress, bias.baseAddress, out + r * g.headDim, nil, nil, 1, g.headDim, 1e-5)
                }
            }
        }
        return (UnsafePointer(out), g.headDim)
    }

    private func runOnValues(qkv: UnsafePointer<Float>, batch: Int, into context: UnsafeMutablePointer<Float>, workspace: Workspace) {
        let (n, d, h) = (g.tokens, g.headDim, g.heads)
        let scores = workspace.floats("attention.scores", batch * h * n * n)
        let operands = workspace.floats("attention.operands", batch * h * 3 * n * d)
        let scale = 1 / Float(d).squareRoot()
        Parallel.forEach(batch * h) { item in
            let (b, head) = (item / h, item % h)
            let qh = operands + item * 3 * n * d, kh = qh + n * d, vh = kh + n * d
            for (part, norm, quantizer, out) in [(0, normQ, q, qh), (1, normK, k, kh)] {
                let (x, stride) = rectified(g.pointer(qkv, image: b, part: part, head: head), norm: norm, into: out)
                quantizer.apply(x, stride: stride, rows: n, k: d, head: head, into: out)
            }
            v.apply(g.pointer(qkv, image: b, part: 2, head: head), stride: g.qkvStride, rows: n, k: d, head: head, into: vh)
            let s = scores + item * n * n
            BLAS.gemm(transposeB: true, m: n, n: n, k: d, a: qh, lda: d, b: kh, ldb: d, c: s, ldc: n)
            _ = bv_softmax_bias_max_rows(s, s, nil, n, n, scale)
            p.apply(s, stride: n, rows: n, k: n, head: head, into: s)
            BLAS.gemm(m: n, n: d, k: n, a: s, lda: n, b: vh, ldb: d, c: context + b * n * g.dim + head * d, ldc: g.dim)
        }
    }

    private func runOnCodes(qkv: UnsafePointer<Float>, batch: Int, into context: UnsafeMutablePointer<Float>, workspace: Workspace) {
        let (n, d, h) = (g.tokens, g.headDim, g.heads)
        let layout = CodeOperands(tokens: n, headDim: d)
        let scores = workspace.floats("attention.scores", batch * h * n * n)
        let rectifiedRows = workspace.floats("attention.rectified", batch * h * n * d)
        let operandBytes = workspace.floats("attention.codes", batch * h * layout.bytes / 4)
        let scale = 1 / Float(d).squareRoot()
        let path = BinaryKernels.activeInt8Path.rawValue
        Parallel.forEach(batch * h) { item in
            let (b, head) = (item / h, item % h)
            let o = layout.bind(UnsafeMutableRawPointer(operandBytes) + item * layout.bytes)
            let temp = rectifiedRows + item * n * d
            // q: u8 codes c − Qn (zero point z − Qn per row); k: s8 panels of c − z.
            let (x, xs) = rectified(g.pointer(qkv, image: b, part: 0, head: head), norm: normQ, into: temp)
            q.codes(x, stride: xs, rows: n, k: d, head: head, into: o.queryCodes, rowStride: layout.headDimStride)
            let (y, ys) = rectified(g.pointer(qkv, image: b, part: 1, head: head), norm: normK, into: temp)
            k.codes(y, stride: ys, rows: n, k: d, head: head, into: o.scratch, rowStride: d)
            k.packOffsets(o.scratch, nStride: d, kStride: 1, rows: n, k: d, head: head, into: o.keyPanels, sums: o.keySums)
            let s = scores + item * n * n
            Self.product(rows: n, columns: n, depth: d, codes: o.queryCodes, rowStride: layout.headDimStride,
                         zeros: queryZeros[head], left: q, panels: o.keyPanels, sums: o.keySums, right: k, head: head,
                         into: s, ldc: n, path: path)
            _ = bv_softmax_bias_max_rows(s, s, nil, n, n, scale)
            // P: u8 codes (unsigned range); v: s8 panels of (c − z)ᵀ, one column per token.
            p.codes(s, stride: n, rows: n, k: n, head: head, into: o.probabilityCodes, rowStride: layout.tokenStride)
            v.codes(g.pointer(qkv, image: b, part: 2, head: head), stride: g.qkvStride, rows: n, k: d, head: head,
                    into: o.scratch, rowStride: d)
            v.packOffsets(o.scratch, nStride: 1, kStride: d, rows: d, k: n, head: head, into: o.valuePanels, sums: o.valueSums)
            Self.product(rows: n, columns: d, depth: n, codes: o.probabilityCodes, rowStride: layout.tokenStride,
                         zeros: probabilityZeros[head], left: p, panels: o.valuePanels, sums: o.valueSums, right: v, head: head,
                         into: context + b * n * g.dim + head * d, ldc: g.dim, path: path)
        }
    }

    /// `c = α_left·α_right·Σ (u − z_left)·w` on one thread: u8 codes `u` of `left` (row stride
    /// `rowStride` bytes, `zeros` per row) times the s8 panels of `c − z` of `right` (`sums` per column).
    private static func product(rows m: Int, columns n: Int, depth k: Int, codes: UnsafeMutablePointer<UInt8>, rowStride: Int,
                                zeros: AlignedBuffer<Int32>, left: HeadQuantizer, panels: UnsafeMutablePointer<Int8>,
                                sums: UnsafeMutablePointer<Int32>, right: HeadQuantizer, head h: Int,
                                into c: UnsafeMutablePointer<Float>, ldc: Int, path: Int32) {
        var args = bv_igemm_args()
        args.m = Int32(m); args.n = Int32(n); args.k = Int32(k)
        args.a = UnsafePointer(codes); args.lda = rowStride
        args.a_zero = UnsafePointer(zeros.pointer)
        args.w = UnsafePointer(panels); args.col_sums = UnsafePointer(sums)
        args.scale = left.step[h] * right.step[h]
        args.c = c; args.ldc = ldc
        args.a_max = Int32(left.qp - left.qn); args.w_max = right.largestOffset(head: h)
        _ = bv_igemm(&args, 0, Int32(m), 0, Int32(n), path)
    }
}

/// Byte layout of one (image, head)'s integer operands in the attention workspace.
private struct CodeOperands {
    /// Row strides of the u8 codes (K padded to a multiple of 4, as the int8 GEMM reads them).
    let headDimStride: Int, tokenStride: Int
    /// Byte offsets of the operands in the order of `Bound`, then the total.
    private let offsets: [Int]

    init(tokens: Int, headDim: Int) {
        (headDimStride, tokenStride) = ((headDim + 3) / 4 * 4, (tokens + 3) / 4 * 4)
        let sizes = [tokens * headDimStride, tokens * tokenStride, tokens * headDim,
                     Self.panelBytes(rows: tokens, k: headDim), Self.panelBytes(rows: headDim, k: tokens),
                     4 * tokens, 4 * headDim]
        var at = 0
        offsets = sizes.map { size in defer { at += (size + 63) / 64 * 64 }; return at } + [at]
    }

    private static func panelBytes(rows: Int, k: Int) -> Int { (rows + 15) / 16 * 64 * ((k + 3) / 4) }

    /// Bytes per (image, head), a multiple of 64.
    var bytes: Int { offsets.last! }

    struct Bound {
        let queryCodes: UnsafeMutablePointer<UInt8>, probabilityCodes: UnsafeMutablePointer<UInt8>
        let scratch: UnsafeMutablePointer<UInt8>
        let keyPanels: UnsafeMutablePointer<Int8>, valuePanels: UnsafeMutablePointer<Int8>
        let keySums: UnsafeMutablePointer<Int32>, valueSums: UnsafeMutablePointer<Int32>
    }

    func bind(_ base: UnsafeMutableRawPointer) -> Bound {
        let at = offsets
        return Bound(queryCodes: (base + at[0]).assumingMemoryBound(to: UInt8.self),
                     probabilityCodes: (base + at[1]).assumingMemoryBound(to: UInt8.self),
                     scratch: (base + at[2]).assumingMemoryBound(to: UInt8.self),
                     keyPanels: (base + at[3]).assumingMemoryBound(to: Int8.self),
                     valuePanels: (base + at[4]).assumingMemoryBound(to: Int8.self),
                     keySums: (base + at[5]).assumingMemoryBound(to: Int32.self),
                     valueSums: (base + at[6]).assumingMemoryBound(to: Int32.self))
    }
}
