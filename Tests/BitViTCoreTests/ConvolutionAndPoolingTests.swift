import BitViTCore
import BitViTTestSupport
import Testing

/// Direct convolution for reference: out[b,o,y,x] = Σ w[o,c,ky,kx]·in[b, g·cg + c, y·s − p + ky·d, …].
func naiveConv2d(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, _ o: Conv2DOptions) -> [Float] {
    let (b, cin, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (cout, cg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
    let oh = (h + 2 * o.padding.0 - o.dilation.0 * (kh - 1) - 1) / o.stride.0 + 1
    let ow = (wd + 2 * o.padding.1 - o.dilation.1 * (kw - 1) - 1) / o.stride.1 + 1
    let perGroup = cout / o.groups
    var out = [Float](repeating: 0, count: b * cout * oh * ow)
    for n in 0..<b { for oc in 0..<cout { for y in 0..<oh { for xx in 0..<ow {
        var s = bias?[oc] ?? 0
        let g = oc / perGroup
        for c in 0..<cg { for ky in 0..<kh { for kx in 0..<kw {
            let iy = y * o.stride.0 - o.padding.0 + ky * o.dilation.0
            let ix = xx * o.stride.1 - o.padding.1 + kx * o.dilation.1
            if iy >= 0 && iy < h && ix >= 0 && ix < wd { s += w[oc, c, ky, kx] * x[n, g * cg + c, iy, ix] }
        } } }
        out[((n * cout + oc) * oh + y) * ow + xx] = s
    } } } }
    _ = cin
    return out
}

@Suite struct ConvolutionAndPoolingTests {
    static let geometries: [Conv2DOptions] = [
        Conv2DOptions(stride: 1, padding: 1),
        Conv2DOptions(stride: 2, padding: 0),
        Conv2DOptions(stride: 1, padding: 3, dilation: 3, groups: 4),   // BHViT-style grouped dilated
        Conv2DOptions(stride: (2, 1), padding: (0, 2), dilation: (1, 2), groups: 2),
    ]

    @Test(arguments: geometries)
    func conv2dMatchesDirectConvolutionAndItsGradient(options: Conv2DOptions) {
        let x = randomTensor([2, 8, 7, 6], seed: 61)
        let w = randomTensor([4, 8 / options.groups, 3, 3], seed: 62), b = randomTensor([4], seed: 63)
        let y = Tensor.conv2d(x, weight: w, bias: b, options: options)
        assertClose(y.scalars, naiveConv2d(x, w, b, options), atol: 1e-4, "conv2d")
        checkGradients("conv2d", inputs: [x, w, b], samples: 25) {
            Tensor.conv2d($0[0], weight: $0[1], bias: $0[2], options: options)
        }
    }

    @Test func patchEmbeddingConvolution() {
        let x = randomTensor([3, 3, 8, 8], seed: 64), w = randomTensor([5, 3, 4, 4], seed: 65)
        let o = Conv2DOptions(stride: 4)
        assertClose(Tensor.conv2d(x, weight: w, options: o).scalars, naiveConv2d(x, w, nil, o), atol: 1e-4, "patchify")
    }

    @Test func poolingGradients() {
        let x = randomTensor([2, 3, 7, 6], seed: 66)
        checkGradients("avgPool include pad", inputs: [x]) { $0[0].avgPool2d(kernel: (3, 3), stride: (2, 2), padding: (1, 1)) }
        checkGradients("avgPool exclude pad", inputs: [x]) {
            $0[0].avgPool2d(kernel: (3, 2), stride: (2, 2), padding: (1, 1), countIncludePad: false)
        }
        checkGradients("maxPool", inputs: [x], step: 1e-3) { $0[0].maxPool2d(kernel: (3, 3), stride: (2, 2), padding: (1, 1)) }
    }

    /// BHViT's pooled tokens (docs/reference/bhvit.md §3.6 step 1): PyTorch pads with zeros counted in the average (divisor 49).
    @Test func averagePoolingPaddingSemantics() {
        let ones14 = Tensor.ones([1, 1, 14, 14])
        assertClose(ones14.avgPool2d(kernel: (7, 7), stride: (7, 7), padding: (3, 3)).scalars,
                    [16 / 49, 28 / 49, 28 / 49, 1], "14×14")
        assertClose(Tensor.ones([1, 1, 7, 7]).avgPool2d(kernel: (7, 7), stride: (7, 7), padding: (3, 3)).scalars,
                    [16 / 49], "7×7")
        // Max pooling treats padding as −∞: a negative map keeps its own values.
        let negative = Tensor(shape: [1, 1, 2, 2], repeating: -5)
        #expect(negative.maxPool2d(kernel: (3, 3), stride: (1, 1), padding: (1, 1)).scalars == [-5, -5, -5, -5])
    }

    @Test func fusedAttentionMatchesComposedOps() {
        let (b, n, dim, heads) = (2, 5, 8, 2)
        let qkv = randomTensor([b, n, 3 * dim], seed: 67)
        let scale = 1 / Float(dim / heads).squareRoot()
        let fused = Tensor.attention(qkv: qkv, heads: heads, scale: scale)
        let parts = qkv.reshaped([b, n, 3, heads, dim / heads]).permuted([2, 0, 3, 1, 4])
        let q = parts.slice(axis: 0, 0..<1).squeezed(0), k = parts.slice(axis: 0, 1..<2).squeezed(0)
        let v = parts.slice(axis: 0, 2..<3).squeezed(0)
        let p = Tensor.matmul(q, k, transposeB: true).softmax(scale: scale)
        let composed = Tensor.matmul(p, v).permuted([0, 2, 1, 3]).reshaped([b, n, dim])
        assertClose(fused, composed, atol: 1e-5, "attention")
        checkGradients("attention", inputs: [qkv]) { Tensor.attention(qkv: $0[0], heads: heads, scale: scale) }
    }
}

extension Conv2DOptions: CustomTestStringConvertible {
    public var testDescription: String {
        "stride \(stride) padding \(padding) dilation \(dilation) groups \(groups)"
    }
}
