import BitViTPlatform
import CBitKernels

/// Binary (and multi-plane) matrix products on packed bits.
///
///     C[m, n] = scale · rowScale[m] · colScale[n] · Σ_k Â[m, k] · Ŵ[n, k] + bias[n]  (+ C if accumulate)
///
/// Â is the value `a` represents (Σ_i planeScales_i · plane_i, masked entries 0) and Ŵ the
/// value `w` represents without its channel scales (those are colScale). Operand encodings pick
/// the product (see bv_bitkernels.h):
///
/// | a                     | w        | per plane pair                         |
/// |-----------------------|----------|----------------------------------------|
/// | signed                | signed   | K − 2·popcount(a ^ w)   (XNOR-popcount) |
/// | signed + nonzero mask | signed   | nnz(a) − 2·popcount((a ^ w) & mask)     |
/// | unsigned              | signed   | popcount(a) − 2·popcount(a & w)         |
/// | signed                | unsigned | popcount(w) − 2·popcount(a & w)         |
/// | unsigned              | unsigned | popcount(a & w)                         |
///
/// Multi-plane operands (p planes × q planes) cost p·q binary products. Planes with equal
/// scales (BHViT's nested QD planes) are summed in the same integer registers; the others are
/// applied one after another to each output tile while its operands are in L1.
///
/// C is row-major M×N with row stride `ldc` (≥ N; default N). Work is split across
/// `Parallel`'s workers by output-feature groups (or rows when N is small); K stays whole.
public enum BinaryGEMM {
    /// Bit-MACs (M·N·K·planes) per worker below which a product stays on one thread.
    public static var minimumWorkPerThread = 1 << 20

    /// The C product code for a pair of operands.
    static func product(_ a: PackedBinaryMatrix, _ w: PackedBinaryWeights) -> Int32 {
        switch (a.encoding, w.encoding) {
        case (.signed, .signed): return Int32(a.mask == nil ? BV_PROD_PM1_PM1 : BV_PROD_TERNARY_PM1)
        case (.unsigned, .signed): return Int32(BV_PROD_01_PM1)
        case (.signed, .unsigned):
            precondition(a.mask == nil, "BinaryGEMM: a masked (ternary) left operand needs signed weights")
            return Int32(BV_PROD_PM1_01)
        case (.unsigned, .unsigned): return Int32(BV_PROD_01_01)
        }
    }

    /// A GEMM's output packed into bits instead of stored as floats: bit n of row m of `bits`
    /// (one unsigned plane, M rows, K = N) is `C[m, n] > above[n] || C[m, n] < below[n]` (strict),
    /// with C as `multiply` would store it; the row counts are recomputed. One plane pair only.
    public struct PackedOutput {
        public var bits: PackedBinaryMatrix
        public var above: UnsafePointer<Float>
        public var below: UnsafePointer<Float>
        public init(bits: PackedBinaryMatrix, above: UnsafePointer<Float>, below: UnsafePointer<Float>) {
            self.bits = bits
            self.above = above
            self.below = below
        }
    }

    /// Computes C = transform(Â · Ŵᵀ) into `c` (M = a.rows, N = w.rows), or, with `packedOutput`,
    /// its threshold bits instead (`c` is then not written). With `rows`, only those rows of Â
    /// (one plane, no packed output): `c` then holds row `rows.lowerBound` first and the
    /// transform's `rowScale` is indexed from it too. Returns the path used.
    @discardableResult
    public static func multiply(_ a: PackedBinaryMatrix, _ w: PackedBinaryWeights,
                                into c: UnsafeMutablePointer<Float>, ldc: Int? = nil,
                                transform: OutputTransform = OutputTransform(),
                                packedOutput: PackedOutput? = nil,
                                rows: Range<Int>? = nil,
                                path: BinaryKernelPath? = nil) -> BinaryKernelPath {
        precondition(a.k == w.k, "BinaryGEMM: a has k = \(a.k), w has k = \(w.k)")
        precondition(2 * a.wordsPerRow == w.panelDwords, "BinaryGEMM: operand word counts differ")
        let first = rows?.lowerBound ?? 0
        if let rows {
            precondition(rows.lowerBound >= 0 && rows.upperBound <= a.rows && a.planes == 1 && packedOutput == nil,
                         "BinaryGEMM: rows \(rows) of a one-plane \(a.rows)-row operand, without packed output")
        }
        let m = rows?.count ?? a.rows, n = w.rows, ldc = ldc ?? n
        precondition(ldc >= n, "BinaryGEMM: ldc \(ldc) < N \(n)")
        let resolved = BinaryKernels.resolve(path)
        a.planeScales.withUnsafeBufferPointer { aScales in
            w.planeScales.withUnsafeBufferPointer { bScales in
                var args = bv_bgemm_args()
                args.product = product(a, w)
                args.m = Int32(m); args.n = Int32(n); args.k = Int32(a.k)
                args.a = UnsafePointer(a.words.pointer + first * a.wordsPerRow)
                args.a_row_stride = a.wordsPerRow
                args.a_plane_stride = a.planeStride
                args.a_planes = Int32(a.planes)
                args.a_mask = a.mask.map { UnsafePointer($0.pointer + first * a.wordsPerRow) }
                args.a_counts = a.rowCounts.map { UnsafePointer($0.pointer + first) }
                args.a_counts_plane_stride = m
                args.a_scales = aScales.baseAddress
                args.b = UnsafePointer(w.panels.pointer)
                args.b_plane_stride = w.planeStride
                args.b_panel_dwords = Int32(w.panelDwords)
                args.b_planes = Int32(w.planes)
                args.b_counts = w.rowCounts.map { UnsafePointer($0.pointer) }
                args.b_counts_plane_stride = n
                args.b_scales = bScales.baseAddress
                if resolved == .avx2, let tables = w.lookupTables { args.b_lut = UnsafePointer(tables.pointer) }
                args.scale = transform.scale
                args.row_scale = transform.rowScale
                args.col_scale = w.channelScales.map { UnsafePointer($0.pointer) }
                args.bias = transform.bias
                args.accumulate = transform.accumulate ? 1 : 0
                args.c = c
                args.ldc = ldc
                if let packedOutput {
                    let bits = packedOutput.bits
                    precondition(bits.rows == m && bits.k == n && bits.planes == 1 && bits.encoding == .unsigned,
                                 "BinaryGEMM: packed output must be one unsigned plane of \(m) × \(n)")
                    precondition(a.planes == 1 && w.planes == 1, "BinaryGEMM: packed output needs one plane pair")
                    args.out_bits = bits.words.pointer
                    args.out_bits_stride = bits.wordsPerRow
                    args.out_above = packedOutput.above
                    args.out_below = packedOutput.below
                }
                let work = m * n * a.k * a.planes * w.planes
                let frozen = args
                KernelWorkSplit.run(m: m, n: n, work: work, minimumWorkPerThread: minimumWorkPerThread,
                                    preferRows: bv_bgemm_takes_lut(&args, resolved.rawValue) != 0) { rows, cols in
                    var local = frozen
                    _ = bv_bgemm(&local, Int32(rows.lowerBound), Int32(rows.upperBound),
                                 Int32(cols.lowerBound), Int32(cols.upperBound), resolved.rawValue)
                }
            }
        }
        packedOutput?.bits.recountRows()
        return resolved
    }
}
