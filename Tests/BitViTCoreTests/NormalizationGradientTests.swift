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
}
