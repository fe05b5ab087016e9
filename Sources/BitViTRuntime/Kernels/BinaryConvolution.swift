import BitViTPlatform
import CBitKernels

/// Sign weights of a binary convolution, one `PackedBinaryWeights` per group, with K in the
/// bit-im2col order: tap t = ky·kernel + kx, then input channel c of the group, bit t·cg + c
/// (cg = inChannels / groups). Rows are the group's output channels.
public final class BinaryConvWeights: @unchecked Sendable {
    public let outChannels: Int
    public let inChannels: Int
    public let groups: Int
    public let kernel: Int
    /// Weights of group g: rows = outChannels/groups, k = kernel²·inChannels/groups.
    public let perGroup: [PackedBinaryWeights]

    /// From PyTorch's layout W[outChannels, inChannels/groups, kernel, kernel] (float; the signs
    /// are taken, bit 1 = W < 0) and optional per-output-channel scales α_o.
    public init(weight: UnsafePointer<Float>, outChannels: Int, inChannels: Int, groups: Int, kernel: Int,
                channelScales: [Float]? = nil) {
        precondition(groups > 0 && inChannels % groups == 0 && outChannels % groups == 0,
                     "BinaryConvWeights: \(inChannels)→\(outChannels) channels, \(groups) groups")
        if let channelScales { precondition(channelScales.count == outChannels, "BinaryConvWeights: \(outChannels) scales expected") }
        self.outChannels = outChannels
        self.inChannels = inChannels
        self.groups = groups
        self.kernel = kernel
        let cg = inChannels / groups, og = outChannels / groups, taps = kernel * kernel, kg = taps * cg
        var groupsPacked: [PackedBinaryWeights] = []
        for g in 0..<groups {
            // Reorder [o][c][ky][kx] → [o][t][c] for this group's output channels.
            var reordered = [Float](repeating: 0, count: og * kg)
            for o in 0..<og {
                for c in 0..<cg {
                    for t in 0..<taps {
                        reordered[o * kg + t * cg + c] = weight[((g * og + o) * cg + c) * taps + t]
                    }
                }
            }
            let scales = channelScales.map { Array($0[(g * og)..<((g + 1) * og)]) }
            groupsPacked.append(reordered.withUnsafeBufferPointer {
                PackedBinaryWeights(signsOf: $0.baseAddress!, rows: og, k: kg, channelScales: scales)
            })
        }
        perGroup = groupsPacked
    }
}

/// Binary convolutions on packed NHWC maps, as bit-im2col + binary GEMM.
///
/// Input: a signed `PackedBinaryMatrix` with one row per pixel (row y·width + x) and k =
/// channels (bit c = channel c); with a nonzero mask when sgn(0) = 0 entries must count as 0.
/// Output: row-major [pixels_out, outChannels] floats (NHWC), row stride `ldc`, with the
/// `OutputTransform` applied (bias / rowScale indexed by output channel / output pixel).
///
/// Zero padding uses a validity mask, not a correction table: out-of-image taps are gathered
/// with mask 0 and the ternary product nnz − 2·popcount((a ^ w) & mask) counts them as exactly
/// 0, whatever the image size and dilation. Work is split across workers by output rows.
public enum BinaryConvolution {
    /// BHViT MSGDC convolution: 3×3, dilation `dilation`, stride 1, zero padding `dilation`
    /// ("same"), `weights.groups` groups. Output [height·width, outChannels].
    public static func dilated3x3(_ input: PackedBinaryMatrix, height: Int, width: Int,
                                  weights: BinaryConvWeights, dilation: Int,
                                  into output: UnsafeMutablePointer<Float>, ldc: Int? = nil,
                                  transform: OutputTransform = OutputTransform(),
                                  path: BinaryKernelPath? = nil) {
        precondition(weights.kernel == 3 && dilation >= 1, "dilated3x3: 3×3 weights and dilation ≥ 1")
        precondition(input.encoding == .signed && input.planes == 1 && input.rows == height * width
                     && input.k == weights.inChannels, "dilated3x3: input must be [\(height)·\(width), \(weights.inChannels)] signs")
        let cg = weights.inChannels / weights.groups, og = weights.outChannels / weights.groups
        let ldc = ldc ?? weights.outChannels
        let scale = input.planeScales[0]
        forOutputRows(height, pixelsPerRow: width, work: height * width * weights.outChannels * 9 * cg) { ys in
            let pixels = ys.count * width, p0 = ys.lowerBound * width
            let cols = PackedBinaryMatrix(rows: pixels, k: 9 * cg, encoding: .signed, planeScales: [scale], withMask: true)
            for g in 0..<weights.groups {
                // Gather the pixels of image rows ys (row 0 of `cols` = pixel p0).
                bv_im2col_dilated3x3(input.words.pointer, input.mask.map { UnsafePointer($0.pointer) }, input.wordsPerRow,
                                     Int32(height), Int32(width), Int32(g * cg), Int32(cg), Int32(dilation),
                                     Int32(ys.lowerBound), Int32(ys.upperBound),
                                     cols.words.pointer, cols.mask!.pointer, cols.wordsPerRow, cols.rowCounts!.pointer)
                BinaryGEMM.multiply(cols, weights.perGroup[g], into: output + p0 * ldc + g * og, ldc: ldc,
                                    transform: shifted(transform, row: p0, column: g * og), path: path)
            }
        }
    }

