import BitViTPlatform
import CBitKernels

/// MSMHA's token mixer in the engine (docs/reference/bhvit.md §3.6; `MSMHASelfAttention` + `MSMHAOutput` of
/// the training model), for one block, over normalized tokens `U` `[B·R², C]`:
///
/// 1. tokens: every 7×7 window (row-major windows, row-major inside) followed by the image's
///    `N1 = (R/7)²` pooled tokens `a1 ⊙ max + (1 − a1) ⊙ avg` (kernel 7, stride 7, padding 3:
///    cell o covers `[7o − 3, 7o + 4) ∩ [0, R)`, the average divides by 49, the max ignores
///    padding), then a true LayerNorm: `T` `[B·nW·(49 + N1), C]`;
/// 2. `M_j = RPReLU_j(BN_j(BinLinear_j(T + m_j)) + T)` for j = q, k, v (binary GEMMs with BN
///    folded into the output transform), `S_j = sgn(M_j + m2_j)` packed per head;
/// 3. per window and head (binary GEMM kernels): scores `S_q·S_kᵀ` by XNOR-popcount, softmax
///    of `scores/√d`, the QD codes `q = clamp(round(3A/α_h + z_h), 0, 3)` as two bit planes
///    (q = b0 + 2·b1) over the keys, and the context `α_h·Σ_p 2^p·(popcount(b_p) −
///    2·popcount(b_p ∧ v_c))` against `S_v` packed along the keys per channel: a 2-plane ×
///    1-plane binary product;
/// 4. `O = RPReLU_ctx(BN_ctx(ctx) + M_q + M_k + M_v)`;
/// 5. windows back to their pixels, pooled tokens averaged over the window copies and
///    nearest-upsampled, `A = π ⊙ fine + (1 − π) ⊙ coarse`;
/// 6. `LayerScale(RPReLU(BN(BinLinear(A + m_o)) + A))`, added to the residual stream.
///
/// Float kernels run the same function with sgemm on the ±1 floats (and the dequantized QD
/// values). Without QD (`attention: fp` models) the probabilities multiply `S_v` in float on
/// both paths.
final class MSMHARuntime {
    let channels: Int
    let side: Int
    let heads: Int
    let floatKernels: Bool
    let poolMix: AlignedBuffer<Float>
    let tokenNorm: (weight: AlignedBuffer<Float>, bias: AlignedBuffer<Float>)
    let projections: [BHViTBinaryLinear]
    let signMoves: [AlignedBuffer<Float>]
    /// QD step α_h and zero point z_h per head; nil: full-precision probabilities.
    let qd: (step: [Float], zero: [Float])?
    let contextNorm: ChannelAffine
    let contextRPReLU: RPReLUParameters
    let mix: AlignedBuffer<Float>
    let output: BHViTBinaryLinear
    let outputScale: LayerScaleParameters

    static let window = 7
    static let layerNormEps: Float = 1e-5

    init(_ b: BHViTLayerBuilder, prefix p: String, channels: Int, side: Int, heads: Int, quantized: Bool) throws {
        self.channels = channels
        self.side = side
        self.heads = heads
        floatKernels = b.floatKernels
        poolMix = try b.buffer(p + "attn.pool_mix")
        tokenNorm = (try b.buffer(p + "attn.token_norm.weight"), try b.buffer(p + "attn.token_norm.bias"))
        projections = try ["q", "k", "v"].map { try b.binaryLinear(p + "attn.\($0)") }
        signMoves = try ["q", "k", "v"].map { try b.buffer(p + "attn.\($0).sign_move") }
        qd = quantized ? (try b.file.floats(p + "attn.qd.step"), try b.file.floats(p + "attn.qd.zero")) : nil
        contextNorm = try b.affine(p + "attn.context_norm")
        contextRPReLU = try b.rprelu(p + "attn.context_rprelu")
        mix = try b.buffer(p + "attn.mix")
        output = try b.binaryLinear(p + "attn.out")
        outputScale = try b.layerScale(p + "attn.out.layerscale")
    }

    var cellsPerSide: Int { side / Self.window }
    var windowsPerImage: Int { cellsPerSide * cellsPerSide }
    /// Tokens per window: 49 window tokens + the pooled ones.
    var tokensPerWindow: Int { Self.window * Self.window + windowsPerImage }

