import BitViTPlatform
import CBitKernels

/// MSGDC's token mixer in the engine (docs/reference/bhvit.md §3.5): `Z = U + b`, three binary grouped
/// dilated convolutions of `sgn(Z)` (dilations 1, 3, 5), each `·α_o + bias` then RPReLU,
/// `G = BN(G1 + G2 + G3)` added to the residual without LayerScale.
final class MSGDCRuntime {
    let channels: Int
    let side: Int
    let floatKernels: Bool
    let move: AlignedBuffer<Float>
    let branches: [DilatedConvolutionBranch]
    let norm: ChannelAffine
    /// move1, slope, move2 of each branch's RPReLU in branch order, as `bv_bhvit_msgdc_residual_rows`
    /// takes them (pointers into `branches`, which own them).
    private let activations: [UnsafePointer<Float>?]

    init(_ b: BHViTLayerBuilder, prefix p: String, channels: Int, side: Int) throws {
        self.channels = channels
        self.side = side
        floatKernels = b.floatKernels
        move = try b.buffer(p + "conv.move")
        branches = try BHViTConfig.convolutionDilations.enumerated().map { i, dilation in
            let l = p + "conv\(i + 1)"
            return DilatedConvolutionBranch(signs: try b.file.tensor(l + ".weight"), alphas: try b.file.floats(l + ".output_scale"),
                                            bias: try b.file.floats(l + ".bias"), rprelu: try b.rprelu(l + ".rprelu"),
                                            dilation: dilation, floatKernels: b.floatKernels)
        }
        norm = try b.affine(p + "conv.norm")
        precondition(branches.count == 3, "MSGDC: three branches")
        activations = branches.flatMap { b -> [UnsafePointer<Float>?] in
            [UnsafePointer(b.rprelu.move1.pointer), UnsafePointer(b.rprelu.slope.pointer), UnsafePointer(b.rprelu.move2.pointer)]
        }
    }

    /// Adds `G` for normalized tokens `u` `[batch·R², C]` to the residual `x`.
    func run(_ u: UnsafePointer<Float>, residual x: UnsafeMutablePointer<Float>, batch: Int, workspace: Workspace,
             profiler: EngineProfiler) {
        let c = channels, pixels = side * side, rows = batch * pixels
        let outputs = (0..<branches.count).map { workspace.floats("msgdc.branch\($0)", rows * c) }
        if floatKernels {
            let signs = workspace.floats("msgdc.signs", rows * c)
            let columns = workspace.floats("msgdc.columns", pixels * 9 * c / 4)
            BHViTRows.signs(u, shift: move.pointer, rows: rows, channels: c, into: signs)
            profiler.measure("MSGDC convolutions (sgemm)") {
                for image in 0..<batch {
                    for (branch, out) in zip(branches, outputs) {
                        branch.run(floats: signs + image * pixels * c, side: side, columns: columns, into: out + image * pixels * c)
                    }
                }
            }
        } else {
            let bits = workspace.signedBits("msgdc.in", rows: pixels, k: c)
            for image in 0..<batch {
                profiler.measure("MSGDC pack signs") {
                    BinaryPack.signs(u + image * pixels * c, rowStride: c, shift: move.pointer, into: bits)
                }
                profiler.measure("MSGDC binary convolutions") {
                    for (branch, out) in zip(branches, outputs) { branch.run(bits: bits, side: side, into: out + image * pixels * c) }
                }
            }
        }
        profiler.measure("MSGDC RPReLU + BN + residual") { addToResidual(x, outputs, rows: rows) }
    }

    /// `x += BN(Σ_b RPReLU_b(outputs[b]))` over the three branches.
    private func addToResidual(_ x: UnsafeMutablePointer<Float>, _ outputs: [UnsafeMutablePointer<Float>], rows: Int) {
        let (c, s, t) = (channels, UnsafePointer(norm.scale.pointer), UnsafePointer(norm.shift.pointer))
        let (o1, o2, o3) = (UnsafePointer(outputs[0]), UnsafePointer(outputs[1]), UnsafePointer(outputs[2]))
        activations.withUnsafeBufferPointer { a in
            BHViTRows.forRanges(rows, channels: c) { range in
                let o = range.lowerBound * c
                bv_bhvit_msgdc_residual_rows(x + o, o1 + o, o2 + o, o3 + o, Int32(range.count), Int32(c), a.baseAddress!, s, t)
            }
        }
    }
}

