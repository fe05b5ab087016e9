import BitViTPlatform
import CBitKernels

/// Float im2col of an NHWC map (`[height·width, ld]`, channels `c0 ..< c0 + cg`) for a
/// `kernel`×`kernel` convolution with `stride`, `dilation` and zero `padding`: output pixel
/// (y, x) becomes row `y·outWidth + x` of `columns`, tap-major (`t·cg + c`, t = ky·kernel + kx),
/// out-of-image taps 0. The float path's view of the binary convolutions (same K order as
/// `BinaryConvWeights`) and of the full-precision downsampling.
func im2colNHWC(_ input: UnsafePointer<Float>, height: Int, width: Int, ld: Int, c0: Int, cg: Int,
                kernel: Int, stride: Int, dilation: Int, padding: Int, into columns: UnsafeMutablePointer<Float>) {
    let oh = (height + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1
    let ow = (width + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1
    let k = kernel * kernel * cg
    BHViTRows.forRanges(oh * ow, channels: k) { range in
        for row in range {
            let (y, x) = (row / ow, row % ow)
            let out = columns + row * k
            for ky in 0..<kernel {
                for kx in 0..<kernel {
                    let t = ky * kernel + kx
                    let sy = y * stride + ky * dilation - padding, sx = x * stride + kx * dilation - padding
                    if sy < 0 || sy >= height || sx < 0 || sx >= width {
                        (out + t * cg).update(repeating: 0, count: cg)
                    } else {
                        (out + t * cg).update(from: input + (sy * width + sx) * ld + c0, count: cg)
                    }
                }
            }
        }
    }
}

/// Reorders convolution weights `[out, cg, kernel, kernel]` (row-major floats, group `g` of
/// `groups`: rows `g·og ..< (g+1)·og`) to the tap-major rows `[og, kernel²·cg]` of `im2colNHWC`,
/// each row times `rowScales[o]` when given, ready for the float GEMM.
func tapMajorWeights(_ w: [Float], out: Int, cg: Int, kernel: Int, group g: Int, groups: Int,
                     rowScales: [Float]? = nil) -> FloatWeightProduct {
    let og = out / groups, taps = kernel * kernel, k = taps * cg
    var b = [Float](repeating: 0, count: og * k)
    for o in 0..<og {
        let s = rowScales?[g * og + o] ?? 1
        for c in 0..<cg { for t in 0..<taps { b[o * k + t * cg + c] = w[((g * og + o) * cg + c) * taps + t] * s } }
    }
    return b.withUnsafeBufferPointer { FloatWeightProduct($0.baseAddress!, out: og, in: k) }
}

/// One MSGDC branch: `BinConv_{3×3, groups 4, dilation d, padding d}(sgn(Z))·α_o + bias`, on one
/// image at a time (the RPReLU that follows is applied by the mixer).
///
/// Bit kernels: `GroupedDilatedConvolution` on the packed signs (out-of-image taps skipped), or
/// `BinaryConvolution.dilated3x3` (zero padding by masks) for channel groups it does not handle.
/// Float kernels: im2col of the float signs and sgemm per group on the ±α_o weights.
final class DilatedConvolutionBranch {
    let channels: Int
    let dilation: Int
    let groups = 4
    /// Bit kernels: the direct grouped kernel's lanes when the channel groups allow it (every
    /// BHViT preset), else the bit-im2col weights.
    let lanes: GroupedConvolutionWeights?
    let bits: BinaryConvWeights?
    let floatWeights: [FloatWeightProduct]
    let bias: AlignedBuffer<Float>
    let rprelu: RPReLUParameters

    init(signs: StoredTensor, alphas: [Float], bias: [Float], rprelu: RPReLUParameters, dilation: Int, floatKernels: Bool) {
        let c = signs.shape[0]
        channels = c
        self.dilation = dilation
        self.bias = AlignedBuffer(bias)
        self.rprelu = rprelu
        let w = ViTLayerBuilder.signs(signs)
        if floatKernels {
            lanes = nil
            bits = nil
            floatWeights = (0..<4).map { tapMajorWeights(w, out: c, cg: c / 4, kernel: 3, group: $0, groups: 4, rowScales: alphas) }
        } else if GroupedConvolutionWeights.supports(channels: c, groups: groups) {
            let groups = groups
            lanes = w.withUnsafeBufferPointer {
                GroupedConvolutionWeights(weight: $0.baseAddress!, channels: c, groups: groups, channelScales: alphas)
            }
            bits = nil
            floatWeights = []
        } else {
            lanes = nil
            bits = w.withUnsafeBufferPointer {
                BinaryConvWeights(weight: $0.baseAddress!, outChannels: c, inChannels: c, groups: 4, kernel: 3, channelScales: alphas)
            }
            floatWeights = []
        }
    }

    /// Bit kernels: `input` holds the signs of one `side`×`side` image; writes `[side², C]`.
    func run(bits input: PackedBinaryMatrix, side: Int, into out: UnsafeMutablePointer<Float>) {
        if let lanes {
            GroupedDilatedConvolution.run(input, side: side, weights: lanes, dilation: dilation, bias: bias.pointer, into: out)
        } else {
            BinaryConvolution.dilated3x3(input, height: side, width: side, weights: bits!, dilation: dilation, into: out,
                                         transform: OutputTransform(bias: UnsafePointer(bias.pointer)))
        }
    }

    /// Float kernels: `input` holds the float signs `[side², C]` of one image; `columns` has room
    /// for `side²·9·C/4` floats.
    func run(floats input: UnsafePointer<Float>, side: Int, columns: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let c = channels, cg = c / groups, pixels = side * side
        for g in 0..<groups {
            im2colNHWC(input, height: side, width: side, ld: c, c0: g * cg, cg: cg, kernel: 3, stride: 1, dilation: dilation,
                       padding: dilation, into: columns)
            floatWeights[g].multiply(rows: pixels, columns, lda: 9 * cg, bias: bias.pointer + g * cg, accumulate: false,
                                     into: out + g * cg, ldc: c)
        }
    }
}

/// A 2×2 stride-2 convolution `C → C'` without padding on one image at a time, with a
/// per-output-channel bias: BHViT's downsampling. Full precision († models: float weights with
/// the output BN folded in) or binary (`sgn(u + move)` against ±α_o·BN scale).
final class Downsampling2x2 {
    let inChannels: Int
    let outChannels: Int
    let bits: BinaryConvWeights?
    let floatWeights: FloatWeightProduct?
    let bias: AlignedBuffer<Float>

    /// Full-precision weights `[out, in, 2, 2]` (folded), always run by the float GEMM.
    init(floatWeights w: [Float], out: Int, in c: Int, bias: [Float]) {
        inChannels = c
        outChannels = out
        bits = nil
        floatWeights = tapMajorWeights(w, out: out, cg: c, kernel: 2, group: 0, groups: 1)
        self.bias = AlignedBuffer(bias)
    }

    /// Binary weights (1-bit `[out, in, 2, 2]`) with scales α_o·BN scale.
    init(signs: StoredTensor, scales: [Float], bias: [Float], floatKernels: Bool) {
        let out = signs.shape[0], c = signs.shape[1]
        inChannels = c
        outChannels = out
        let w = ViTLayerBuilder.signs(signs)
        if floatKernels {
            bits = nil
            floatWeights = tapMajorWeights(w, out: out, cg: c, kernel: 2, group: 0, groups: 1, rowScales: scales)
        } else {
            bits = w.withUnsafeBufferPointer {
                BinaryConvWeights(weight: $0.baseAddress!, outChannels: out, inChannels: c, groups: 1, kernel: 2, channelScales: scales)
            }
            floatWeights = nil
        }
        self.bias = AlignedBuffer(bias)
    }

    /// Bit kernels on the packed signs of one image; writes `[(side/2)², out]`.
    func run(bits input: PackedBinaryMatrix, side: Int, into out: UnsafeMutablePointer<Float>) {
        BinaryConvolution.conv2x2Stride2(input, height: side, width: side, weights: bits!, into: out,
                                         transform: OutputTransform(bias: UnsafePointer(bias.pointer)))
    }

    /// sgemm on one image's float map (the values, or their float signs) `[side², in]`;
    /// `columns` has room for `(side/2)²·4·in` floats.
    func run(floats input: UnsafePointer<Float>, side: Int, columns: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let c = inChannels, pixels = (side / 2) * (side / 2)
        im2colNHWC(input, height: side, width: side, ld: c, c0: 0, cg: c, kernel: 2, stride: 2, dilation: 1, padding: 0,
                   into: columns)
        floatWeights!.multiply(rows: pixels, columns, lda: 4 * c, bias: bias.pointer, accumulate: false, into: out,
                               ldc: outChannels)
    }
}
