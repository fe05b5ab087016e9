import BitViTPlatform
import CBitKernels

/// BHViT's inference graph, built from a validated `ModelFile` (`BHViTManifest` names), on the
/// residual stream of tokens `[batch·R², C]` (row `b·R² + y·R + x`, channels last):
///
///     stem (im2col + sgemm, BN folded) → GELU → + position embedding
///     for each stage: blocks (MSGDC or MSMHA mixer, binary MLP, shift branches),
///                     then downsampling (FP 2×2/s2 convolution, or binary with its pooled residual)
///     BN → mean over tokens → classifier
///
/// The binary layers run on the bit kernels (binary GEMM with BN folded into the output
/// transform, binary grouped dilated and 2×2 stride-2 convolutions on packed signs, QD
/// attention as 2-plane binary products); `floatKernels` runs the same function with sgemm on
/// the dequantized (±α) weights and float signs.
final class BHViTRuntime: EngineRuntime {
    struct Downsampling {
        let normIn: ChannelAffine
        let convolution: Downsampling2x2
        /// Binary downsampling only: the sign threshold and the RPReLU after `+ residual`.
        let move: AlignedBuffer<Float>?
        let rprelu: RPReLUParameters?
        let positions: AlignedBuffer<Float>
        let side: Int
    }

    let config: BHViTConfig
    let floatKernels: Bool
    let stemWeight: FloatWeightProduct
    let stemBias: AlignedBuffer<Float>
    let stemPositions: AlignedBuffer<Float>
    /// Blocks per stage.
    let stages: [[BHViTBlockRuntime]]
    let downsamplers: [Downsampling]
    let finalNorm: ChannelAffine
    let headWeight: AlignedBuffer<Float>
    let headBias: [Float]

    init(_ file: ModelFile, floatKernels: Bool) throws {
        guard let c = file.metadata.bhvit else { throw BitViTError.malformed(file: file.path, reason: "no BHViT architecture") }
        config = c
        self.floatKernels = floatKernels
        let b = BHViTLayerBuilder(file: file, floatKernels: floatKernels)
        let stem = try b.buffer("stem.weight")
        stemWeight = FloatWeightProduct(stem.pointer, out: c.stages[0].width, in: c.inChannels * c.stemKernel * c.stemKernel)
        stemBias = AlignedBuffer(try file.floats("stem.bias"))
        stemPositions = try b.buffer("stem.pos_embed")
        var stages: [[BHViTBlockRuntime]] = [], downsamplers: [Downsampling] = []
        var index = 0
        for (s, stage) in c.stages.enumerated() {
            let side = c.resolution(stage: s)
            let geometry = BHViTStageGeometry(width: stage.width, side: side, mlpRatio: stage.mlpRatio, heads: stage.heads,
                                              attention: stage.mixer == .attention)
            var blocks: [BHViTBlockRuntime] = []
            for _ in 0..<stage.depth {
                blocks.append(try BHViTBlockRuntime(b, index: index, stage: geometry, shiftBranches: c.shiftBranches,
                                                    quantizedAttention: c.attentionProbabilities == .quantizationDecomposition))
                index += 1
            }
            stages.append(blocks)
            if s + 1 < c.stages.count {
                let d = "downsample.\(s + 1).", next = c.stages[s + 1].width
                let convolution: Downsampling2x2
                var move: AlignedBuffer<Float>?, rprelu: RPReLUParameters?
                switch c.downsampling {
                case .fullPrecision:
                    convolution = Downsampling2x2(floatWeights: try file.floats(d + "weight"), out: next, in: stage.width,
                                                  bias: try file.floats(d + "bias"))
                case .binary:
                    convolution = Downsampling2x2(signs: try file.tensor(d + "weight"), scales: try file.floats(d + "output_scale"),
                                                  bias: try file.floats(d + "output_shift"), floatKernels: floatKernels)
                    move = try b.buffer(d + "move")
                    rprelu = try b.rprelu(d + "rprelu")
                }
                downsamplers.append(Downsampling(normIn: try b.affine(d + "norm_in"), convolution: convolution, move: move,
                                                 rprelu: rprelu, positions: try b.buffer(d + "pos_embed"), side: side))
            }
        }
        self.stages = stages
        self.downsamplers = downsamplers
        finalNorm = try b.affine("norm")
        headWeight = try b.buffer("head.weight")
        headBias = try file.floats("head.bias")
    }

