import BitViTPlatform
import CBitKernels

/// The inference graph of the DeiT-style families, built from a validated `ModelFile`:
/// patch embedding → [cls, (dist), patches] + position embedding → blocks → final LayerNorm
/// on the class (and distillation) tokens → heads (mean of both in evaluation).
///
/// Each block is `x += proj(attention(qkv(LN1(x))))`, `x += fc2(GELU(fc1(LN2(x))))`, where
/// the LayerNorms and the GELU are fused into the encoding of the next layer's input (sign
/// bits, threshold bits, int8 codes or floats, see `TokenLinear`) and the output projections
/// accumulate into the residual stream inside their GEMM's output transform.
final class ViTRuntime {
    struct Block {
        let norm1: (weight: AlignedBuffer<Float>, bias: AlignedBuffer<Float>)
        let norm2: (weight: AlignedBuffer<Float>, bias: AlignedBuffer<Float>)
        let qkv: TokenLinear, proj: TokenLinear, fc1: TokenLinear, fc2: TokenLinear
        let attention: AttentionCore
    }

    let v: ViTArchitecture
    let family: ExportFamily
    let patchEmbedding: TokenLinear
    let classToken: [Float]
    let distillationToken: [Float]?
    let positions: [Float]
    let blocks: [Block]
    let finalNorm: (weight: AlignedBuffer<Float>, bias: AlignedBuffer<Float>)
    let heads: [TokenLinear]

    init(_ file: ModelFile, floatKernels: Bool, int8Digits: Int) throws {
        let meta = file.metadata
        guard let v = meta.vit else { throw BitViTError.malformed(file: file.path, reason: "no ViT architecture") }
        self.v = v
        family = meta.family
        let b = ViTLayerBuilder(file: file, family: family, floatKernels: floatKernels, int8Digits: int8Digits)
        patchEmbedding = try b.patchEmbedding(v)
        classToken = try file.floats("cls_token")
        distillationToken = v.distilled ? try file.floats("dist_token") : nil
        positions = try file.floats("pos_embed")
        let g = AttentionGeometry(tokens: v.tokens, heads: v.heads, headDim: v.headDim)
        blocks = try (0..<v.depth).map { i in
            let p = "blocks.\(i)."
            return Block(norm1: try b.norm(p + "norm1"), norm2: try b.norm(p + "norm2"),
                         qkv: try b.linear(p + "attn.qkv", v), proj: try b.linear(p + "attn.proj", v),
                         fc1: try b.linear(p + "mlp.fc1", v), fc2: try b.linear(p + "mlp.fc2", v),
                         attention: try b.attention(p + "attn.", g, v))
        }
        finalNorm = try b.norm("norm")
        heads = try (v.distilled ? ["head", "head_dist"] : ["head"]).map { try b.head($0, v) }
    }

    var classes: Int { v.classes }

    /// Logits `[batch, classes]` of images `[batch, inChannels, imageSize, imageSize]`.
    /// Parallel regions run on `Parallel`'s spinning workers: a forward pass forks and joins
    /// about 7 times per block, each job tens of microseconds at batch 1. GSB batches (whose
    /// masks couple the images) run in lockstep on several workers when the profiler is off.
    func logits(_ images: UnsafePointer<Float>, batch: Int, workspace: Workspace, profiler: EngineProfiler) -> [Float] {
        Parallel.withSpinningWorkers {
            let workers = min(Parallel.threadCount, batch)
            if family == .gsb && workers > 1 && !profiler.isEnabled && !Parallel.isInsideRegion {
                return lockstep(images, batch: batch, workers: workers)
            }
            return forward(images, batch: batch, workspace: workspace, profiler: profiler)
        }
    }

    private func forward(_ images: UnsafePointer<Float>, batch: Int, workspace: Workspace, profiler: EngineProfiler) -> [Float] {
        workspace.prepare(batch: batch)
        profiler.measure("patch embedding (\(patchEmbedding.kernelName))") { embed(images, batch: batch, workspace: workspace) }
        for block in blocks {
            let (qkv, context) = attentionInputs(block, batch: batch, workspace: workspace, profiler: profiler)
            block.attention.run(qkv: qkv, batch: batch, into: context, workspace: workspace, profiler: profiler)
            blockOutputs(block, batch: batch, workspace: workspace, profiler: profiler)
        }
        return profiler.measure("final LayerNorm + heads") { classify(batch: batch, workspace: workspace) }
    }

    /// Workspaces of the lockstep workers.
    private var lockstepWorkspaces: [Workspace] = []

