import BitViTPlatform
import CBitKernels

/// A W1A1 linear layer on the bit kernels: the input rows are packed to ±1 signs (optionally
/// with a nonzero mask) or {0,1} threshold bits right after their producer, and
///
///     y = scale · α_n · Σ_k enc(x)_k · sgn(W)_nk + bias_n      (+ y with accumulate)
///
/// is one binary GEMM with the output transform fused (α_n per output channel for the W1A1
/// baseline, one folded `scale` = α_in·mean|W| for GSB).
final class BinaryLinear: RowBlockLinear {
    let inFeatures: Int
    let outFeatures: Int
    let weights: PackedBinaryWeights
    let bias: AlignedBuffer<Float>?
    let scale: Float
    let encoding: InputEncoding
    /// Thresholds on the pre-GELU values that replace `.gelu` + `.threshold` (GSB's fc2,
    /// `GELUThresholds`), used when the input arrives with the `.gelu` transform.
    let geluFold: (above: AlignedBuffer<Float>, below: AlignedBuffer<Float>)?
    /// Where GELU is negative and positive, replacing `.gelu` + `.sign` with zeros kept (the W1A1
    /// baseline's fc2: `sgn(GELU(h))` read off h, `GELUThresholds.signBounds`).
    let geluSigns: GELUThresholds.SignBounds?
    let owner: [AnyObject]
    var kernelName: String { "binary GEMM" }

    /// `signs`: the stored 1-bit weight rows (`StorageKind.bits1` layout).
    init(signs: StoredTensor, channelScales: [Float]?, bias: [Float]?, scale: Float, encoding: InputEncoding,
         geluFold: (above: [Float], below: [Float])? = nil, geluSigns: GELUThresholds.SignBounds? = nil,
         keepAlive: [AnyObject] = []) {
        let (rows, k, _) = signs.bitRows
        let bits = PackedBinaryMatrix(rows: rows, k: k, encoding: .signed)
        signs.unpackRows(into: bits.words.pointer)
        weights = PackedBinaryWeights(bits, channelScales: channelScales)
        inFeatures = k
        outFeatures = rows
        self.bias = bias.map { AlignedBuffer($0) }
        self.scale = scale
        self.encoding = encoding
        self.geluFold = geluFold.map { (AlignedBuffer($0.above), AlignedBuffer($0.below)) }
        self.geluSigns = geluSigns
        owner = keepAlive
        switch encoding {
        case .sign, .threshold: break
        default: preconditionFailure("BinaryLinear: inputs are signs or thresholds")
        }
    }

    private var isUnsigned: Bool { if case .threshold = encoding { return true } else { return false } }
    private var keepsZeros: Bool { if case .sign(_, true) = encoding { return true } else { return false } }

    fileprivate func operand(_ rows: Int, _ workspace: Workspace) -> PackedBinaryMatrix {
        isUnsigned ? workspace.unsignedBits("linear.in", rows: rows, k: inFeatures, planes: 1)
                   : workspace.signedBits("linear.in", rows: rows, k: inFeatures, mask: keepsZeros)
    }

    /// Whether `.gelu` inputs are encoded from the pre-GELU values (`geluFold` or `geluSigns`).
    var foldsGELU: Bool { geluFold != nil || (geluSigns != nil && keepsZeros) }

    func encode(_ x: UnsafePointer<Float>, rows: Int, stride: Int?, transform: RowTransform, workspace: Workspace) {
        if case .gelu = transform, foldsGELU {
            encode(geluOf: x, rows: rows, stride: stride, producer: .none, workspace: workspace)
            return
        }
        let m = operand(rows, workspace), k = inFeatures, wpr = m.wordsPerRow
        let path = Int32(BinaryKernels.activePath.rawValue)
        RowProducer.run(x, rows: rows, k: k, stride: stride, transform: transform) { block, r0, n in
            switch encoding {
            case .sign(let shift, _):
                bv_pack_signs(block, k, 1, Int32(n), Int32(k), shift, m.words.pointer + r0 * wpr, wpr,
                              m.mask.map { $0.pointer + r0 * wpr }, m.rowCounts.map { $0.pointer + r0 }, path)
            case .threshold(let shift, var t):
                bv_pack_thresholds(block, k, 1, Int32(n), Int32(k), shift, &t, 1, m.words.pointer + r0 * wpr, wpr,
                                   m.planeStride, m.rowCounts!.pointer + r0, path)
            default: break
            }
        }
    }

