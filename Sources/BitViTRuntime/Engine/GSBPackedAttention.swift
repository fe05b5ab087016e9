import BitViTPlatform
import CBitKernels

/// GSB stage 2's attention (docs/reference/gsb.md §5.2 steps 2–7) on the bit kernels:
///
/// 1. `q̂ = sgn(q + b_q)`, `k̂ = sgn(k + b_k)` packed per image and head (K = d);
/// 2. per query row, in one pass while the row is in L1 (`bv_gsb_attention_rows`): the scores
///    `α_q·α_k·d^−½·(q̂·k̂ᵀ)` by XNOR-popcount, `P' = softmax(scores) + B_att` in float, GSB_A's
///    first plane `P' > α1/2` and the candidates of the other two (`P' > min(t)·max of the row`);
/// 3. once M is known, GSB_A's planes `P' > t1·M`, `P' > t2·M` from the candidates only
///    (`bv_gsb_mask_planes_rows`); weights α1, α2, α3;
/// 4. GSB_V: `v̂ = sgn(v')(α1 + α2·T1 + α3·T2)` as three ±1 planes packed straight into the
///    GEMM's panel layout (`bv_pack_gsb_value_panels`: tokens as K, no float transpose);
/// 5. `Â·v̂`: 3 × 3 plane products into the context; rows without group-2/3 elements skip
///    their pairs (they add exactly 0).
///
/// M (and V's max/min) are taken over the **whole batch** (docs/reference/gsb.md §3, §6.4): every image's
/// P' and v' are computed before any is thresholded, so the result depends on the batch as
/// the training graph's does. `run` does both passes on one batch; `firstPass` and `secondPass`
/// let several workers run parts of one batch with the extremes combined in between
/// (`ViTRuntime`'s lockstep batches). In float mode steps 1, 3–5 use sgemm on the dequantized values.
final class GSBPackedAttention: AttentionCore {
    let g: AttentionGeometry
    let queryShift: [Float], keyShift: [Float], valueShift: [Float]
    let scoreScale: Float
    let attentionBias: [Float]
    /// min_j B_att[h, i, j] per head and row [H, N] (a lower bound of each row's max P').
    let attentionBiasRowMin: [Float]
    let attentionScales: [Float]
    let valueScales: [Float]
    let thresholds: [Float]
    let floatKernels: Bool

    /// Packed operands of one (image, head) pair, reused while the batch size stays.
    private final class Slot {
        let q: PackedBinaryMatrix, k: PackedBinaryMatrix
        /// K̂ word-major (word w of key j at w·N + j) when d > 64; K̂'s own words otherwise.
        let kByWord: AlignedBuffer<UInt64>?
        /// GSB_A's planes (P' > α1/2, P' > t1·M, P' > t2·M) with their row counts.
        let a: PackedBinaryMatrix
        /// Per row, the elements that can be in groups 2 and 3 (`bv_gsb_attention_rows`).
        let candidates: AlignedBuffer<UInt64>
        let vPanels: PackedBinaryWeights
        init(_ g: AttentionGeometry) {
            q = PackedBinaryMatrix(rows: g.tokens, k: g.headDim)
            k = PackedBinaryMatrix(rows: g.tokens, k: g.headDim)
            kByWord = k.wordsPerRow > 1 ? AlignedBuffer(count: k.wordsPerRow * g.tokens) : nil
            a = PackedBinaryMatrix(rows: g.tokens, k: g.tokens, planes: 3, encoding: .unsigned)
            candidates = AlignedBuffer(count: g.tokens * a.wordsPerRow)
            vPanels = PackedBinaryWeights(PackedBinaryMatrix(rows: g.headDim, k: g.tokens, planes: 3, encoding: .signed), lookupTables: false)
        }
    }
    /// The slots of one call's (image, head) pairs, kept in the workspace.
    private final class SlotSet {
        var slots: [Slot] = []
    }

    /// What the second pass needs from the whole batch: max P' and the extremes of v'.
    struct Extremes {
        var attentionMax: Float
        var valueMin: Float
        var valueMax: Float

