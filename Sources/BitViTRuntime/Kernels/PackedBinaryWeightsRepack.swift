import CBitKernels

extension PackedBinaryWeights {
    /// Rebuilds the panels (and plane scales, row counts, lookup tables) in place from a row-packed matrix of
    /// the same geometry: the per-call right operands of attention (K̂, V̂) without allocating.
    public func repack(from bits: PackedBinaryMatrix) {
        precondition(bits.rows == rows && bits.k == k && bits.planes == planes && bits.encoding == encoding && bits.mask == nil,
                     "PackedBinaryWeights.repack: geometry differs")
        planeScales = bits.planeScales
        for p in 0..<planes {
            bv_pack_panels(bits.words.pointer + p * bits.planeStride, bits.wordsPerRow, Int32(rows),
                           Int32(bits.wordsPerRow), panels.pointer + p * planeStride)
        }
        if let rowCounts {
            bv_row_popcounts(bits.words.pointer, bits.wordsPerRow, Int32(planes * rows), Int32(bits.wordsPerRow), rowCounts.pointer)
        }
        if let lookupTables {
            bv_pack_lut_weights(bits.words.pointer, bits.wordsPerRow, Int32(rows), Int32(k), lookupTables.pointer)
        }
    }
}