    /// `encode` of `GELU(h)` (with the model's clip) read off the pre-GELU rows h through the
    /// fold (`foldsGELU` must hold): h are the rows of `x` (row stride `stride`), or with a
    /// `.custom` producer the blocks it makes (e.g. the previous layer's GEMM, block by block:
    /// the hidden layer is then never stored whole).
    func encode(geluOf x: UnsafePointer<Float>, rows: Int, stride: Int?, producer: RowTransform, workspace: Workspace) {
        let m = operand(rows, workspace), k = inFeatures, wpr = m.wordsPerRow
        let path = Int32(BinaryKernels.activePath.rawValue)
        if let (above, below) = geluFold {
            RowProducer.run(x, rows: rows, k: k, stride: stride, transform: producer) { block, r0, n in
                bv_pack_outside_rows(block, k, Int32(n), Int32(k), above.pointer, below.pointer, m.words.pointer + r0 * wpr, wpr,
                                     m.rowCounts!.pointer + r0)
            }
        } else if let bounds = geluSigns, let mask = m.mask {
            RowProducer.run(x, rows: rows, k: k, stride: stride, transform: producer) { block, r0, n in
                bv_pack_interval_signs_rows(block, k, Int32(n), Int32(k), bounds.negativeFrom, bounds.negativeThrough,
                                            bounds.positiveFrom, m.words.pointer + r0 * wpr, mask.pointer + r0 * wpr, wpr,
                                            m.rowCounts.map { $0.pointer + r0 }, path)
            }
        } else {
            preconditionFailure("BinaryLinear: no GELU fold")
        }
    }

    /// `encode` for a caller that packs the signs itself, for a `.sign` encoding without zeros
    /// (bit = x + shift < 0): `pack(block, firstRow, count, bits, wordsPerRow)` gets each block
    /// of transformed rows as `encode` makes them and writes their packed rows to `bits` (row
    /// `firstRow` first, `wordsPerRow` 64-bit words per row). Blocks run in parallel.
    func encode(_ x: UnsafePointer<Float>, rows: Int, transform: RowTransform, workspace: Workspace,
                packingSigns pack: (UnsafePointer<Float>, Int, Int, UnsafeMutablePointer<UInt64>, Int) -> Void) {
        guard case .sign(_, false) = encoding else { preconditionFailure("BinaryLinear: packingSigns needs signs without zeros") }
        let m = operand(rows, workspace), wpr = m.wordsPerRow
        RowProducer.run(x, rows: rows, k: inFeatures, transform: transform) { block, r0, n in
            pack(block, r0, n, m.words.pointer + r0 * wpr, wpr)
        }
    }

    /// `multiply` whose output goes straight into `next`'s input operand through `next`'s GELU
    /// fold (GSB's fc1 → fc2: bit = h > above ∨ h < below on the output h in the GEMM's
    /// registers), so the float hidden layer is never stored. False (nothing done) when `next`
    /// has no fold. `scratch` is a rows × outFeatures buffer the kernels may be given but do not write.
    func multiply(rows: Int, encodingFor next: BinaryLinear, scratch: UnsafeMutablePointer<Float>, workspace: Workspace) -> Bool {
        guard let (above, below) = next.geluFold, next.inFeatures == outFeatures else { return false }
        BinaryGEMM.multiply(operand(rows, workspace), weights, into: scratch, transform: transform(accumulate: false),
                            packedOutput: .init(bits: next.operand(rows, workspace), above: above.pointer, below: below.pointer))
        return true
    }

    func multiply(rows: Int, into y: UnsafeMutablePointer<Float>, ldy: Int?, accumulate: Bool, workspace: Workspace) {
        BinaryGEMM.multiply(operand(rows, workspace), weights, into: y, ldc: ldy, transform: transform(accumulate: accumulate))
    }

    func multiply(rows: Range<Int>, of total: Int, into y: UnsafeMutablePointer<Float>, workspace: Workspace) {
        BinaryGEMM.multiply(operand(total, workspace), weights, into: y, transform: transform(accumulate: false), rows: rows)
    }

    /// The GEMM's output transform: `scale` and the bias (α_n comes with the weights).
    private func transform(accumulate: Bool) -> OutputTransform {
        OutputTransform(scale: scale, bias: bias.map { UnsafePointer($0.pointer) }, accumulate: accumulate)
    }
}