        /// The extremes of the union of the parts.
        static func combine(_ parts: [Extremes]) -> Extremes {
            Extremes(attentionMax: parts.map(\.attentionMax).max() ?? 0, valueMin: parts.map(\.valueMin).min() ?? 0,
                     valueMax: parts.map(\.valueMax).max() ?? 0)
        }
    }

    init(_ g: AttentionGeometry, queryShift: [Float], keyShift: [Float], valueShift: [Float], scoreScale: Float,
         attentionBias: [Float], attentionScales: [Float], valueScales: [Float], thresholds: [Float], floatKernels: Bool) {
        self.g = g
        self.queryShift = queryShift
        self.keyShift = keyShift
        self.valueShift = valueShift
        self.scoreScale = scoreScale
        self.attentionBias = attentionBias
        let n = g.tokens
        attentionBiasRowMin = (0..<(g.heads * n)).map { r in attentionBias[(r * n)..<((r + 1) * n)].min() ?? 0 }
        self.attentionScales = attentionScales
        self.valueScales = valueScales
        self.thresholds = thresholds
        self.floatKernels = floatKernels
    }

    func run(qkv: UnsafePointer<Float>, batch: Int, into context: UnsafeMutablePointer<Float>,
             workspace: Workspace, profiler: EngineProfiler) {
        let extremes = firstPass(qkv: qkv, batch: batch, workspace: workspace, profiler: profiler)
        secondPass(qkv: qkv, batch: batch, extremes: extremes, into: context, workspace: workspace, profiler: profiler)
    }

    private func slotSet(_ items: Int, _ workspace: Workspace) -> [Slot] {
        let set = workspace.object("gsb.slots") { SlotSet() }
        if set.slots.count != items { set.slots = (0..<items).map { _ in Slot(g) } }
        return set.slots
    }

    /// Pass 1 over `batch` images: P' into the workspace, and the images' extremes.
    func firstPass(qkv: UnsafePointer<Float>, batch: Int, workspace: Workspace, profiler: EngineProfiler) -> Extremes {
        let (n, d, h) = (g.tokens, g.headDim, g.heads)
        let items = batch * h
        let probabilities = workspace.floats("attention.scores", items * n * n)
        let slots = floatKernels ? [] : slotSet(items, workspace)
        // Per item: max of P', min and max of v' = v + b_v.
        var extremes = [Float](repeating: 0, count: 3 * items)
        // Pass 1: P' = softmax(scores) + B_att per (image, head), and the extremes of v'.
        profiler.measure(floatKernels ? "attention scores (sgemm) + softmax" : "attention scores (binary) + softmax") {
            extremes.withUnsafeMutableBufferPointer { e in
                attentionBias.withUnsafeBufferPointer { bias in
                    valueShift.withUnsafeBufferPointer { shift in
                        Parallel.forEach(items) { item in
                            let (b, head) = (item / h, item % h)
                            let s = probabilities + item * n * n
                            if floatKernels {
                                scores(qkv, image: b, head: head, into: s)
                                e[3 * item] = bv_softmax_bias_max_rows(s, s, bias.baseAddress! + head * n * n, n, n, 1)
                            } else {
                                e[3 * item] = attentionRows(qkv, image: b, head: head, slot: slots[item], bias: bias.baseAddress! + head * n * n, into: s)
                            }
                            var (lo, hi) = (Float.infinity, -Float.infinity)
                            bv_shift_minmax_rows(g.pointer(qkv, image: b, part: 2, head: head), g.qkvStride,
                                                 shift.baseAddress! + head * d, n, d, &lo, &hi, 0)
                            (e[3 * item + 1], e[3 * item + 2]) = (lo, hi)
                        }
                    }
                }
            }
        }
        return Extremes(attentionMax: stride(from: 0, to: 3 * items, by: 3).map { extremes[$0] }.max() ?? 0,
                        valueMin: stride(from: 1, to: 3 * items, by: 3).map { extremes[$0] }.min() ?? 0,
                        valueMax: stride(from: 2, to: 3 * items, by: 3).map { extremes[$0] }.max() ?? 0)
    }