    /// Adds the mixer's branch for normalized tokens `u` `[batch·R², C]` to the residual `x`.
    func run(_ u: UnsafePointer<Float>, residual x: UnsafeMutablePointer<Float>, batch: Int, workspace: Workspace,
             profiler: EngineProfiler) {
        let c = channels, t = tokensPerWindow, rows = batch * windowsPerImage * t
        let tokens = workspace.floats("msmha.tokens", rows * c)
        profiler.measure("MSMHA tokens (pool + LayerNorm)") { buildTokens(u, batch: batch, into: tokens, workspace: workspace) }
        var mixed: [UnsafeMutablePointer<Float>] = []
        for (j, projection) in projections.enumerated() {
            let m = workspace.floats("msmha.mixed\(j)", rows * c)
            profiler.measure("MSMHA q/k/v encode") { projection.linear.encode(tokens, rows: rows, stride: nil, transform: .none, workspace: workspace) }
            profiler.measure("MSMHA q/k/v " + projection.linear.kernelName) {
                projection.linear.multiply(rows: rows, into: m, ldy: nil, accumulate: false, workspace: workspace)
            }
            profiler.measure("MSMHA residual RPReLU") {
                BHViTRows.residualRPReLU(m, rows: rows, channels: c, projection.rprelu, source: tokens, sourceChannels: c)
            }
            mixed.append(m)
        }
        let context = workspace.floats("msmha.context", rows * c)
        if floatKernels {
            profiler.measure("MSMHA attention (sgemm)") { attendFloat(mixed, rows: rows, into: context, workspace: workspace) }
        } else {
            profiler.measure("MSMHA attention (bit products)") { attendBits(mixed, rows: rows, into: context, workspace: workspace) }
        }
        profiler.measure("MSMHA context BN + RPReLU") { combine(context, mixed, rows: rows) }
        let a = workspace.floats("msmha.merged", batch * side * side * c)
        profiler.measure("MSMHA coarse-to-fine merge") { merge(context, batch: batch, into: a, workspace: workspace) }
        let pixels = batch * side * side
        let y = workspace.floats("msmha.out", pixels * c)
        profiler.measure("MSMHA output encode") { output.linear.encode(a, rows: pixels, stride: nil, transform: .none, workspace: workspace) }
        profiler.measure("MSMHA output " + output.linear.kernelName) {
            output.linear.multiply(rows: pixels, into: y, ldy: nil, accumulate: false, workspace: workspace)
        }
        profiler.measure("MSMHA output RPReLU + LayerScale + residual") {
            BHViTRows.residualRPReLU(y, rows: pixels, channels: c, output.rprelu, source: a, sourceChannels: c)
            let s = outputScale.alpha.pointer, m = outputScale.move.pointer
            BHViTRows.forRanges(pixels, channels: c) { range in
                for r in range {
                    let yr = y + r * c, xr = x + r * c
                    for k in 0..<c { xr[k] = xr[k] + (yr[k] * s[k] + m[k]) }
                }
            }
        }
    }

    /// Window tokens and pooled tokens of every image, then the LayerNorm.
    private func buildTokens(_ u: UnsafePointer<Float>, batch: Int, into tokens: UnsafeMutablePointer<Float>, workspace: Workspace) {
        let c = channels, r = side, w = Self.window, g = cellsPerSide, nW = windowsPerImage, t = tokensPerWindow
        let pooled = workspace.floats("msmha.pooled", batch * nW * c)
        let a1 = poolMix.pointer
        // A cell reads up to 7×7 pixels of c channels: one cell per worker is already enough work.
        Parallel.forEach(batch * nW, minimumPerThread: max(1, RowProducer.valuesPerWorker / max(c * w * w, 1))) { cell in
            let (b, o) = (cell / nW, cell % nW)
            let (oy, ox) = (o / g, o % g)
            let ys = max(0, oy * w - 3)..<min(r, oy * w + 4), xs = max(0, ox * w - 3)..<min(r, ox * w + 4)
            let out = pooled + cell * c
            // Pixels outer, channels inner (contiguous); every channel still sums its pixels in
            // row-major order.
            let sums = UnsafeMutablePointer<Float>.allocate(capacity: c)
            defer { sums.deallocate() }
            out.update(repeating: -.infinity, count: c)
            sums.update(repeating: 0, count: c)
            for y in ys {
                for x in xs {
                    let v = u + (b * r * r + y * r + x) * c
                    for k in 0..<c {
                        out[k] = max(out[k], v[k])
                        sums[k] += v[k]
                    }
                }
            }
            for k in 0..<c {
                let average = sums[k] / Float(w * w)
                out[k] = out[k] * a1[k] + average * (1 - a1[k])
            }
        }
        let raw = workspace.floats("msmha.raw", batch * nW * t * c)
        let rows = batch * nW * t
        let weight = tokenNorm.weight.pointer, bias = tokenNorm.bias.pointer
        BHViTRows.forRanges(rows, channels: c) { range in
            for row in range {
                let (bw, i) = (row / t, row % t)
                let (b, wi) = (bw / nW, bw % nW)
                let source: UnsafePointer<Float>
                if i < w * w {
                    let y = (wi / g) * w + i / w, x = (wi % g) * w + i % w
                    source = u + (b * r * r + y * r + x) * c
                } else {
                    source = UnsafePointer(pooled + (b * nW + i - w * w) * c)
                }
                (raw + row * c).update(from: source, count: c)
            }
            bv_layernorm_forward_f32(raw + range.lowerBound * c, weight, bias, tokens + range.lowerBound * c, nil, nil,
                                     range.count, c, Self.layerNormEps)
        }
    }