/// One BHViT block in the engine (docs/reference/bhvit.md §3.5–3.7, §4):
///
///     U  = BN_before(X);   X1 = X + mixer(U)
///     U2 = BN_after(X1)
///     H1 = RPReLU(BN(BinLinear(U2 + m1)) + Tile_r(U2))
///     H2 = RPReLU(BN(BinLinear(H1 + m2)) + GroupMean_r(H1))
///     Y  = (X1 + LayerScale(H2)) + Σ_k LS_k(S_k(U2))      (shift branches in the order h3, w3, ch3, h5, w5, ch5)
///
/// on the residual stream `[batch·R², C]` in place.
final class BHViTBlockRuntime {
    enum Mixer {
        case convolution(MSGDCRuntime)
        case attention(MSMHARuntime)
    }

    let channels: Int
    let side: Int
    let ratio: Int
    let normBefore: ChannelAffine
    let normAfter: ChannelAffine
    let mixer: Mixer
    let fc1: BHViTBinaryLinear
    let fc2: BHViTBinaryLinear
    /// The MLP's LayerScale and the shift branches' LayerScales, interleaved in blocks of
    /// `BV_RESIDUAL_LANES` channels as `bv_bhvit_block_residual_rows` reads them.
    let residualParameters: AlignedBuffer<Float>
    let shiftBranches: Bool

    init(_ b: BHViTLayerBuilder, index: Int, stage: BHViTStageGeometry, shiftBranches: Bool, quantizedAttention: Bool) throws {
        let p = "blocks.\(index)."
        channels = stage.width
        side = stage.side
        ratio = stage.mlpRatio
        normBefore = try b.affine(p + "norm_before")
        normAfter = try b.affine(p + "norm_after")
        if stage.attention {
            mixer = .attention(try MSMHARuntime(b, prefix: p, channels: stage.width, side: stage.side, heads: stage.heads,
                                              quantized: quantizedAttention))
        } else {
            mixer = .convolution(try MSGDCRuntime(b, prefix: p, channels: stage.width, side: stage.side))
        }
        fc1 = try b.binaryLinear(p + "mlp.fc1")
        fc2 = try b.binaryLinear(p + "mlp.fc2")
        let mlpScale = try b.layerScale(p + "mlp.layerscale")
        // Vectors of C values in the order the C row pass takes them: ls, lm, then (s_b, m_b) for
        // the six branches (`shift.scale` / `shift.move` are [6·C], branch-major).
        var vectors = [mlpScale.alpha.array, mlpScale.move.array]
        if shiftBranches {
            let (scale, move) = (try b.file.floats(p + "shift.scale"), try b.file.floats(p + "shift.move"))
            for branch in 0..<6 {
                vectors.append(Array(scale[(branch * channels)..<((branch + 1) * channels)]))
                vectors.append(Array(move[(branch * channels)..<((branch + 1) * channels)]))
            }
        }
        self.shiftBranches = shiftBranches
        residualParameters = BHViTBlockRuntime.interleave(vectors, lanes: Int(BV_RESIDUAL_LANES))
    }

