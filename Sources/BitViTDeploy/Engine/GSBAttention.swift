import BitViTCore
import CBitKernels

/// GSB stage 2's attention (gsb.md §4.1 steps 2–7) on the bit kernels:
///
/// 1. `q̂ = sgn(q + b_q)`, `k̂ = sgn(k + b_k)` packed per image and head (K = d); the scores
///    `α_q·α_k·d^−½·(q̂·k̂ᵀ)` are one XNOR-popcount GEMM each;
/// 2. `P' = softmax(scores) + B_att` in float;
/// 3. GSB_A: three {0,1} planes `P' > α1/2`, `P' > t1·M`, `P' > t2·M` with weights α1, α2, α3;
/// 4. GSB_V: `v̂ = sgn(v')(α1 + α2·T1 + α3·T2)` as three ±1 planes (`BinaryPack.gsbSignedPlanes`);
/// 5. `Â·v̂`: 3 × 3 plane products into the context.
///
/// M (and V's max/min) are taken over the **whole batch** (gsb.md §2, §7.11): every image's
/// P' and v' are computed before any is thresholded, so the result depends on the batch as
/// the training graph's does. In float mode steps 1, 3–5 use sgemm on the dequantized values.
final class GSBAttention: AttentionCore {
    let g: AttentionGeometry
    let queryShift: [Float], keyShift: [Float], valueShift: [Float]
    let scoreScale: Float
    let attentionBias: [Float]
    let attentionScales: [Float]
    let valueScales: [Float]
    let thresholds: [Float]
    let floatKernels: Bool

    /// Packed operands of one (image, head) pair, reused while the batch size stays.
    private final class Slot {
        let q: PackedBinaryMatrix, k: PackedBinaryMatrix, kPanels: PackedBinaryWeights
        let a: PackedBinaryMatrix, v: PackedBinaryMatrix, vPanels: PackedBinaryWeights
        init(_ g: AttentionGeometry) {
            q = PackedBinaryMatrix(rows: g.tokens, k: g.headDim)
            k = PackedBinaryMatrix(rows: g.tokens, k: g.headDim)
            kPanels = PackedBinaryWeights(k)
            a = PackedBinaryMatrix(rows: g.tokens, k: g.tokens, planes: 3, encoding: .unsigned)
            v = PackedBinaryMatrix(rows: g.headDim, k: g.tokens, planes: 3, encoding: .signed)
            vPanels = PackedBinaryWeights(v)
        }
    }
    private var slots: [Slot] = []

    init(_ g: AttentionGeometry, queryShift: [Float], keyShift: [Float], valueShift: [Float], scoreScale: Float,
         attentionBias: [Float], attentionScales: [Float], valueScales: [Float], thresholds: [Float], floatKernels: Bool) {
        self.g = g
        self.queryShift = queryShift
        self.keyShift = keyShift
        self.valueShift = valueShift
        self.scoreScale = scoreScale
        self.attentionBias = attentionBias
        self.attentionScales = attentionScales
        self.valueScales = valueScales
        self.thresholds = thresholds
        self.floatKernels = floatKernels
    }

    func run(qkv: UnsafePointer<Float>, batch: Int, into context: UnsafeMutablePointer<Float>,
             workspace: Workspace, profiler: EngineProfiler) {
        let (n, d, h, c) = (g.tokens, g.headDim, g.heads, g.dim)
        let items = batch * h
        let probabilities = workspace.floats("attention.scores", items * n * n)
        // v + b_v per (image, head), transposed to [d, N] so that V̂ packs along contiguous tokens.
        let values = workspace.floats("attention.values", items * d * n)
        if !floatKernels && slots.count != items { slots = (0..<items).map { _ in Slot(g) } }
        // Per item: max of P', min and max of v'.
        var extremes = [Float](repeating: 0, count: 3 * items)
        // Pass 1: P' = softmax(scores) + B_att per (image, head), and v' = v + b_v.
        profiler.measure(floatKernels ? "attention scores (sgemm) + softmax" : "attention scores (binary) + softmax") {
            extremes.withUnsafeMutableBufferPointer { e in
                attentionBias.withUnsafeBufferPointer { bias in
                    valueShift.withUnsafeBufferPointer { shift in
                        Parallel.forEach(items) { item in
                            let (b, head) = (item / h, item % h)
                            let s = probabilities + item * n * n
                            scores(qkv, image: b, head: head, item: item, into: s, workspace: workspace)
                            e[3 * item] = bv_softmax_bias_max_rows(s, s, bias.baseAddress! + head * n * n, n, n, 1)
                            var (lo, hi) = (Float.infinity, -Float.infinity)
                            bv_transpose_add_shift_minmax(g.pointer(qkv, image: b, part: 2, head: head), g.qkvStride,
                                                          shift.baseAddress! + head * d, values + item * d * n, n, d, &lo, &hi)
                            (e[3 * item + 1], e[3 * item + 2]) = (lo, hi)
                        }
                    }
                }
            }
        }
        let attentionMax = stride(from: 0, to: 3 * items, by: 3).map { extremes[$0] }.max() ?? 0
        let vMin = stride(from: 1, to: 3 * items, by: 3).map { extremes[$0] }.min() ?? 0
        let vMax = stride(from: 2, to: 3 * items, by: 3).map { extremes[$0] }.max() ?? 0
        // GSB_A / GSB_V thresholds from the batch-global extremes (float32(t)·extreme).
        let aBounds = [attentionScales[0] * 0.5, thresholds[0] * attentionMax, thresholds[1] * attentionMax]
        let (a1, a2, a3) = (valueScales[0], valueScales[1], valueScales[2])
        let vPlaneScales = [a1 + a2 / 2 + a3 / 2, a2 / 2, a3 / 2]
        let vUpper = thresholds.map { $0 * vMax }, vLower = thresholds.map { $0 * vMin }
        profiler.measure(floatKernels ? "attention context (sgemm)" : "attention context (binary, 3×3 planes)") {
            Parallel.forEach(items) { item in
                let (b, head) = (item / h, item % h)
                let p = probabilities + item * n * n
                let out = context + b * n * c + head * d
                let v = values + item * d * n
                if floatKernels {
                    floatContext(p, v, into: out, workspace: workspace, item: item, aBounds: aBounds, vUpper: vUpper, vLower: vLower)
                    return
                }
                let slot = slots[item]
                bv_pack_three_thresholds_rows(p, n, Int32(n), Int32(n), aBounds, slot.a.words.pointer, slot.a.wordsPerRow,
                                              slot.a.planeStride, slot.a.rowCounts!.pointer)
                slot.a.planeScales = attentionScales
                bv_pack_gsb_planes_rows(v, n, Int32(d), Int32(n), vUpper, vLower, slot.v.words.pointer, slot.v.wordsPerRow,
                                        slot.v.planeStride)
                slot.v.planeScales = vPlaneScales
                slot.vPanels.repack(from: slot.v)
                BinaryGEMM.multiply(slot.a, slot.vPanels, into: out, ldc: c)
            }
        }
    }