    /// The operands of one (window, head) product, reused across windows, heads and calls.
    final class AttentionOperands {
        let queries: PackedBinaryMatrix
        let keyBits: PackedBinaryMatrix
        let keys: PackedBinaryWeights
        let valueBits: PackedBinaryMatrix
        let values: PackedBinaryWeights
        /// QD codes as planes q & 1 (weight 1) and q >> 1 (weight 2) over the keys.
        let weights: PackedBinaryMatrix
        let scores: AlignedBuffer<Float>

        init(tokens t: Int, headDim d: Int) {
            queries = PackedBinaryMatrix(rows: t, k: d)
            keyBits = PackedBinaryMatrix(rows: t, k: d)
            keys = PackedBinaryWeights(keyBits, lookupTables: false)
            valueBits = PackedBinaryMatrix(rows: d, k: t)
            values = PackedBinaryWeights(valueBits, lookupTables: false)
            weights = PackedBinaryMatrix(rows: t, k: t, planes: 2, encoding: .unsigned, planeScales: [1, 2])
            scores = AlignedBuffer(count: t * t)
        }
    }

    /// One operand set per worker, kept in the workspace (a workspace serves one caller at a time).
    final class OperandSets {
        var sets: [AttentionOperands] = []
    }

    /// Bit path of step 3 over every (window, head), on the binary GEMM kernels: `Ŝ_q·Ŝ_kᵀ`
    /// (±1 × ±1) and `Â·Ŝ_v` (two unsigned planes of weights 1 and 2 × ±1, times α_h in the
    /// output transform).
    private func attendBits(_ mixed: [UnsafeMutablePointer<Float>], rows: Int, into context: UnsafeMutablePointer<Float>,
                            workspace: Workspace) {
        let c = channels, h = heads, d = c / h, t = tokensPerWindow
        let tasks = (rows / t) * h
        let (mq, mk) = (UnsafePointer(mixed[0]), UnsafePointer(mixed[1]))
        let (sq, sk) = (signMoves[0].pointer, signMoves[1].pointer)
        // M_v + m2_v, packed per head along the tokens (a strided source) by the sign packer.
        let shiftedValues = workspace.floats("msmha.values", rows * c)
        BHViTRows.addChannels(mixed[2], signMoves[2].pointer, rows: rows, channels: c, into: shiftedValues)
        let scoreScale = 1 / Float(d).squareRoot()
        let qd = qd
        let parts = Parallel.isInsideRegion ? 1 : min(Parallel.threadCount, max(1, tasks / 2))
        let cache = workspace.object("msmha.operands.\(t)x\(d)") { OperandSets() }
        while cache.sets.count < parts { cache.sets.append(AttentionOperands(tokens: t, headDim: d)) }
        let operands = cache.sets
        Parallel.forPartitions(parts) { part in
            let o = operands[part]
            let scores = o.scores.pointer
            for task in (tasks * part / parts)..<(tasks * (part + 1) / parts) {
                let (bw, head) = (task / h, task % h)
                let base = bw * t, c0 = head * d
                BinaryPack.signs(mq + base * c + c0, rowStride: c, shift: sq + c0, into: o.queries)
                BinaryPack.signs(mk + base * c + c0, rowStride: c, shift: sk + c0, into: o.keyBits)
                o.keys.repack(from: o.keyBits)
                BinaryGEMM.multiply(o.queries, o.keys, into: scores)
                bv_softmax_rows_f32(scores, scores, t, t, scoreScale)
                // Ŝ_v along the keys: row = channel of the head, bit i = token i.
                BinaryPack.signs(shiftedValues + base * c + c0, rowStride: 1, kStride: c, into: o.valueBits)
                guard let qd else {
                    // Full-precision probabilities: ctx = A·S_v in float.
                    let v = o.valueBits.words.pointer, wordsPerKeys = o.valueBits.wordsPerRow
                    for i in 0..<t {
                        let out = context + (base + i) * c + c0
                        for ch in 0..<d {
                            var sum: Float = 0
                            for j in 0..<t {
                                let negative = (v[ch * wordsPerKeys + j >> 6] >> UInt64(j & 63)) & 1 == 1
                                sum += negative ? -scores[i * t + j] : scores[i * t + j]
                            }
                            out[ch] = sum
                        }
                    }
                    continue
                }
                o.values.repack(from: o.valueBits)
                // QD codes q = clamp(round(3A/α_h + z_h), 0, 3) (3A and the division as in training),
                // as the planes q & 1 and q >> 1 with their row counts.
                let step = qd.step[head], zero = qd.zero[head]
                for i in 0..<(t * t) { scores[i] *= 3 }
                bv_pack_quantized_planes(scores, t, 1, Int32(t), Int32(t), step, zero, 3, Int32(BV_CODES_BINARY),
                                         o.weights.words.pointer, o.weights.wordsPerRow, o.weights.planeStride,
                                         o.weights.rowCounts!.pointer)
                BinaryGEMM.multiply(o.weights, o.values, into: context + base * c + c0, ldc: c, transform: OutputTransform(scale: step))
            }
        }
    }