    func run(_ x: UnsafeMutablePointer<Float>, batch: Int, workspace: Workspace, profiler: EngineProfiler) {
        let c = channels, rows = batch * side * side
        let u = workspace.floats("block.u", rows * c)
        profiler.measure("BN") { BHViTRows.affine(x, normBefore, rows: rows, channels: c, into: u) }
        switch mixer {
        case .convolution(let m): m.run(u, residual: x, batch: batch, workspace: workspace, profiler: profiler)
        case .attention(let m): m.run(u, residual: x, batch: batch, workspace: workspace, profiler: profiler)
        }
        profiler.measure("BN") { BHViTRows.affine(x, normAfter, rows: rows, channels: c, into: u) }
        profiler.measure("MLP fc1 encode") { fc1.linear.encode(u, rows: rows, stride: nil, transform: .none, workspace: workspace) }
        // H1 = RPReLU(fc1 + Tile(U2)) exists only in blocks of rows of about 128 KB of fc1
        // outputs, made while fc2's input is encoded from them, with GroupMean(H1) taken from the
        // same block: the hidden layer is never stored whole (on the bit path, not at all).
        let means = workspace.floats("block.groupMean", rows * c)
        let (wide, r, act, first) = (ratio * c, ratio, fc1.rprelu, fc1.linear)
        let blockRows = max(8, (1 << 15) / wide)
        func fc1Outputs(_ start: Int, _ count: Int, _ out: UnsafeMutablePointer<Float>) {
            first.multiply(rows: start..<(start + count), of: rows, into: out, workspace: workspace)
        }
        profiler.measure("MLP fc1 \(fc1.linear.kernelName) + RPReLU (Tile) + GroupMean + fc2 encode") {
            if let second = fc2.linear as? BinaryLinear, case .sign(let shift?, false) = second.encoding {
                second.encode(u, rows: rows, transform: .custom(blockRows: blockRows, fill: fc1Outputs), workspace: workspace) { block, start, count, bits, wordsPerRow in
                    let status = bv_bhvit_mlp_hidden_rows(block, Int32(count), Int32(wide), u + start * c, Int32(c), act.move1.pointer,
                                                          act.slope.pointer, act.move2.pointer, Int32(r), means + start * c, shift,
                                                          bits, wordsPerRow)
                    precondition(status == 0, "BHViT MLP: out of memory for a scratch row")
                }
            } else {
                let h1 = RowTransform.custom(blockRows: blockRows) { start, count, out in
                    fc1Outputs(start, count, out)
                    BHViTRows.tileRPReLU(out, rows: count, channels: wide, act, source: u + start * c, sourceChannels: c, into: out,
                                         groupMeans: (r, means + start * c))
                }
                fc2.linear.encode(u, rows: rows, stride: nil, transform: h1, workspace: workspace)
            }
        }
        let y = workspace.floats("block.mlp", rows * c)
        profiler.measure("MLP fc2 " + fc2.linear.kernelName) {
            fc2.linear.multiply(rows: rows, into: y, ldy: nil, accumulate: false, workspace: workspace)
        }
        profiler.measure("MLP RPReLU (GroupMean)") {
            BHViTRows.residualRPReLU(y, rows: rows, channels: c, fc2.rprelu, source: means, sourceChannels: c)
        }
        profiler.measure("LayerScale + shift branches + residual") { addBranches(x, mlp: y, u2: u, batch: batch) }
    }

    /// `x = (x + LS(y)) + Σ_k LS_k(S_k(u2))` with circular indexing on the `side`×`side` grid.
    private func addBranches(_ x: UnsafeMutablePointer<Float>, mlp y: UnsafePointer<Float>, u2: UnsafePointer<Float>, batch: Int) {
        let (c, r, params, branches) = (channels, side, UnsafePointer(residualParameters.pointer), Int32(shiftBranches ? 1 : 0))
        BHViTRows.forRanges(batch * r * r, channels: c) { range in
            bv_bhvit_block_residual_rows(x, y, u2, Int32(r), Int32(c), params, branches, range.lowerBound, range.upperBound)
        }
    }

    /// Equal-length vectors interleaved in blocks of `lanes` elements: block kb holds lanes
    /// kb·lanes ..< (kb + 1)·lanes of every vector in turn, zero past the end.
    static func interleave(_ vectors: [[Float]], lanes: Int) -> AlignedBuffer<Float> {
        let n = vectors.first?.count ?? 0, blocks = (n + lanes - 1) / lanes
        let out = AlignedBuffer<Float>(count: blocks * vectors.count * lanes)
        for (v, vector) in vectors.enumerated() {
            precondition(vector.count == n, "interleave: vectors of different lengths")
            for (k, value) in vector.enumerated() { out.pointer[((k / lanes) * vectors.count + v) * lanes + k % lanes] = value }
        }
        return out
    }
}

/// What a block needs to know about its stage.
struct BHViTStageGeometry {
    var width: Int
    var side: Int
    var mlpRatio: Int
    var heads: Int
    var attention: Bool
}