    /// Pass 2 over the `batch` images of the last `firstPass` on `workspace`, with the extremes of
    /// the whole batch: GSB_A's other planes, V̂, Â·V̂ into `context`.
    func secondPass(qkv: UnsafePointer<Float>, batch: Int, extremes: Extremes, into context: UnsafeMutablePointer<Float>,
                    workspace: Workspace, profiler: EngineProfiler) {
        let (n, d, h, c) = (g.tokens, g.headDim, g.heads, g.dim)
        let items = batch * h
        let probabilities = workspace.floats("attention.scores", items * n * n)
        let slots = floatKernels ? [] : slotSet(items, workspace)
        let (attentionMax, vMin, vMax) = (extremes.attentionMax, extremes.valueMin, extremes.valueMax)
        // GSB_A / GSB_V thresholds from the batch-global extremes (float32(t)·extreme).
        let aBounds = [attentionScales[0] * 0.5, thresholds[0] * attentionMax, thresholds[1] * attentionMax]
        let (a1, a2, a3) = (valueScales[0], valueScales[1], valueScales[2])
        let vPlaneScales = [a1 + a2 / 2 + a3 / 2, a2 / 2, a3 / 2]
        let vUpper = thresholds.map { $0 * vMax }, vLower = thresholds.map { $0 * vMin }
        // The candidates of pass 1 hold every element of groups 2 and 3 when M ≥ 0.
        let candidatesCover = attentionMax >= 0 && candidateRatio >= 0
        profiler.measure(floatKernels ? "attention context (sgemm)" : "attention context (binary, 3×3 planes)") {
            valueShift.withUnsafeBufferPointer { shift in
                Parallel.forEach(items) { item in
                    let (b, head) = (item / h, item % h)
                    let p = probabilities + item * n * n
                    let out = context + b * n * c + head * d
                    let v = g.pointer(qkv, image: b, part: 2, head: head), vShift = shift.baseAddress! + head * d
                    if floatKernels {
                        floatContext(p, v, vShift, into: out, aBounds: aBounds, vUpper: vUpper, vLower: vLower)
                        return
                    }
                    let slot = slots[item], a = slot.a, counts = a.rowCounts!.pointer
                    if candidatesCover {
                        bv_gsb_mask_planes_rows(p, Int32(n), Int32(n), slot.candidates.pointer, a.wordsPerRow, aBounds[1], aBounds[2],
                                                a.words.pointer + a.planeStride, a.words.pointer + 2 * a.planeStride,
                                                counts + n, counts + 2 * n, 0)
                    } else {
                        bv_pack_three_thresholds_rows(p, n, Int32(n), Int32(n), aBounds, a.words.pointer, a.wordsPerRow,
                                                      a.planeStride, counts)
                    }
                    a.planeScales = attentionScales
                    // V̂'s three ±1 planes straight into the GEMM's panels (features as rows, tokens as K).
                    bv_pack_gsb_value_panels(v, g.qkvStride, vShift, Int32(n), Int32(d), vUpper, vLower, slot.vPanels.panels.pointer,
                                             slot.vPanels.panelDwords, slot.vPanels.planeStride, 0)
                    slot.vPanels.planeScales = vPlaneScales
                    BinaryGEMM.multiply(slot.a, slot.vPanels, into: out, ldc: c)
                }
            }
        }
    }

    /// min(t1, t2): pass 1 marks the elements above this fraction of their row's max.
    private var candidateRatio: Float { min(thresholds[0], thresholds[1]) }