    /// Float path of step 3: sgemm per (window, head) on the ±1 floats.
    private func attendFloat(_ mixed: [UnsafeMutablePointer<Float>], rows: Int, into context: UnsafeMutablePointer<Float>,
                             workspace: Workspace) {
        let c = channels, h = heads, d = c / h, t = tokensPerWindow, windows = rows / t
        let signs = (0..<3).map { j -> UnsafeMutablePointer<Float> in
            let s = workspace.floats("msmha.signs\(j)", rows * c)
            BHViTRows.signs(mixed[j], shift: signMoves[j].pointer, rows: rows, channels: c, into: s)
            return s
        }
        let scores = workspace.floats("msmha.scores", t * t)
        let scoreScale = 1 / Float(d).squareRoot()
        for bw in 0..<windows {
            for head in 0..<h {
                let offset = bw * t * c + head * d
                BLAS.gemm(transposeB: true, m: t, n: t, k: d, a: signs[0] + offset, lda: c, b: signs[1] + offset, ldb: c,
                          c: scores, ldc: t)
                bv_softmax_rows_f32(scores, scores, t, t, scoreScale)
                if let qd {
                    let step = qd.step[head], zero = qd.zero[head]
                    for i in 0..<(t * t) {
                        scores[i] = step * min(max((scores[i] * 3 / step + zero).rounded(.toNearestOrEven), 0), 3)
                    }
                }
                BLAS.gemm(m: t, n: d, k: t, a: scores, lda: t, b: signs[2] + offset, ldb: c, c: context + offset, ldc: c)
            }
        }
    }

    /// `O = RPReLU_ctx(BN_ctx(ctx) + M_q + M_k + M_v)` in place in `context`.
    private func combine(_ context: UnsafeMutablePointer<Float>, _ mixed: [UnsafeMutablePointer<Float>], rows: Int) {
        let c = channels
        let s = contextNorm.scale.pointer, sh = contextNorm.shift.pointer
        let m1 = contextRPReLU.move1.pointer, a = contextRPReLU.slope.pointer, m2 = contextRPReLU.move2.pointer
        let (mq, mk, mv) = (mixed[0], mixed[1], mixed[2])
        BHViTRows.forRanges(rows, channels: c) { range in
            for r in range {
                let o = context + r * c, q = mq + r * c, k = mk + r * c, v = mv + r * c
                for j in 0..<c {
                    let u = (((o[j] * s[j] + sh[j]) + q[j]) + k[j]) + v[j] - m1[j]
                    o[j] = (max(u, 0) + a[j] * min(u, 0)) + m2[j]
                }
            }
        }
    }

    /// Step 5 into `a` `[batch·R², C]`.
    private func merge(_ o: UnsafePointer<Float>, batch: Int, into a: UnsafeMutablePointer<Float>, workspace: Workspace) {
        let c = channels, r = side, w = Self.window, g = cellsPerSide, nW = windowsPerImage, t = tokensPerWindow
        let coarse = workspace.floats("msmha.coarse", batch * nW * c)
        let inverse = 1 / Float(nW)
        for b in 0..<batch {
            for cell in 0..<nW {
                let out = coarse + (b * nW + cell) * c
                for k in 0..<c {
                    var s: Float = 0
                    for copy in 0..<nW { s += o[((b * nW + copy) * t + w * w + cell) * c + k] }
                    out[k] = s * inverse
                }
            }
        }
        let pi = mix.pointer
        BHViTRows.forRanges(batch * r * r, channels: c) { range in
            for row in range {
                let (b, p) = (row / (r * r), row % (r * r))
                let (y, x) = (p / r, p % r)
                let cell = (y / w) * g + x / w
                let fine = o + ((b * nW + cell) * t + (y % w) * w + x % w) * c
                let coarseRow = coarse + (b * nW + cell) * c
                let out = a + row * c
                for k in 0..<c { out[k] = fine[k] * pi[k] + coarseRow[k] * (1 - pi[k]) }
            }
        }
    }
}
