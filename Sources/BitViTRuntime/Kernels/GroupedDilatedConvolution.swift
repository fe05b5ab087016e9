import BitViTPlatform
import CBitKernels

/// Weight signs of a grouped 3×3 binary convolution with as many output as input channels
/// (BHViT's MSGDC), laid out for `GroupedDilatedConvolution`: for group g and tap t, the cg =
/// channels/groups output channels of the group as cg-bit lanes (bit c = sign of input channel
/// g·cg + c), so that one tap of one pixel is a single cg-bit word against all of them.
public final class GroupedConvolutionWeights: @unchecked Sendable {
    public let channels: Int
    public let groups: Int
    /// `[groups, 9, cg]` lanes of cg/8 bytes.
    let lanes: AlignedBuffer<UInt8>
    /// Per output channel α_o (1 without scales).
    let alpha: AlignedBuffer<Float>

    /// Whether the direct kernel handles this shape: channels/groups a multiple of 8, at most 64.
    public static func supports(channels: Int, groups: Int) -> Bool {
        bv_gconv3x3_supported(Int32(channels), Int32(groups)) != 0
    }

    /// From PyTorch's layout `W[channels, channels/groups, 3, 3]` (float; bit 1 = W < 0) and
    /// optional per-output-channel scales α_o.
    public init(weight: UnsafePointer<Float>, channels: Int, groups: Int, channelScales: [Float]? = nil) {
        precondition(Self.supports(channels: channels, groups: groups),
                     "GroupedConvolutionWeights: \(channels) channels in \(groups) groups (channels/groups must be 8…64, a multiple of 8)")
        if let channelScales { precondition(channelScales.count == channels, "GroupedConvolutionWeights: \(channels) scales expected") }
        self.channels = channels
        self.groups = groups
        let cg = channels / groups, bytes = cg / 8
        lanes = AlignedBuffer(count: groups * 9 * cg * bytes)
        for o in 0..<channels {
            let (g, lane) = (o / cg, o % cg)
            for c in 0..<cg {
                for t in 0..<9 where weight[(o * cg + c) * 9 + t] < 0 {
                    lanes[((g * 9 + t) * cg + lane) * bytes + c / 8] |= UInt8(1) << UInt8(c % 8)
                }
            }
        }
        alpha = AlignedBuffer(channelScales ?? [Float](repeating: 1, count: channels))
    }
}

/// Grouped dilated 3×3 binary convolution run directly on the packed signs (no bit-im2col):
/// per pixel, group and tap one cg-bit input word is XORed with the group's weight lanes
/// (`bv_gconv3x3`; AVX2 register tiles for cg = 16 and 32, the portable kernel otherwise).
/// Out-of-image taps are skipped, which is exactly zero padding. The result equals
/// `BinaryConvolution.dilated3x3` up to float rounding: here the output is α·dot + bias with
/// one fused multiply-add on the exact integer dot.
public enum GroupedDilatedConvolution {
    /// `input`: the signs of one `side`×`side` image `[side², C]` (no nonzero mask); writes
    /// `[side², C]` (row stride C) = α_o·dot + `bias` (per output channel, may be nil).
    public static func run(_ input: PackedBinaryMatrix, side: Int, weights: GroupedConvolutionWeights, dilation: Int,
                           bias: UnsafePointer<Float>?, into output: UnsafeMutablePointer<Float>,
                           path: BinaryKernelPath? = nil) {
        let c = weights.channels
        precondition(input.encoding == .signed && input.planes == 1 && input.mask == nil && input.rows == side * side
                     && input.k == c && dilation >= 1,
                     "GroupedDilatedConvolution: input must be [\(side)², \(c)] signs without a mask, dilation ≥ 1")
        let args = bv_gconv3x3_args(in: input.words.pointer, in_row_stride: input.wordsPerRow, side: Int32(side),
                                    channels: Int32(c), groups: Int32(weights.groups), dil: Int32(dilation),
                                    lanes: weights.lanes.pointer, alpha: weights.alpha.pointer, bias: bias,
                                    out: output, ldc: c)
        let work = side * side * c * 9 * (c / weights.groups)
        let parts = Parallel.isInsideRegion ? 1 : min(Parallel.threadCount, max(1, work / BinaryGEMM.minimumWorkPerThread))
        Parallel.forRanges(side, minimumPerThread: max(1, side / parts)) { ys in
            _ = withUnsafePointer(to: args) { bv_gconv3x3($0, Int32(ys.lowerBound), Int32(ys.upperBound), path?.rawValue ?? 0) }
        }
    }
}
