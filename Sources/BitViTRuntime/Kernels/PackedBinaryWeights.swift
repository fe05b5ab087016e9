import BitViTPlatform
import CBitKernels

/// The right operand of the binary GEMM (weights, or K̂ / V̂ᵀ in attention), reordered into
/// panels for the microkernels. Packed once at load time.
///
/// Layout: `rows` (= N, output channels) are grouped 16 per panel. Inside a panel, dword d
/// (bits 32d..32d+31 of each row) of the panel's column c is at `panel[d·16 + c]`, so one
/// 64-byte load gives dword d of 16 output channels (one zmm; the columns sit in the lanes and
/// no horizontal reduction is needed). Each panel holds `panelDwords` = 2·ceil(k/64) dwords per
/// column; plane p's panel i starts at dword (p·panelCount + i)·16·panelDwords. Rows past N in
/// the last panel are zero.
///
/// Represented value of entry (n, k): channelScales[n] · Σ_p planeScales[p] · v_p(n, k), with v_p
/// decoded as in `PackedBinaryMatrix` (no masks: zeros of signed weights pack as +1; BWN weights
/// are exactly zero only when W equals its mean).
public final class PackedBinaryWeights: @unchecked Sendable {
    public let rows: Int
    public let k: Int
    public let planes: Int
    public let encoding: BitEncoding
    public var planeScales: [Float]
    /// Per-row (output-channel) scale α_n, e.g. BWN's mean |W| per row; nil = 1.
    public let channelScales: AlignedBuffer<Float>?
    /// Dwords per column in a panel (2 · 64-bit words per row).
    public let panelDwords: Int
    /// Panels per plane: ceil(rows / 16).
    public let panelCount: Int
    /// [planes][panelCount][panelDwords][16] dwords.
    public let panels: AlignedBuffer<UInt32>
    /// Popcount of each row per plane, [planes][rows]; unsigned weights only.
    public let rowCounts: AlignedBuffer<Int32>?
    /// The same bits one 4-bit nibble per byte for the AVX2 table-lookup kernel
    /// (`bv_pack_lut_weights`, one plane), or nil: ceil(rows/32)·32·`bv_lut_slots(k)` bytes,
    /// twice the panels' size. See `prefersLookupTables`.
    public let lookupTables: AlignedBuffer<UInt8>?

    /// Dwords between planes.
    public var planeStride: Int { panelCount * 16 * panelDwords }

    /// Whether weights of this shape should carry `lookupTables`: on CPUs whose binary path is
    /// AVX2 (no vector popcount), for one plane of the shapes the table-lookup kernel takes
    /// (`bv_bgemm_takes_lut`), where it is faster than the panel kernel (docs/deployment.md).
    public static func prefersLookupTables(rows: Int, k: Int, planes: Int) -> Bool {
        BinaryKernels.activePath == .avx2 && planes == 1 && rows >= Int(BV_LUT_MIN_COLUMNS) && k <= Int(BV_LUT_MAX_K)
    }

    /// Reorders a row-packed matrix (no mask) into panels. `channelScales` has `bits.rows`
    /// entries when given. `lookupTables` also stores the nibble layout of the AVX2
    /// table-lookup kernel (one plane only); by default when `prefersLookupTables` says so.
    /// Weights packed once and used for many products want it; operands packed per product
    /// (attention's K̂ and V̂ᵀ) do not.
    public init(_ bits: PackedBinaryMatrix, channelScales: [Float]? = nil, lookupTables: Bool? = nil) {
        precondition(bits.mask == nil, "PackedBinaryWeights: masked (ternary) weights are not supported")
        if let channelScales { precondition(channelScales.count == bits.rows, "PackedBinaryWeights: \(bits.rows) channel scales expected") }
        rows = bits.rows
        k = bits.k
        planes = bits.planes
        encoding = bits.encoding
        planeScales = bits.planeScales
        self.channelScales = channelScales.map { AlignedBuffer($0) }
        panelDwords = 2 * bits.wordsPerRow
        panelCount = (bits.rows + 15) / 16
        panels = AlignedBuffer(count: planes * panelCount * 16 * panelDwords)
        let stride = panelCount * 16 * panelDwords
        for p in 0..<planes {
            bv_pack_panels(bits.words.pointer + p * bits.planeStride, bits.wordsPerRow, Int32(rows),
                           Int32(bits.wordsPerRow), panels.pointer + p * stride)
        }
        if encoding == .unsigned {
            let counts = AlignedBuffer<Int32>(count: planes * rows)
            bv_row_popcounts(bits.words.pointer, bits.wordsPerRow, Int32(planes * rows), Int32(bits.wordsPerRow),
                             counts.pointer)
            rowCounts = counts
        } else {
            rowCounts = nil
        }
        if lookupTables ?? Self.prefersLookupTables(rows: rows, k: k, planes: planes) {
            precondition(planes == 1, "PackedBinaryWeights: lookup tables hold one plane")
            let tables = AlignedBuffer<UInt8>(count: (rows + 31) / 32 * 32 * Int(bv_lut_slots(Int32(k))))
            bv_pack_lut_weights(bits.words.pointer, bits.wordsPerRow, Int32(rows), Int32(k), tables.pointer)
            self.lookupTables = tables
        } else {
            self.lookupTables = nil
        }
    }

    /// Binary linear weights from float W [rows, k] (row-major): signs of W (bit 1 = W < 0)
    /// with per-row scales α_n (BWN / BinLinear: pass the α's computed at export time).
    public convenience init(signsOf w: UnsafePointer<Float>, rows: Int, k: Int, channelScales: [Float]? = nil,
                            lookupTables: Bool? = nil) {
        self.init(BinaryPack.signs(w, rows: rows, k: k, path: .scalar), channelScales: channelScales, lookupTables: lookupTables)
    }

    /// Decoded value of plane `plane` at (row, column) without scales (±1 or 0/1).
    public func planeValue(row: Int, column: Int, plane: Int = 0) -> Float {
        precondition(row >= 0 && row < rows && column >= 0 && column < k && plane >= 0 && plane < planes)
        let panel = row / 16, c = row % 16, d = column / 32
        let dword = panels[plane * planeStride + (panel * panelDwords + d) * 16 + c]
        let b = (dword >> UInt32(column % 32)) & 1 == 1
        switch encoding {
        case .signed: return b ? -1 : 1
        case .unsigned: return b ? 1 : 0
        }
    }

    /// Represented value at (row, column), channel and plane scales included.
    public func value(row: Int, column: Int) -> Float {
        let v = (0..<planes).reduce(Float(0)) { $0 + planeScales[$1] * planeValue(row: row, column: column, plane: $1) }
        return v * (channelScales?[row] ?? 1)
    }
}
