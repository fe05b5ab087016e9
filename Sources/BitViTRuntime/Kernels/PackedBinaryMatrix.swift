import CBitKernels

/// How the bits of a packed plane encode values.
public enum BitEncoding: Sendable {
    /// ±1: bit 0 = +1, bit 1 = −1 (the IEEE sign bit of a nonzero value). Zero packs as +1
    /// unless a nonzero mask is kept (then the entry is 0, matching sgn(0) = 0).
    case signed
    /// {0, 1}: bit 1 = 1.
    case unsigned
}

/// A bit matrix packed along its reduction axis: the left operand (activations) of the binary
/// GEMM, and the intermediate form of weights before they are reordered into panels.
///
/// Layout: `planes` planes of `rows` rows; row r of plane p is `wordsPerRow` little-endian
/// 64-bit words at `words.pointer + p·planeStride + r·wordsPerRow`, element k at bit k % 64 of
/// word k / 64. `wordsPerRow` = ceil(k/64); bits past `k` are 0 (so they add nothing to any
/// product; the true `k` enters the ±1 formula K − 2·popcount).
///
/// Value of entry (r, k): Σ_p planeScales[p] · v_p(r, k), with v_p ∈ {−1, +1} (signed) or
/// {0, 1} (unsigned), times 0 where the nonzero `mask` (signed only, optional) has bit 0.
public final class PackedBinaryMatrix: @unchecked Sendable {
    public let rows: Int
    /// Logical length of each row (the reduction dimension K), in elements.
    public let k: Int
    /// 64-bit words per row: ceil(k/64).
    public let wordsPerRow: Int
    public let planes: Int
    public let encoding: BitEncoding
    /// Weight of each plane in the represented value (e.g. GSB's α's, BHViT's α_h, 2^p).
    public var planeScales: [Float]
    /// The bits, [planes][rows][wordsPerRow].
    public let words: AlignedBuffer<UInt64>
    /// Nonzero masks (bit 1 = entry ≠ 0), same layout as `words`; signed matrices only.
    public let mask: AlignedBuffer<UInt64>?
    /// Per plane and row, [planes][rows]: number of mask bits set (signed with mask) or of
    /// bits set (unsigned). The binary GEMM needs it for those operands; nil otherwise.
    public let rowCounts: AlignedBuffer<Int32>?

    /// Words between planes.
    public var planeStride: Int { rows * wordsPerRow }

    /// Zeroed storage for a `rows` × `k` matrix of `planes` planes. Signed matrices get a mask
    /// and row counts when `withMask`; unsigned ones always get row counts.
    public init(rows: Int, k: Int, planes: Int = 1, encoding: BitEncoding = .signed,
                planeScales: [Float]? = nil, withMask: Bool = false) {
        precondition(rows >= 0 && k > 0 && planes > 0, "PackedBinaryMatrix: rows \(rows), k \(k), planes \(planes)")
        precondition(!withMask || encoding == .signed, "PackedBinaryMatrix: masks are for signed planes")
        precondition(planeScales == nil || planeScales!.count == planes, "PackedBinaryMatrix: \(planes) plane scales expected")
        self.rows = rows
        self.k = k
        self.wordsPerRow = (k + 63) / 64
        self.planes = planes
        self.encoding = encoding
        self.planeScales = planeScales ?? [Float](repeating: 1, count: planes)
        words = AlignedBuffer(count: planes * rows * wordsPerRow)
        mask = withMask ? AlignedBuffer(count: planes * rows * wordsPerRow) : nil
        rowCounts = (withMask || encoding == .unsigned) ? AlignedBuffer(count: planes * rows) : nil
    }

    /// Bit of entry (row, column) of `plane`.
    public func bit(row: Int, column: Int, plane: Int = 0) -> Bool {
        precondition(row >= 0 && row < rows && column >= 0 && column < k && plane >= 0 && plane < planes)
        return (words[plane * planeStride + row * wordsPerRow + column / 64] >> UInt64(column % 64)) & 1 == 1
    }

    /// Decoded value of plane `plane` at (row, column), without the plane scale:
    /// ±1 or 0 (masked) for signed, 0/1 for unsigned.
    public func planeValue(row: Int, column: Int, plane: Int = 0) -> Float {
        let b = bit(row: row, column: column, plane: plane)
        switch encoding {
        case .unsigned: return b ? 1 : 0
        case .signed:
            if let mask, (mask[plane * planeStride + row * wordsPerRow + column / 64] >> UInt64(column % 64)) & 1 == 0 {
                return 0
            }
            return b ? -1 : 1
        }
    }

    /// The represented (dequantized) value at (row, column): Σ_p planeScales[p]·planeValue.
    public func value(row: Int, column: Int) -> Float {
        (0..<planes).reduce(Float(0)) { $0 + planeScales[$1] * planeValue(row: row, column: column, plane: $1) }
    }

    /// All represented values, row-major [rows, k] (for tests and debugging).
    public func dequantized() -> [Float] {
        var out = [Float](repeating: 0, count: rows * k)
        for r in 0..<rows { for c in 0..<k { out[r * k + c] = value(row: r, column: c) } }
        return out
    }

    /// Recomputes `rowCounts` from the bits (unsigned) or masks (signed); call after writing
    /// `words`/`mask` directly.
    public func recountRows() {
        guard let rowCounts else { return }
        let source = mask ?? words
        bv_row_popcounts(source.pointer, wordsPerRow, Int32(planes * rows), Int32(wordsPerRow), rowCounts.pointer)
    }
}