    /// Scores `α_q·α_k·d^−½·q̂·k̂ᵀ` of one (image, head) into `s` [N, N].
    private func scores(_ qkv: UnsafePointer<Float>, image b: Int, head: Int, item: Int, into s: UnsafeMutablePointer<Float>,
                        workspace: Workspace) {
        let (n, d) = (g.tokens, g.headDim)
        let q = g.pointer(qkv, image: b, part: 0, head: head), k = g.pointer(qkv, image: b, part: 1, head: head)
        queryShift.withUnsafeBufferPointer { qs in
            keyShift.withUnsafeBufferPointer { ks in
                if floatKernels {
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * n * d)
                    defer { scratch.deallocate() }
                    RowProducer.dequantize(.sign(shift: nil, keepZeros: true), shifted(q, qs.baseAddress! + head * d, into: scratch),
                                           rows: n, k: d, into: scratch)
                    RowProducer.dequantize(.sign(shift: nil, keepZeros: true), shifted(k, ks.baseAddress! + head * d, into: scratch + n * d),
                                           rows: n, k: d, into: scratch + n * d)
                    BLAS.gemm(transposeB: true, m: n, n: n, k: d, alpha: scoreScale, a: scratch, lda: d, b: scratch + n * d, ldb: d,
                              c: s, ldc: n)
                    return
                }
                let slot = slots[item]
                let path = Int32(BinaryKernels.activePath.rawValue)
                bv_pack_signs(q, g.qkvStride, 1, Int32(n), Int32(d), qs.baseAddress! + head * d, slot.q.words.pointer,
                              slot.q.wordsPerRow, nil, nil, path)
                bv_pack_signs(k, g.qkvStride, 1, Int32(n), Int32(d), ks.baseAddress! + head * d, slot.k.words.pointer,
                              slot.k.wordsPerRow, nil, nil, path)
                slot.kPanels.repack(from: slot.k)
                BinaryGEMM.multiply(slot.q, slot.kPanels, into: s, transform: OutputTransform(scale: scoreScale))
            }
        }

        func shifted(_ x: UnsafePointer<Float>, _ shift: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
            for r in 0..<n { for j in 0..<d { out[r * d + j] = x[r * g.qkvStride + j] + shift[j] } }
            return UnsafePointer(out)
        }
    }

    /// Float mode of steps 3–5: the dequantized Â and v̂ (the training forward's formulas) and sgemm.
    private func floatContext(_ p: UnsafePointer<Float>, _ v: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                              workspace: Workspace, item: Int, aBounds: [Float], vUpper: [Float], vLower: [Float]) {
        let (n, d, c) = (g.tokens, g.headDim, g.dim)
        let a = UnsafeMutablePointer<Float>.allocate(capacity: n * n + n * d)   // Â, then v̂ [N, d]
        defer { a.deallocate() }
        let vh = a + n * n
        let (c1, c2, c3) = (attentionScales[0], attentionScales[1], attentionScales[2])
        for i in 0..<(n * n) {
            let x = p[i]
            var y = c1 * min(max((x / c1).rounded(.toNearestOrEven), 0), 1)
            if x > aBounds[1] { y += c2 }
            if x > aBounds[2] { y += c3 }
            a[i] = y
        }
        let (v1, v2, v3) = (valueScales[0], valueScales[1], valueScales[2])
        for r in 0..<n {
            for j in 0..<d {
                let x = v[j * n + r]
                var level = v1
                if x > vUpper[0] || x < vLower[0] { level += v2 }
                if x > vUpper[1] || x < vLower[1] { level += v3 }
                vh[r * d + j] = (x > 0 ? level : (x < 0 ? -level : 0))
            }
        }
        BLAS.gemm(m: n, n: d, k: n, a: a, lda: n, b: vh, ldb: d, c: out, ldc: c)
    }
}