    /// A GSB batch on `workers` workers, each with a contiguous part of the images and its own
    /// workspace, in lockstep: per block, every worker runs LN1, qkv and the first attention pass
    /// on its images; the extremes of the whole batch are combined; then every worker finishes
    /// the block. Two fork/joins per block instead of one per layer, and the same result as
    /// `forward` on the whole batch (the masks see the extremes of every image).
    private func lockstep(_ images: UnsafePointer<Float>, batch: Int, workers: Int) -> [Float] {
        while lockstepWorkspaces.count < workers { lockstepWorkspaces.append(Workspace()) }
        let spaces = lockstepWorkspaces
        let parts = (0..<workers).map { w in (batch * w / workers)..<(batch * (w + 1) / workers) }
        let quiet = EngineProfiler()
        let imageValues = v.inChannels * v.imageSize * v.imageSize
        Parallel.forPartitions(workers) { w in
            spaces[w].prepare(batch: parts[w].count)
            embed(images + parts[w].lowerBound * imageValues, batch: parts[w].count, workspace: spaces[w])
        }
        let extremes = UnsafeMutableBufferPointer<GSBPackedAttention.Extremes>.allocate(capacity: workers)
        defer { extremes.deallocate() }
        for block in blocks {
            guard let attention = block.attention as? GSBPackedAttention else { preconditionFailure("lockstep: GSB attention expected") }
            Parallel.forPartitions(workers) { w in
                let (qkv, _) = attentionInputs(block, batch: parts[w].count, workspace: spaces[w], profiler: quiet)
                extremes[w] = attention.firstPass(qkv: qkv, batch: parts[w].count, workspace: spaces[w], profiler: quiet)
            }
            let batchExtremes = GSBPackedAttention.Extremes.combine(Array(extremes))
            Parallel.forPartitions(workers) { w in
                let (qkv, context) = attentionInputs(block, batch: parts[w].count, workspace: spaces[w], profiler: quiet, encode: false)
                attention.secondPass(qkv: qkv, batch: parts[w].count, extremes: batchExtremes, into: context, workspace: spaces[w],
                                     profiler: quiet)
                blockOutputs(block, batch: parts[w].count, workspace: spaces[w], profiler: quiet)
            }
        }
        var out = [Float](repeating: 0, count: batch * v.classes)
        out.withUnsafeMutableBufferPointer { o in
            Parallel.forPartitions(workers) { w in
                let logits = classify(batch: parts[w].count, workspace: spaces[w])
                (o.baseAddress! + parts[w].lowerBound * v.classes).update(from: logits, count: logits.count)
            }
        }
        return out
    }

    /// The residual stream `[B·N, C]` of the workspace's batch.
    private func residual(_ batch: Int, _ workspace: Workspace) -> UnsafeMutablePointer<Float> {
        workspace.floats("residual", batch * v.tokens * v.dim)
    }

    /// LN1 encoded into qkv's input and the qkv product (`encode: false`: only the buffers);
    /// returns the qkv `[B·N, 3C]` and context `[B·N, C]` buffers.
    private func attentionInputs(_ block: Block, batch: Int, workspace: Workspace, profiler: EngineProfiler,
                                 encode: Bool = true) -> (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) {
        let rows = batch * v.tokens, c = v.dim
        let x = residual(batch, workspace)
        let qkv = workspace.floats("qkv", rows * 3 * c), context = workspace.floats("context", rows * c)
        if encode {
            let ln1 = RowTransform.layerNorm(weight: block.norm1.weight.pointer, bias: block.norm1.bias.pointer, eps: v.layerNormEps)
            profiler.measure("LayerNorm + encode") { block.qkv.encode(x, rows: rows, stride: nil, transform: ln1, workspace: workspace) }
            profiler.measure("qkv " + block.qkv.kernelName) { block.qkv.multiply(rows: rows, into: qkv, ldy: nil, accumulate: false, workspace: workspace) }
        }
        return (qkv, context)
    }

