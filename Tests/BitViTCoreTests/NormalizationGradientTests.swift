import BitViTCore
import BitViTTestSupport
import Testing

@Suite struct NormalizationGradientTests {
    @Test func layerNorm() {
        checkGradients("layerNorm", inputs: [randomTensor([3, 5, 8], seed: 1), randomTensor([8], seed: 2), randomTensor([8], seed: 3)]) {
            $0[0].layerNorm(weight: $0[1], bias: $0[2], eps: 1e-5)
        }
        checkGradients("layerNorm without affine", inputs: [randomTensor([4, 6], seed: 4)]) {
            $0[0].layerNorm(weight: nil, bias: nil, eps: 1e-6)
        }
    }

    @Test func layerNormValues() {
        let x = Tensor(shape: [1, 4], scalars: [1, 2, 3, 4])
        let y = x.layerNorm(weight: Tensor(shape: [4], repeating: 2), bias: Tensor(shape: [4], repeating: 1), eps: 0)
        let s: Float = 1.118034
        assertClose(y.scalars, [-1.5 / s * 2 + 1, -0.5 / s * 2 + 1, 0.5 / s * 2 + 1, 1.5 / s * 2 + 1], "layerNorm")
    }

    @Test(arguments: [1, -1])
    func batchNormTraining(channelAxis: Int) {
        let shape = channelAxis == 1 ? [3, 4, 2, 2] : [3, 5, 4]
        checkGradients("batchNorm axis \(channelAxis)", inputs: [randomTensor(shape, seed: 5), randomTensor([4], seed: 6), randomTensor([4], seed: 7)]) {
            $0[0].batchNorm(channelAxis: channelAxis, weight: $0[1], bias: $0[2], runningMean: nil,
                            runningVariance: nil, training: true)
        }
    }

    @Test func batchNormStatistics() {
        // Channel last: channel 0 holds 1,3,5,7; channel 1 holds 2,2,2,2.
        let x = Tensor(shape: [2, 2, 2], scalars: [1, 2, 3, 2, 5, 2, 7, 2])
        let rm = Tensor.zeros([2]), rv = Tensor.ones([2])
        let y = x.batchNorm(channelAxis: -1, weight: nil, bias: nil, runningMean: rm, runningVariance: rv,
                            training: true, momentum: 0.1, eps: 0)
        assertClose(y.scalars.enumerated().filter { $0.offset % 2 == 0 }.map(\.element),
                    [-1.3416408, -0.4472136, 0.4472136, 1.3416408], "normalized")
        assertClose(rm.scalars, [0.4, 0.2], "running mean")
        // Running variance uses the unbiased estimate: var(1,3,5,7) = 20/3.
        assertClose(rv.scalars, [0.9 + 0.1 * 20 / 3, 0.9], "running variance")
        let evalOut = x.batchNorm(channelAxis: -1, weight: nil, bias: nil, runningMean: rm, runningVariance: rv,
                                  training: false, eps: 0)
        assertClose([evalOut[0, 0, 0]], [(1 - 0.4) / (0.9 + 0.1 * 20 / 3).squareRoot()], "eval uses running stats")
    }
}