    /// 2×2 convolution with stride 2 and no padding (BHViT's binary downsampling), one group.
    /// Output [(height/2)·(width/2), outChannels].
    public static func conv2x2Stride2(_ input: PackedBinaryMatrix, height: Int, width: Int,
                                      weights: BinaryConvWeights,
                                      into output: UnsafeMutablePointer<Float>, ldc: Int? = nil,
                                      transform: OutputTransform = OutputTransform(),
                                      path: BinaryKernelPath? = nil) {
        precondition(weights.kernel == 2 && weights.groups == 1, "conv2x2Stride2: 2×2 weights, one group")
        precondition(input.encoding == .signed && input.planes == 1 && input.rows == height * width
                     && input.k == weights.inChannels, "conv2x2Stride2: input must be [\(height)·\(width), \(weights.inChannels)] signs")
        let c = weights.inChannels, oh = height / 2, ow = width / 2
        let ldc = ldc ?? weights.outChannels
        let masked = input.mask != nil
        forOutputRows(oh, pixelsPerRow: ow, work: oh * ow * weights.outChannels * 4 * c) { ys in
            let pixels = ys.count * ow, p0 = ys.lowerBound * ow
            let cols = PackedBinaryMatrix(rows: pixels, k: 4 * c, encoding: .signed, planeScales: input.planeScales,
                                          withMask: masked)
            bv_im2col_2x2s2(input.words.pointer, input.mask.map { UnsafePointer($0.pointer) }, input.wordsPerRow,
                            Int32(height), Int32(width), Int32(c), Int32(ys.lowerBound), Int32(ys.upperBound),
                            cols.words.pointer, cols.mask?.pointer, cols.wordsPerRow, cols.rowCounts?.pointer)
            BinaryGEMM.multiply(cols, weights.perGroup[0], into: output + p0 * ldc, ldc: ldc,
                                transform: shifted(transform, row: p0, column: 0), path: path)
        }
    }

    /// The transform for a block of the output starting at (row, column).
    static func shifted(_ t: OutputTransform, row: Int, column: Int) -> OutputTransform {
        OutputTransform(scale: t.scale, rowScale: t.rowScale.map { $0 + row }, bias: t.bias.map { $0 + column },
                        accumulate: t.accumulate)
    }

    /// Splits output image rows across workers (serially for small maps).
    static func forOutputRows(_ rows: Int, pixelsPerRow: Int, work: Int, _ body: (Range<Int>) -> Void) {
        let parts = min(Parallel.threadCount, max(1, work / BinaryGEMM.minimumWorkPerThread))
        if parts <= 1 || rows < 2 { body(0..<rows); return }
        Parallel.forRanges(rows, minimumPerThread: max(1, rows / parts), body)
    }
}
