import BitViTPlatform

/// MSGDC's grouped dilated 3×3 binary convolution when every group's channels are whole bytes
/// (C/groups a multiple of 8, as in every BHViT preset): one pass over the pixels gathers the
/// bit-im2col rows of all groups by byte copies (tap t of group g at bits `t·cg …`, valid taps
/// with mask bytes 0xFF, out-of-image taps 0 — exact zero padding through the ternary product),
/// then one binary GEMM per group with α_o and the bias in the output transform. The same
/// operands and products as `BinaryConvolution.dilated3x3` (which handles other channel counts),
/// gathered with word loads and shifts instead of per-tap bit copies (about a third faster at
/// 56×56×64 on one thread; Tests/BitViTRuntimeTests/BHViTEngineTests.swift checks equality).
public enum GroupedDilatedConvolution {
    /// Whether `weights` can use the byte-gather path.
    public static func applies(_ weights: BinaryConvWeights) -> Bool {
        weights.kernel == 3 && (weights.inChannels / weights.groups) % 8 == 0
    }

    /// `input`: the signs of one `side`×`side` image `[side², C]` (no mask); writes
    /// `[side², C_out]` (row stride C_out) plus `bias` (per output channel, may be nil).
    public static func run(_ input: PackedBinaryMatrix, side: Int, weights: BinaryConvWeights, dilation: Int,
                           bias: UnsafePointer<Float>?, into output: UnsafeMutablePointer<Float>) {
        precondition(applies(weights) && input.mask == nil && input.rows == side * side && input.k == weights.inChannels,
                     "GroupedDilatedConvolution: input must be [\(side)², \(weights.inChannels)] signs with whole-byte groups")
        let c = weights.inChannels, groups = weights.groups, cg = c / groups
        let outChannels = weights.outChannels, og = outChannels / groups
        let tapBytes = cg / 8, k = 9 * cg
        let inRowBytes = input.wordsPerRow * 8
        let work = side * side * outChannels * k
        let parts = Parallel.isInsideRegion ? 1 : min(Parallel.threadCount, max(1, work / BinaryGEMM.minimumWorkPerThread))
        Parallel.forRanges(side, minimumPerThread: max(1, side / parts)) { ys in
            let pixels = ys.count * side, p0 = ys.lowerBound * side
            let columns = (0..<groups).map { _ in PackedBinaryMatrix(rows: pixels, k: k, encoding: .signed, withMask: true) }
            let source = UnsafeRawPointer(input.words.pointer).assumingMemoryBound(to: UInt8.self)
            for g in 0..<groups {
                let words = columns[g].words.pointer, masks = columns[g].mask!.pointer, wpr = columns[g].wordsPerRow
                let bytes = UnsafeMutableRawPointer(words).assumingMemoryBound(to: UInt8.self)
                let maskBytes = UnsafeMutableRawPointer(masks).assumingMemoryBound(to: UInt8.self)
                let counts = columns[g].rowCounts!.pointer
                let groupOffset = g * tapBytes
                let ones: UInt64 = cg >= 64 ? ~0 : (1 &<< UInt64(cg)) &- 1
                for y in ys {
                    for x in 0..<side {
                        let row = (y - ys.lowerBound) * side + x
                        let to = words + row * wpr, mask = masks + row * wpr
                        var valid = 0
                        for t in 0..<9 {
                            let yy = y + (t / 3 - 1) * dilation, xx = x + (t % 3 - 1) * dilation
                            // Storage starts zeroed: out-of-image taps stay 0 (sign and mask).
                            guard yy >= 0 && yy < side && xx >= 0 && xx < side else { continue }
                            valid += 1
                            let from = UnsafeRawPointer(source + (yy * side + xx) * inRowBytes + groupOffset)
                            let v: UInt64
                            switch tapBytes {
                            case 1: v = UInt64(from.load(as: UInt8.self))
                            case 2: v = UInt64(from.loadUnaligned(as: UInt16.self))
                            case 4: v = UInt64(from.loadUnaligned(as: UInt32.self))
                            case 8: v = from.loadUnaligned(as: UInt64.self)
                            default:
                                // Other byte counts: byte copies.
                                let dst = bytes + row * wpr * 8 + t * tapBytes, dm = maskBytes + row * wpr * 8 + t * tapBytes
                                for b in 0..<tapBytes {
                                    dst[b] = from.load(fromByteOffset: b, as: UInt8.self)
                                    dm[b] = 0xFF
                                }
                                continue
                            }
                            let bit = t * cg, w = bit >> 6, shift = UInt64(bit & 63)
                            to[w] |= v &<< shift
                            mask[w] |= ones &<< shift
                            if Int(shift) + cg > 64 {
                                to[w + 1] |= v &>> (64 - shift)
                                mask[w + 1] |= ones &>> (64 - shift)
                            }
                        }
                        counts[row] = Int32(valid * cg)
                    }
                }
                BinaryGEMM.multiply(columns[g], weights.perGroup[g], into: output + p0 * outChannels + g * og, ldc: outChannels,
                                    transform: OutputTransform(bias: bias.map { $0 + g * og }))
            }
        }
    }
}
