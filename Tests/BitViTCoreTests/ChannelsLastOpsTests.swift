import BitViTCore
import BitViTTestSupport
import Testing

/// The fused channels-last ops: `channelAffine`, `rprelu`, and batch normalization over the
/// last axis, which must agree with the general (composed) path on the same data.
@Suite struct ChannelsLastOpsTests {
    @Test func channelAffineGradients() {
        checkGradients("channelAffine", inputs: [randomTensor([3, 4, 6], seed: 1), randomTensor([6], seed: 2),
                                                 randomTensor([6], seed: 3)]) {
            $0[0].channelAffine(scale: $0[1], shift: $0[2])
        }
    }

    @Test func channelBiasGradients() {
        checkGradients("addingChannelBias", inputs: [randomTensor([3, 4, 6], seed: 4), randomTensor([6], seed: 5)]) {
            $0[0].addingChannelBias($0[1])
        }
        let x = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])
        #expect(x.addingChannelBias(Tensor(shape: [2], scalars: [10, 20])).scalars == [11, 22, 13, 24])
    }

    @Test func rpreluGradientsAwayFromTheKink() {
        let move1 = randomTensor([5], seed: 2, scale: 0.3)
        // Keep u = x − move1 at least 0.05 from 0 so central differences do not straddle the kink.
        let x = (randomTensor([4, 3, 5], seed: 1).map { $0 + ($0 >= 0 ? 0.05 : -0.05) } + move1).detached()
        checkGradients("rprelu", inputs: [x, move1, randomTensor([5], seed: 3, scale: 0.2), randomTensor([5], seed: 4)],
                       step: 1e-3) {
            $0[0].rprelu(move1: $0[1], slope: $0[2], move2: $0[3])
        }
    }

    @Test func rpreluValues() {
        let x = Tensor(shape: [1, 2], scalars: [0.5, 0.5])
        let y = x.rprelu(move1: Tensor(shape: [2], scalars: [0.25, 1]), slope: Tensor(shape: [2], scalars: [0.1, 0.1]),
                         move2: Tensor(shape: [2], scalars: [1, 2]))
        assertClose(y.scalars, [0.25 + 1, -0.05 + 2], "u > 0 passes, u < 0 is scaled")
    }

    /// The fused kernel on `[B, N, C]` against the general path on the same values laid out
    /// `[B, C, N]`: outputs, running statistics and all gradients, in training and evaluation.
    @Test(arguments: [true, false])
    func batchNormMatchesTheGeneralPath(training: Bool) {
        let x = randomTensor([3, 7, 4], seed: 5, scale: 2) + 0.5
        let g = randomTensor([3, 7, 4], seed: 6)
        func run(channelsLast: Bool) -> (y: [Float], dx: [Float], dw: [Float], db: [Float], stats: [Float]) {
            let input = (channelsLast ? x : x.permuted([0, 2, 1])).detached()
            input.requiresGrad = true
            let w = randomTensor([4], seed: 7), b = randomTensor([4], seed: 8)
            w.requiresGrad = true
            b.requiresGrad = true
            let rm = Tensor(shape: [4], repeating: 0.3), rv = Tensor(shape: [4], repeating: 1.5)
            let y = input.batchNorm(channelAxis: channelsLast ? -1 : 1, weight: w, bias: b, runningMean: rm,
                                    runningVariance: rv, training: training)
            y.backward(channelsLast ? g : g.permuted([0, 2, 1]))
            let back = { (t: Tensor) in channelsLast ? t.scalars : t.permuted([0, 2, 1]).scalars }
            return (back(y), back(input.grad!), w.grad!.scalars, b.grad!.scalars, rm.scalars + rv.scalars)
        }
        let fused = run(channelsLast: true), general = run(channelsLast: false)
        assertClose(fused.y, general.y, "output")
        assertClose(fused.dx, general.dx, atol: 1e-5, rtol: 1e-3, "dx")
        assertClose(fused.dw, general.dw, "dweight")
        assertClose(fused.db, general.db, "dbias")
        assertClose(fused.stats, general.stats, "running statistics")
    }
}

/// The channel-group maps behind BHViT's MLP shortcuts.
@Suite struct ChannelGroupTests {
    @Test func tilingRepeatsTheWholeVector() {
        let x = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        #expect(x.tiledChannels(2).scalars == [1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6])
        checkGradients("tiledChannels", inputs: [randomTensor([2, 3, 4], seed: 1)]) { $0[0].tiledChannels(3) }
    }

    @Test func groupMeansAverageContiguousGroups() {
        let x = Tensor(shape: [1, 6], scalars: [1, 2, 3, 4, 5, 6])
        #expect(x.groupMeanChannels(2).scalars == [1.5, 3.5, 5.5])
        #expect(x.groupMeanChannels(3).scalars == [2, 5])
        // Not the inverse of tiling: tiling then averaging pairs mixes neighbouring channels.
        #expect(Tensor(shape: [1, 2], scalars: [1, 3]).tiledChannels(2).groupMeanChannels(2).scalars == [2, 2])
        checkGradients("groupMeanChannels", inputs: [randomTensor([2, 3, 8], seed: 2)]) { $0[0].groupMeanChannels(4) }
    }
}
