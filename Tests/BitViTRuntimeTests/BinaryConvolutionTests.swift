import BitViTCore
import BitViTRuntime
import BitViTTestSupport
import Testing

/// Binary convolutions against Tensor.conv2d on the ±1 / 0 maps they represent (zero padding);
/// products of integers: exact equality.
@Suite("Binary convolutions")
struct BinaryConvolutionTests {
    /// A [C, H, W] sign map with some exact zeros, as NCHW floats and as packed NHWC rows.
    static func signMap(channels: Int, height: Int, width: Int, zeros: Float, keepZeros: Bool,
                        _ rng: inout RandomGenerator) -> (nchw: Tensor, packed: PackedBinaryMatrix) {
        let nhwc = randomFloats(height * width * channels, &rng, zeroFraction: zeros)
        var nchw = [Float](repeating: 0, count: nhwc.count)
        for p in 0..<(height * width) {
            for c in 0..<channels { nchw[c * height * width + p] = keepZeros ? sgn(nhwc[p * channels + c]) : packedSign(nhwc[p * channels + c]) }
        }
        let packed = nhwc.withUnsafeBufferPointer {
            BinaryPack.signs($0.baseAddress!, rows: height * width, k: channels, keepZeros: keepZeros)
        }
        return (Tensor(shape: [1, channels, height, width], scalars: nchw), packed)
    }

    /// Tensor.conv2d output [1, C, H, W] as NHWC rows.
    static func nhwc(_ t: Tensor) -> [Float] {
        let (c, hw) = (t.shape[1], t.shape[2] * t.shape[3])
        var out = [Float](repeating: 0, count: c * hw)
        let s = t.scalars
        for p in 0..<hw { for ch in 0..<c { out[p * c + ch] = s[ch * hw + p] } }
        return out
    }

    @Test(arguments: [1, 3, 5])
    func groupedDilated3x3MatchesConv2d(dilation: Int) {
        var rng = RandomGenerator(seed: UInt64(40 + dilation))
        // (C, H, W): BHViT's stage-1 width with a small map, a map smaller than the dilation
        // reach (every tap of a 5×5 map at dilation 5 is out of range but the center), and cg = 32.
        for (c, h, w) in [(64, 9, 11), (64, 5, 5), (128, 7, 6)] {
            for keepZeros in [true, false] {
                for path in binaryPaths {
                    let x = Self.signMap(channels: c, height: h, width: w, zeros: 0.2, keepZeros: keepZeros, &rng)
                    let weight = Tensor(shape: [c, c / 4, 3, 3], scalars: randomFloats(c * c / 4 * 9, &rng))
                    let packedW = BinaryConvWeights(weight: weight, groups: 4)
                    let got = withOutput(h * w * c) {
                        BinaryConvolution.dilated3x3(x.packed, height: h, width: w, weights: packedW, dilation: dilation,
                                                     into: $0, path: path)
                    }
                    let want = Tensor.conv2d(x.nchw, weight: weight.sign(),
                                             options: Conv2DOptions(stride: 1, padding: dilation, dilation: dilation, groups: 4))
                    expectExact(got, Self.nhwc(want), "C \(c) \(h)×\(w) dil \(dilation) zeros \(keepZeros) path \(path)")
                }
            }
        }
    }

    @Test func dilatedConvAppliesChannelScalesAndBias() {
        var rng = RandomGenerator(seed: 47)
        let (c, h, w) = (64, 8, 8)
        let x = Self.signMap(channels: c, height: h, width: w, zeros: 0, keepZeros: false, &rng)
        let weight = Tensor(shape: [c, c / 4, 3, 3], scalars: randomFloats(c * c / 4 * 9, &rng))
        let alpha = (0..<c).map { _ in 0.1 + rng.nextUniform() }, bias = randomFloats(c, &rng)
        let packedW = BinaryConvWeights(weight: weight, groups: 4, channelScales: alpha)
        let got = bias.withUnsafeBufferPointer { b in
            withOutput(h * w * c) {
                BinaryConvolution.dilated3x3(x.packed, height: h, width: w, weights: packedW, dilation: 3, into: $0,
                                             transform: OutputTransform(bias: b.baseAddress))
            }
        }
        let scaledW = weight.sign() * Tensor(shape: [c, 1, 1, 1], scalars: alpha)
        let want = Tensor.conv2d(x.nchw, weight: scaledW, bias: Tensor(shape: [c], scalars: bias),
                                 options: Conv2DOptions(stride: 1, padding: 3, dilation: 3, groups: 4))
        assertClose(got, Self.nhwc(want), atol: 1e-3, rtol: 1e-5, "scaled dilated conv")
    }

    @Test func conv2x2Stride2MatchesConv2d() {
        var rng = RandomGenerator(seed: 48)
        for (c, h, w) in [(64, 8, 6), (128, 7, 5), (3, 4, 4)] {
            for keepZeros in [true, false] {
                for path in binaryPaths {
                    let x = Self.signMap(channels: c, height: h, width: w, zeros: 0.2, keepZeros: keepZeros, &rng)
                    let weight = Tensor(shape: [2 * c, c, 2, 2], scalars: randomFloats(2 * c * c * 4, &rng))
                    let packedW = BinaryConvWeights(weight: weight, groups: 1)
                    let got = withOutput((h / 2) * (w / 2) * 2 * c) {
                        BinaryConvolution.conv2x2Stride2(x.packed, height: h, width: w, weights: packedW, into: $0, path: path)
                    }
                    let want = Tensor.conv2d(x.nchw, weight: weight.sign(), options: Conv2DOptions(stride: 2))
                    expectExact(got, Self.nhwc(want), "C \(c) \(h)×\(w) zeros \(keepZeros) path \(path)")
                }
            }
        }
    }

    @Test func largeMapsSplitAcrossWorkersGiveTheSameResult() {
        // BHViT stage 2 geometry (28×28, C = 128): large enough to be split by output rows.
        var rng = RandomGenerator(seed: 49)
        let (c, h, w) = (128, 28, 28)
        let x = Self.signMap(channels: c, height: h, width: w, zeros: 0.05, keepZeros: true, &rng)
        let weight = Tensor(shape: [c, c / 4, 3, 3], scalars: randomFloats(c * c / 4 * 9, &rng))
        let got = withOutput(h * w * c) {
            BinaryConvolution.dilated3x3(x.packed, height: h, width: w, weights: BinaryConvWeights(weight: weight, groups: 4),
                                         dilation: 5, into: $0)
        }
        let want = Tensor.conv2d(x.nchw, weight: weight.sign(),
                                 options: Conv2DOptions(stride: 1, padding: 5, dilation: 5, groups: 4))
        expectExact(got, Self.nhwc(want), "28×28×128 dil 5")
    }
}