    /// The rest of a block after attention: proj + residual, LN2, fc1, GELU, fc2 + residual.
    private func blockOutputs(_ block: Block, batch: Int, workspace: Workspace, profiler: EngineProfiler) {
        let rows = batch * v.tokens, c = v.dim
        let x = residual(batch, workspace)
        let context = workspace.floats("context", rows * c), hidden = workspace.floats("hidden", rows * v.mlpHidden)
        profiler.measure("encode (attention output)") { block.proj.encode(context, rows: rows, stride: nil, transform: .none, workspace: workspace) }
        profiler.measure("proj " + block.proj.kernelName + " + residual") {
            block.proj.multiply(rows: rows, into: x, ldy: nil, accumulate: true, workspace: workspace)
        }
        let ln2 = RowTransform.layerNorm(weight: block.norm2.weight.pointer, bias: block.norm2.bias.pointer, eps: v.layerNormEps)
        profiler.measure("LayerNorm + encode") { block.fc1.encode(x, rows: rows, stride: nil, transform: ln2, workspace: workspace) }
        if let fc1 = block.fc1 as? BinaryLinear, let fc2 = block.fc2 as? BinaryLinear, fc2.geluFold != nil,
           profiler.measure("fc1 binary GEMM → fc2 input bits (GELU folded)", {
               fc1.multiply(rows: rows, encodingFor: fc2, scratch: hidden, workspace: workspace)
           }) {
            // GSB: fc2's input bits came straight out of fc1's GEMM.
        } else if let fc1 = block.fc1 as? RowBlockLinear, let fc2 = block.fc2 as? BinaryLinear, fc2.foldsGELU {
            // The W1A1 baseline: fc1's output in blocks of about 128 KB (whole 8-row tiles of the
            // GEMM), each packed into fc2's input signs while in cache; GELU is never evaluated.
            let blockRows = max(8, ((1 << 15) / v.mlpHidden + 7) / 8 * 8)
            let fc1Blocks = RowTransform.custom(blockRows: blockRows) { start, count, out in
                fc1.multiply(rows: start..<(start + count), of: rows, into: out, workspace: workspace)
            }
            profiler.measure("fc1 " + fc1.kernelName + " → fc2 input signs (GELU folded)") {
                fc2.encode(geluOf: hidden, rows: rows, stride: nil, producer: fc1Blocks, workspace: workspace)
            }
        } else {
            profiler.measure("fc1 " + block.fc1.kernelName) { block.fc1.multiply(rows: rows, into: hidden, ldy: nil, accumulate: false, workspace: workspace) }
            profiler.measure("GELU + encode") {
                block.fc2.encode(hidden, rows: rows, stride: nil, transform: .gelu(clip: v.mlpClip), workspace: workspace)
            }
        }
        profiler.measure("fc2 " + block.fc2.kernelName + " + residual") {
            block.fc2.multiply(rows: rows, into: x, ldy: nil, accumulate: true, workspace: workspace)
        }
    }

    /// Patch embedding (im2col + GEMM) and token assembly into the residual stream `[B·N, C]`.
    private func embed(_ images: UnsafePointer<Float>, batch: Int, workspace: Workspace) {
        let x = residual(batch, workspace)
        let (s, p, cin, c, n) = (v.imageSize, v.patchSize, v.inChannels, v.dim, v.tokens)
        let grid = v.gridSize, patches = v.patches, k = v.patchInputs
        let columns = workspace.floats("patches", batch * patches * k)
        Parallel.forEach(batch * patches, minimumPerThread: 64) { row in
            let (b, cell) = (row / patches, row % patches)
            let (py, px) = (cell / grid, cell % grid)
            let out = columns + row * k
            for ch in 0..<cin {
                for ky in 0..<p {
                    let src = images + ((b * cin + ch) * s + py * p + ky) * s + px * p
                    (out + (ch * p + ky) * p).update(from: src, count: p)
                }
            }
        }
        let embedded = workspace.floats("patch embedding", batch * patches * c)
        patchEmbedding.encode(columns, rows: batch * patches, stride: nil, transform: .none, workspace: workspace)
        patchEmbedding.multiply(rows: batch * patches, into: embedded, ldy: nil, accumulate: false, workspace: workspace)
        let prefix = n - patches
        positions.withUnsafeBufferPointer { pos in
            classToken.withUnsafeBufferPointer { cls in
                (distillationToken ?? classToken).withUnsafeBufferPointer { dist in
                    for b in 0..<batch {
                        for t in 0..<n {
                            let row = x + (b * n + t) * c, position = pos.baseAddress! + t * c
                            let source = t >= prefix ? UnsafePointer(embedded + (b * patches + t - prefix) * c)
                                : (t == 0 ? cls.baseAddress! : dist.baseAddress!)
                            for j in 0..<c { row[j] = source[j] + position[j] }
                        }
                    }
                }
            }
        }
    }

    /// Final LayerNorm of the class (and distillation) token rows, the heads, their mean.
    private func classify(batch: Int, workspace: Workspace) -> [Float] {
        let x = residual(batch, workspace)
        let (n, c, k) = (v.tokens, v.dim, v.classes)
        let ln = RowTransform.layerNorm(weight: finalNorm.weight.pointer, bias: finalNorm.bias.pointer, eps: v.layerNormEps)
        var total = [Float](repeating: 0, count: batch * k)
        let out = workspace.floats("head output", batch * k)
        for (t, head) in heads.enumerated() {
            head.encode(x + t * c, rows: batch, stride: n * c, transform: ln, workspace: workspace)
            head.multiply(rows: batch, into: out, ldy: nil, accumulate: false, workspace: workspace)
            for i in 0..<(batch * k) { total[i] += out[i] }
        }
        if heads.count == 2 { for i in 0..<total.count { total[i] *= 0.5 } }
        return total
    }
}
