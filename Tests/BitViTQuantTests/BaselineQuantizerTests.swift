import BitViTQuant
import BitViTTestSupport
import Testing

/// Sign with clipped STE, RSign, per-channel BWN, and RPReLU's derivative.
@Suite struct BaselineQuantizerTests {
    @Test func clippedSignPassesTheGradientInsideTheWindow() {
        let x = Tensor(shape: [6], scalars: [-2, -1, -0.5, 0, 0.5, 1.5])
        x.requiresGrad = true
        let y = SignQuantizer(estimator: .clippedIdentity)(x)
        #expect(y.scalars == [-1, -1, -1, 0, 1, 1])
        y.backward(Tensor(shape: [6], scalars: [1, 2, 3, 4, 5, 6]))
        #expect(x.grad!.scalars == [0, 2, 3, 4, 5, 0])
    }

    @Test func rsignShiftsTheThresholdAndCollectsTheGradientPerChannel() {
        let q = RSignQuantizer(channels: 3)
        q.move.assign(Tensor(shape: [3], scalars: [0.5, -0.25, 0]))
        let x = randomTensor([2, 4, 3], seed: 1)
        x.requiresGrad = true
        let y = q(x)
        for i in 0..<x.count {
            let s = x.data[i] + q.move.data[i % 3]
            #expect(y.data[i] == (s > 0 ? 1 : (s < 0 ? -1 : 0)))
        }
        let g = randomTensor(x.shape, seed: 2)
        y.backward(g)
        var expected = [Float](repeating: 0, count: 3)
        for i in 0..<x.count {
            let s = Swift.abs(x.data[i] + q.move.data[i % 3])
            let dx = s <= 1 ? g.data[i] * (2 - 2 * s) : 0
            #expect(Swift.abs(x.grad!.data[i] - dx) < 1e-6)
            expected[i % 3] += dx
        }
        assertClose(q.move.grad!.scalars, expected, "move gradient")
    }

    @Test func perChannelBinaryWeightsUseEachRowsStatistics() {
        let w = Tensor(shape: [2, 3], scalars: [0.3, -0.1, 0.4, -1, 2, -2])
        let y = BinaryWeightQuantizer(scaling: .perOutputChannel).quantizedValue(of: w)
        let m0: Float = (0.3 + 0.1 + 0.4) / 3, m1: Float = 5.0 / 3
        assertClose(y.scalars, [m0, -m0, m0, -m1, m1, -m1], "per-row scale and centre (row 1 mean is −1/3)")
    }

    @Test func rpreluGradientsMatchFiniteDifferences() {
        let layer = RPReLU(channels: 5)
        layer.move1.assign(randomTensor([5], seed: 1, scale: 0.3))
        layer.slope.assign(randomTensor([5], seed: 2, scale: 0.2) + 0.25)
        layer.move2.assign(randomTensor([5], seed: 3, scale: 0.3))
        // Inputs well away from the kink u = 0 so central differences do not straddle it.
        let x = randomTensor([3, 4, 5], seed: 4).map { $0 + ($0 >= 0 ? 0.1 : -0.1) } + layer.move1
        checkGradients("RPReLU", inputs: [x.detached(), layer.move1, layer.slope, layer.move2], step: 1e-3) { t in
            layer(t[0])   // t[1...] are the layer's own parameters
        }
    }
}
