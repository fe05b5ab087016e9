import BitViTCore
import BitViTTestSupport
import Foundation
import Testing

@Suite struct SoftmaxAndLossGradientTests {
    let logits = randomTensor([4, 6], seed: 51)

    @Test func softmaxFamilies() {
        checkGradients("softmax", inputs: [logits]) { $0[0].softmax() }
        checkGradients("scaled softmax", inputs: [logits]) { $0[0].softmax(scale: 0.37) }
        checkGradients("softmax over axis 0", inputs: [logits]) { $0[0].softmax(axis: 0) }
        checkGradients("logSoftmax", inputs: [logits]) { $0[0].logSoftmax() }
    }

    @Test func crossEntropy() {
        let labels = [0, 5, 2, 2]
        checkGradients("cross-entropy", inputs: [logits]) { Tensor.crossEntropy(logits: $0[0], labels: labels) }
        checkGradients("label smoothing", inputs: [logits]) {
            Tensor.crossEntropy(logits: $0[0], labels: labels, labelSmoothing: 0.1)
        }
        let soft = randomTensor([4, 6], seed: 52).softmax()
        checkGradients("soft targets", inputs: [logits]) { Tensor.crossEntropy(logits: $0[0], targetProbabilities: soft) }
    }

    @Test func crossEntropyValue() {
        let z = Tensor(shape: [2, 3], scalars: [1, 2, 3, 0, 0, 0])
        let lse: Double = Foundation.log(Foundation.exp(1.0) + Foundation.exp(2.0) + Foundation.exp(3.0))
        let want = (-(2 - lse) + Foundation.log(3.0)) / 2
        assertClose([Tensor.crossEntropy(logits: z, labels: [1, 0]).item()], [Float(want)], "CE")
        // Uniform targets against constant logits give log(C).
        let uniform = Tensor(shape: [2, 3], repeating: 1.0 / 3)
        assertClose([Tensor.crossEntropy(logits: Tensor.zeros([2, 3]), targetProbabilities: uniform).item()],
                    [Float(log(3.0))], "soft CE")
    }

    @Test func softmaxRowsSumToOneAndAreStable() {
        let big = Tensor(shape: [2, 3], scalars: [1000, 1001, 1002, -1000, -1000, -1000])
        let p = big.softmax()
        assertClose(p.sum(axis: 1).scalars, [1, 1], "row sums")
        assertClose(p.scalars, [0.09003057, 0.24472848, 0.66524094, 1.0 / 3, 1.0 / 3, 1.0 / 3], "values")
    }
}