    var classes: Int { config.classes }
    /// BatchNorms with running statistics: every image is computed on its own.
    var imagesAreIndependent: Bool { true }
    var inputShape: [Int] { [config.inChannels, config.imageSize, config.imageSize] }

    /// The forward on `Parallel`'s spinning workers (many short parallel regions per image).
    func logits(_ images: UnsafePointer<Float>, batch: Int, workspace: Workspace, profiler: EngineProfiler) -> [Float] {
        Parallel.withSpinningWorkers { forward(images, batch: batch, workspace: workspace, profiler: profiler) }
    }

    private func forward(_ images: UnsafePointer<Float>, batch: Int, workspace: Workspace, profiler: EngineProfiler) -> [Float] {
        workspace.prepare(batch: batch)
        var side = config.stemResolution, width = config.stages[0].width
        var x = workspace.floats("residual.0", batch * side * side * width)
        profiler.measure("stem (sgemm) + GELU") { stem(images, batch: batch, into: x, workspace: workspace) }
        for (s, blocks) in stages.enumerated() {
            for block in blocks { block.run(x, batch: batch, workspace: workspace, profiler: profiler) }
            if s < downsamplers.count {
                let d = downsamplers[s], next = d.convolution.outChannels
                let y = workspace.floats("residual.\(s + 1)", batch * (side / 2) * (side / 2) * next)
                profiler.measure(d.move == nil ? "downsampling (sgemm)" : "downsampling (binary)") {
                    downsample(x, d, batch: batch, into: y, workspace: workspace)
                }
                x = y
                side /= 2
                width = next
            }
        }
        return profiler.measure("BN + pooling + head") { classify(x, tokens: side * side, width: width, batch: batch, workspace: workspace) }
    }

    /// im2col of the NCHW images (channel-major columns, as `stem.weight`), sgemm with the
    /// folded BN, exact GELU, + position embedding.
    private func stem(_ images: UnsafePointer<Float>, batch: Int, into x: UnsafeMutablePointer<Float>, workspace: Workspace) {
        let (s, k, stride, cin) = (config.imageSize, config.stemKernel, config.stemStride, config.inChannels)
        let r = config.stemResolution, c = config.stages[0].width, cols = cin * k * k
        let rows = batch * r * r
        let columns = workspace.floats("stem.columns", rows * cols)
        BHViTRows.forRanges(rows, channels: cols) { range in
            for row in range {
                let (b, p) = (row / (r * r), row % (r * r))
                let (oy, ox) = (p / r, p % r)
                let out = columns + row * cols
                for ch in 0..<cin {
                    for ky in 0..<k {
                        let src = images + ((b * cin + ch) * s + oy * stride + ky) * s + ox * stride
                        (out + (ch * k + ky) * k).update(from: src, count: k)
                    }
                }
            }
        }
        stemWeight.multiply(rows: rows, columns, lda: cols, bias: stemBias.pointer, accumulate: false, into: x, ldc: c)
        let pos = stemPositions.pointer
        BHViTRows.forRanges(rows, channels: c) { range in
            for row in range {
                let xr = x + row * c
                bv_gelu_forward_f32(xr, xr, c)
                let pr = pos + (row % (r * r)) * c
                for j in 0..<c { xr[j] += pr[j] }
            }
        }
    }

