import BitViTPlatform
import CBitKernels

/// Plane encodings of small unsigned integer codes (see `BinaryPack.quantizedPlanes`).
public enum CodePlanes: Sendable {
    /// Plane p = bit p of the code; plane weights 2^p.
    case binary
    /// Plane p = (code > p) for p < qmax; nested planes of equal weight (BHViT's QD attention).
    case thermometer
}

/// Producers: float rows → packed bit planes (`PackedBinaryMatrix`).
///
/// Sources are strided: element (r, j) is `x[r·rowStride + j·kStride]`, so rows can be packed
/// along a tensor's last axis (kStride = 1, the fast path) or along a leading axis (e.g. V of
/// shape [tokens, d] packed along tokens for Â·V̂, kStride = d). Large inputs are split by
/// rows across `Parallel`'s workers.
///
/// Every packer is a single pass that reads each float once; `shift` adds the learnable
/// per-channel threshold (GSB's input shift b_in, BHViT's `move`) before the comparison, which
/// is how a LayerNorm/BatchNorm producer will fuse into it later (see bitpack_row.h).
public enum BinaryPack {
    /// Rows·k above which packing is split across threads.
    static let parallelThreshold = 1 << 18

    /// Signs of x + shift into a new signed matrix: bit = (value < 0). With `keepZeros`, also a
    /// nonzero mask, so 0 packs as 0 (sgn(0) = 0) instead of +1.
    public static func signs(_ x: UnsafePointer<Float>, rows: Int, k: Int, rowStride: Int? = nil,
                             kStride: Int = 1, shift: UnsafePointer<Float>? = nil, scale: Float = 1,
                             keepZeros: Bool = false, path: BinaryKernelPath? = nil) -> PackedBinaryMatrix {
        let m = PackedBinaryMatrix(rows: rows, k: k, encoding: .signed, planeScales: [scale], withMask: keepZeros)
        signs(x, rowStride: rowStride ?? k, kStride: kStride, shift: shift, into: m, path: path)
        return m
    }

    /// Signs into existing storage (`m`'s rows, k, and mask decide what is written).
    public static func signs(_ x: UnsafePointer<Float>, rowStride: Int, kStride: Int = 1,
                             shift: UnsafePointer<Float>? = nil, into m: PackedBinaryMatrix,
                             path: BinaryKernelPath? = nil) {
        precondition(m.encoding == .signed && m.planes == 1, "BinaryPack.signs: one signed plane expected")
        let p = Int32(BinaryKernels.resolve(path).rawValue)
        forRows(m.rows, k: m.k) { r in
            bv_pack_signs(x + r.lowerBound * rowStride, rowStride, kStride, Int32(r.count), Int32(m.k), shift,
                          m.words.pointer + r.lowerBound * m.wordsPerRow, m.wordsPerRow,
                          m.mask.map { $0.pointer + r.lowerBound * m.wordsPerRow },
                          m.rowCounts.map { $0.pointer + r.lowerBound }, p)
        }
    }

    /// {0,1} planes by strict thresholds: plane p bit = (x + shift > thresholds[p]).
    /// GSB's unsigned binarizer is one plane with threshold α/2; GSB's attention code is three
    /// planes (α1/2, 0.7·max, 0.9·max) with plane scales (α1, α2, α3).
    public static func thresholds(_ x: UnsafePointer<Float>, rows: Int, k: Int, rowStride: Int? = nil,
                                  kStride: Int = 1, shift: UnsafePointer<Float>? = nil,
                                  thresholds: [Float], planeScales: [Float]? = nil,
                                  path: BinaryKernelPath? = nil) -> PackedBinaryMatrix {
        let m = PackedBinaryMatrix(rows: rows, k: k, planes: thresholds.count, encoding: .unsigned,
                                   planeScales: planeScales)
        self.thresholds(x, rowStride: rowStride ?? k, kStride: kStride, shift: shift, thresholds: thresholds,
                        into: m, path: path)
        return m
    }

    /// Threshold planes into existing storage (`thresholds.count == m.planes`).
    public static func thresholds(_ x: UnsafePointer<Float>, rowStride: Int, kStride: Int = 1,
                                  shift: UnsafePointer<Float>? = nil, thresholds: [Float],
                                  into m: PackedBinaryMatrix, path: BinaryKernelPath? = nil) {
        precondition(m.encoding == .unsigned && thresholds.count == m.planes,
                     "BinaryPack.thresholds: \(m.planes) unsigned planes, \(thresholds.count) thresholds")
        let p = Int32(BinaryKernels.resolve(path).rawValue)
        thresholds.withUnsafeBufferPointer { t in
            forRows(m.rows, k: m.k * m.planes) { r in
                // Each worker packs its rows of every plane; counts go to [plane][row].
                for plane in 0..<m.planes {
                    bv_pack_thresholds(x + r.lowerBound * rowStride, rowStride, kStride, Int32(r.count), Int32(m.k),
                                       shift, t.baseAddress! + plane, 1,
                                       m.words.pointer + plane * m.planeStride + r.lowerBound * m.wordsPerRow,
                                       m.wordsPerRow, m.planeStride,
                                       m.rowCounts!.pointer + plane * m.rows + r.lowerBound, p)
                }
            }
        }
    }