    /// Pass 1 on the bit kernels for one (image, head): packs q̂ and k̂, then per query row the
    /// scores `α_q·α_k·d^−½·(d − 2·popcount(q̂ ^ k̂))`, `P' = softmax + B_att` into `p` [N, N],
    /// GSB_A's first plane and the candidates of the other two (`bv_gsb_attention_rows`).
    /// Returns max P'.
    private func attentionRows(_ qkv: UnsafePointer<Float>, image b: Int, head: Int, slot: Slot, bias: UnsafePointer<Float>,
                               into p: UnsafeMutablePointer<Float>) -> Float {
        let (n, d) = (g.tokens, g.headDim)
        let path = Int32(BinaryKernels.activePath.rawValue)
        let q = g.pointer(qkv, image: b, part: 0, head: head), k = g.pointer(qkv, image: b, part: 1, head: head)
        queryShift.withUnsafeBufferPointer { qs in
            keyShift.withUnsafeBufferPointer { ks in
                bv_pack_signs(q, g.qkvStride, 1, Int32(n), Int32(d), qs.baseAddress! + head * d, slot.q.words.pointer,
                              slot.q.wordsPerRow, nil, nil, path)
                bv_pack_signs(k, g.qkvStride, 1, Int32(n), Int32(d), ks.baseAddress! + head * d, slot.k.words.pointer,
                              slot.k.wordsPerRow, nil, nil, path)
            }
        }
        let words = slot.k.wordsPerRow
        var keys = UnsafePointer(slot.k.words.pointer)
        if let byWord = slot.kByWord {
            for j in 0..<n { for w in 0..<words { byWord[w * n + j] = slot.k.words[j * words + w] } }
            keys = UnsafePointer(byWord.pointer)
        }
        let a = slot.a
        return attentionBiasRowMin.withUnsafeBufferPointer { rowMin in
            bv_gsb_attention_rows(slot.q.words.pointer, slot.q.wordsPerRow, keys, n, Int32(words), Int32(n), Int32(n), Int32(d),
                                  scoreScale, bias, rowMin.baseAddress! + head * n, p, attentionScales[0] * 0.5, candidateRatio,
                                  a.words.pointer, slot.candidates.pointer, a.wordsPerRow, a.rowCounts!.pointer, 0)
        }
    }

    /// Float mode: scores `α_q·α_k·d^−½·q̂·k̂ᵀ` of one (image, head) into `s` [N, N] with sgemm.
    private func scores(_ qkv: UnsafePointer<Float>, image b: Int, head: Int, into s: UnsafeMutablePointer<Float>) {
        let (n, d) = (g.tokens, g.headDim)
        let q = g.pointer(qkv, image: b, part: 0, head: head), k = g.pointer(qkv, image: b, part: 1, head: head)
        queryShift.withUnsafeBufferPointer { qs in
            keyShift.withUnsafeBufferPointer { ks in
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * n * d)
                defer { scratch.deallocate() }
                RowProducer.dequantize(.sign(shift: nil, keepZeros: true), shifted(q, qs.baseAddress! + head * d, into: scratch),
                                       rows: n, k: d, into: scratch)
                RowProducer.dequantize(.sign(shift: nil, keepZeros: true), shifted(k, ks.baseAddress! + head * d, into: scratch + n * d),
                                       rows: n, k: d, into: scratch + n * d)
                BLAS.gemm(transposeB: true, m: n, n: n, k: d, alpha: scoreScale, a: scratch, lda: d, b: scratch + n * d, ldb: d,
                          c: s, ldc: n)
            }
        }

        func shifted(_ x: UnsafePointer<Float>, _ shift: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
            for r in 0..<n { for j in 0..<d { out[r * d + j] = x[r * g.qkvStride + j] + shift[j] } }
            return UnsafePointer(out)
        }
    }

    /// Float mode of steps 3–5: the dequantized Â and v̂ (the training forward's formulas) and
    /// sgemm. `v` is the head's values (row stride 3C), `shift` its b_v.
    private func floatContext(_ p: UnsafePointer<Float>, _ v: UnsafePointer<Float>, _ shift: UnsafePointer<Float>,
                              into out: UnsafeMutablePointer<Float>, aBounds: [Float], vUpper: [Float], vLower: [Float]) {
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
                let x = v[r * g.qkvStride + j] + shift[j]
                var level = v1
                if x > vUpper[0] || x < vLower[0] { level += v2 }
                if x > vUpper[1] || x < vLower[1] { level += v3 }
                vh[r * d + j] = (x > 0 ? level : (x < 0 ? -level : 0))
            }
        }
        BLAS.gemm(m: n, n: d, k: n, a: a, lda: n, b: vh, ldb: d, c: out, ldc: c)
    }
}