    /// BN → 2×2/s2 convolution (→ + tiled average-pooled residual, RPReLU for the binary
    /// variant) → + position embedding, into `y` `[batch·(R/2)², C']`.
    private func downsample(_ x: UnsafePointer<Float>, _ d: Downsampling, batch: Int, into y: UnsafeMutablePointer<Float>,
                            workspace: Workspace) {
        let c = d.convolution.inChannels, out = d.convolution.outChannels, r = d.side, half = r / 2
        let pixels = r * r, outPixels = half * half
        let u = workspace.floats("down.u", batch * pixels * c)
        BHViTRows.affine(x, d.normIn, rows: batch * pixels, channels: c, into: u)
        if let move = d.move, !floatKernels {
            let bits = workspace.signedBits("down.in", rows: pixels, k: c)
            for b in 0..<batch {
                BinaryPack.signs(u + b * pixels * c, rowStride: c, shift: move.pointer, into: bits)
                d.convolution.run(bits: bits, side: r, into: y + b * outPixels * out)
            }
        } else {
            let source: UnsafePointer<Float>
            if let move = d.move {
                let signs = workspace.floats("down.signs", batch * pixels * c)
                BHViTRows.signs(u, shift: move.pointer, rows: batch * pixels, channels: c, into: signs)
                source = UnsafePointer(signs)
            } else {
                source = UnsafePointer(u)
            }
            let columns = workspace.floats("down.columns", outPixels * 4 * c)
            for b in 0..<batch {
                d.convolution.run(floats: source + b * pixels * c, side: r, columns: columns, into: y + b * outPixels * out)
            }
        }
        let pos = d.positions.pointer
        if let rprelu = d.rprelu {
            // The residual: 2×2 average pool of u, tiled to C' channels.
            let pooled = workspace.floats("down.pooled", batch * outPixels * c)
            BHViTRows.forRanges(batch * outPixels, channels: c) { range in
                for row in range {
                    let (b, p) = (row / outPixels, row % outPixels)
                    let (oy, ox) = (p / half, p % half)
                    let top = u + (b * pixels + 2 * oy * r + 2 * ox) * c, bottom = top + r * c
                    let o = pooled + row * c
                    for k in 0..<c { o[k] = (((top[k] + top[c + k]) + bottom[k]) + bottom[c + k]) / 4 }
                }
            }
            BHViTRows.residualRPReLU(y, rows: batch * outPixels, channels: out, rprelu, source: pooled, sourceChannels: c)
        }
        BHViTRows.forRanges(batch * outPixels, channels: out) { range in
            for row in range {
                let yr = y + row * out, pr = pos + (row % outPixels) * out
                for k in 0..<out { yr[k] += pr[k] }
            }
        }
    }

    /// BN over the last stage's tokens, their mean per image, the classifier.
    private func classify(_ x: UnsafePointer<Float>, tokens n: Int, width c: Int, batch: Int, workspace: Workspace) -> [Float] {
        let normalized = workspace.floats("head.normalized", batch * n * c)
        BHViTRows.affine(x, finalNorm, rows: batch * n, channels: c, into: normalized)
        let pooled = workspace.floats("head.pooled", batch * c)
        let inverse = 1 / Float(n)
        for b in 0..<batch {
            let o = pooled + b * c
            o.update(repeating: 0, count: c)
            for t in 0..<n {
                let row = normalized + (b * n + t) * c
                for k in 0..<c { o[k] += row[k] }
            }
            for k in 0..<c { o[k] *= inverse }
        }
        // The classifier: one dot product per image and class (a few images: cheaper than an sgemm call).
        let classes = config.classes, w = headWeight.pointer
        var out = [Float](repeating: 0, count: batch * classes)
        out.withUnsafeMutableBufferPointer { o in
            let logits = o.baseAddress!
            Parallel.forRanges(classes, minimumPerThread: max(1, (1 << 16) / max(c * batch, 1))) { range in
                for j in range {
                    let row = w + j * c
                    for b in 0..<batch {
                        let x = pooled + b * c
                        var acc = SIMD8<Float>(repeating: 0), k = 0
                        while k + 8 <= c {
                            acc += SIMD8.load(row, k) * SIMD8.load(x, k)
                            k += 8
                        }
                        var sum = acc.sum()
                        while k < c { sum += row[k] * x[k]; k += 1 }
                        logits[b * classes + j] = sum + headBias[j]
                    }
                }
            }
        }
        return out
    }
}