    /// Quantizes q = clamp(round(x/alpha + zero), 0, qmax) (round half to even, x/alpha by
    /// division, as PyTorch) and packs q's planes. Plane scales: alpha·2^p (binary) or alpha
    /// (thermometer), so the represented value is alpha·q. BHViT's QD attention code is
    /// `thermometer` with qmax = 3 applied to x = 3·A.
    public static func quantizedPlanes(_ x: UnsafePointer<Float>, rows: Int, k: Int, rowStride: Int? = nil,
                                       kStride: Int = 1, alpha: Float, zero: Float = 0, qmax: Int,
                                       encoding: CodePlanes) -> PackedBinaryMatrix {
        precondition(qmax >= 1 && qmax <= 255, "BinaryPack.quantizedPlanes: qmax \(qmax)")
        let planes: Int
        let scales: [Float]
        switch encoding {
        case .thermometer:
            planes = qmax
            scales = [Float](repeating: alpha, count: qmax)
        case .binary:
            planes = Int.bitWidth - qmax.leadingZeroBitCount
            scales = (0..<planes).map { alpha * Float(1 << $0) }
        }
        let m = PackedBinaryMatrix(rows: rows, k: k, planes: planes, encoding: .unsigned, planeScales: scales)
        let rs = rowStride ?? k
        forRows(rows, k: k * planes) { r in
            // Row counts are [plane][row] over all rows: pack each row block, then copy counts.
            let counts = UnsafeMutablePointer<Int32>.allocate(capacity: planes * r.count)
            defer { counts.deallocate() }
            bv_pack_quantized_planes(x + r.lowerBound * rs, rs, kStride, Int32(r.count), Int32(k), alpha, zero,
                                     Int32(qmax), encoding == .binary ? Int32(BV_CODES_BINARY) : Int32(BV_CODES_THERMOMETER),
                                     m.words.pointer + r.lowerBound * m.wordsPerRow, m.wordsPerRow, m.planeStride,
                                     counts)
            for p in 0..<planes {
                (m.rowCounts!.pointer + p * rows + r.lowerBound).update(from: counts + p * r.count, count: r.count)
            }
        }
        return m
    }

    /// GSB's 3-group signed code V̂ = sgn(v)·(α1 + α2·T1 + α3·T2) with T_i = [v > tPos_i or
    /// v < tNeg_i] (GSB: t = 0.7·max / 0.7·min and 0.9·max / 0.9·min), as three ±1 planes with
    /// scales (α1 + α2/2 + α3/2, α2/2, α3/2) whose weighted sum equals V̂ exactly for v ≠ 0
    /// (a ternary sgn(v)·T is (sgn(v) + w)/2 with w = sgn(v) on T and −sgn(v) off it). This
    /// keeps Â·V̂ at one popcount per plane pair. v = 0 packs as +1.
    public static func gsbSignedPlanes(_ x: UnsafePointer<Float>, rows: Int, k: Int, rowStride: Int? = nil,
                                       kStride: Int = 1, alphas: (Float, Float, Float),
                                       t1: (pos: Float, neg: Float), t2: (pos: Float, neg: Float)) -> PackedBinaryMatrix {
        let (a1, a2, a3) = alphas
        let m = PackedBinaryMatrix(rows: rows, k: k, planes: 3, encoding: .signed,
                                   planeScales: [a1 + a2 / 2 + a3 / 2, a2 / 2, a3 / 2])
        let rs = rowStride ?? k
        forRows(rows, k: 3 * k) { r in
            bv_pack_gsb_signed_planes(x + r.lowerBound * rs, rs, kStride, Int32(r.count), Int32(k),
                                      t1.pos, t1.neg, t2.pos, t2.neg,
                                      m.words.pointer + r.lowerBound * m.wordsPerRow, m.wordsPerRow, m.planeStride)
        }
        return m
    }

    /// Planes of integer codes (row-major [rows, k]), e.g. Q-ViT's b-bit weights: unsigned codes
    /// in [0, 2^bits) give `bits` {0,1} planes with scales scale·2^p; signed codes in
    /// [−2^(bits−1), 2^(bits−1)) use two's complement, the top plane weighing −scale·2^(bits−1).
    /// The represented value is scale·code.
    public static func codePlanes(_ codes: [Int32], rows: Int, k: Int, bits: Int, signed: Bool,
                                  scale: Float = 1) -> PackedBinaryMatrix {
        precondition(codes.count == rows * k && (1...8).contains(bits), "BinaryPack.codePlanes: \(codes.count) codes, \(bits) bits")
        let lo = signed ? -(1 << (bits - 1)) : 0, hi = signed ? (1 << (bits - 1)) - 1 : (1 << bits) - 1
        let scales = (0..<bits).map { p in scale * Float(signed && p == bits - 1 ? -(1 << p) : (1 << p)) }
        let m = PackedBinaryMatrix(rows: rows, k: k, planes: bits, encoding: .unsigned, planeScales: scales)
        for r in 0..<rows {
            for j in 0..<k {
                let c = Int(codes[r * k + j])
                precondition(c >= lo && c <= hi, "BinaryPack.codePlanes: code \(c) outside [\(lo), \(hi)]")
                let bitsOfCode = UInt64(truncatingIfNeeded: c)  // two's complement for negatives
                for p in 0..<bits where (bitsOfCode >> UInt64(p)) & 1 == 1 {
                    m.words[p * m.planeStride + r * m.wordsPerRow + j / 64] |= 1 << UInt64(j % 64)
                }
            }
        }
        m.recountRows()
        return m
    }

    /// Runs `body` over row ranges, in parallel when the input is large.
    static func forRows(_ rows: Int, k: Int, _ body: (Range<Int>) -> Void) {
        if rows * k < parallelThreshold || rows < 2 { if rows > 0 { body(0..<rows) }; return }
        Parallel.forRanges(rows, minimumPerThread: max(1, parallelThreshold / (2 * max(k, 1))), body)
    }
}

/// Calls `body` with a pointer to `values` (nil when `values` is nil).
@inline(__always)
package func withOptionalPointer<R>(_ values: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let values else { return body(nil) }
    return values.withUnsafeBufferPointer { body($0.baseAddress) }
}
