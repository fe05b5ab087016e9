import BitViTCore
import BitViTTestSupport
import Testing

@Suite struct ReductionGradientTests {
    let x = randomTensor([3, 4, 5], seed: 11)

    @Test func sumsAndMeans() {
        checkGradients("sum", inputs: [x]) { $0[0].sum() }
        checkGradients("sum axes", inputs: [x]) { $0[0].sum(axes: [0, 2]) }
        checkGradients("sum keepDims", inputs: [x]) { $0[0].sum(axis: 1, keepDims: true) }
        checkGradients("mean", inputs: [x]) { $0[0].mean() }
        checkGradients("mean axes", inputs: [x]) { $0[0].mean(axes: [1]) }
    }

    @Test func variance() {
        checkGradients("variance biased", inputs: [x]) { $0[0].variance(axes: [2]) }
        checkGradients("variance unbiased", inputs: [x]) { $0[0].variance(axes: [0, 1], correction: 1) }
        checkGradients("variance all", inputs: [x]) { $0[0].variance() }
    }

    @Test func extrema() {
        checkGradients("max axis", inputs: [x], step: 1e-3) { $0[0].max(axis: 2) }
        checkGradients("min axes", inputs: [x], step: 1e-3) { $0[0].min(axes: [0, 1]) }
        checkGradients("max all", inputs: [x], step: 1e-3) { $0[0].max() }
    }

    @Test func valuesOfReductions() {
        let t = Tensor(shape: [2, 3], scalars: [1, 5, 3, -2, 0, 4])
        #expect(t.sum().item() == 11)
        #expect(t.sum(axis: 0).scalars == [-1, 5, 7])
        #expect(t.sum(axis: 1, keepDims: true).shape == [2, 1])
        #expect(t.max(axis: 1).scalars == [5, 4])
        #expect(t.min(axis: 0).scalars == [-2, 0, 3])
        assertClose(t.mean(axis: 1).scalars, [3, 0.6666667], "mean")
        assertClose(t.variance(axes: [1], correction: 1).scalars, [4, 9.333333], "variance")
        #expect(t.argmaxLastAxis() == [1, 2])
    }

    @Test func tiedMaximaShareTheGradient() {
        let t = Tensor(shape: [4], scalars: [1, 3, 3, 0])
        t.requiresGrad = true
        t.max().backward()
        #expect(t.grad!.scalars == [0, 0.5, 0.5, 0])
    }
}
