import BitViTCore
import BitViTTestSupport
import Testing

/// Keeps random test inputs at least `margin` away from `point`, so finite differences never
/// straddle a kink (|x|, relu, clamp bounds).
func awayFrom(_ t: Tensor, _ point: Float = 0, margin: Float = 0.05) -> Tensor {
    t.map { v in Swift.abs(v - point) < margin ? v + (v >= point ? 2 * margin : -2 * margin) : v }
}

@Suite struct ElementwiseGradientTests {
    @Test func arithmeticWithBroadcasting() {
        let a = randomTensor([2, 3, 4], seed: 1), b = randomTensor([3, 1], seed: 2)
        checkGradients("add", inputs: [a, b]) { $0[0] + $0[1] }
        checkGradients("sub", inputs: [a, b]) { $0[0] - $0[1] }
        checkGradients("mul", inputs: [a, b]) { $0[0] * $0[1] }
        let positive = randomTensor([4], seed: 3).map { Swift.abs($0) + 0.5 }
        checkGradients("div", inputs: [a, positive]) { $0[0] / $0[1] }
        checkGradients("neg", inputs: [a]) { -$0[0] }
    }

    @Test func scalarArithmetic() {
        let a = randomTensor([3, 5], seed: 4)
        checkGradients("a+s, s−a, a·s, a/s", inputs: [a]) { ((($0[0] + 2) * 3 - 1) / 4 + (5 - $0[0])) * 0.5 }
        checkGradients("s/a", inputs: [a.map { Swift.abs($0) + 0.5 }]) { 2 / $0[0] }
    }

    @Test func maximumMinimumAndWhere() {
        let a = randomTensor([4, 3], seed: 5), b = randomTensor([4, 3], seed: 6)
        checkGradients("maximum", inputs: [a, b]) { Tensor.maximum($0[0], $0[1]) }
        checkGradients("minimum", inputs: [a, b]) { Tensor.minimum($0[0], $0[1]) }
        let mask = randomTensor([4, 1], seed: 7) .> 0
        checkGradients("where", inputs: [a, b]) { Tensor.where(mask, $0[0], $0[1]) }
    }

    @Test func unaryFunctions() {
        let x = randomTensor([3, 7], seed: 8)
        let positive = x.map { Swift.abs($0) + 0.3 }
        checkGradients("exp", inputs: [x]) { $0[0].exp() }
        checkGradients("log", inputs: [positive]) { $0[0].log() }
        checkGradients("sqrt", inputs: [positive]) { $0[0].sqrt() }
        checkGradients("rsqrt", inputs: [positive]) { $0[0].rsqrt() }
        checkGradients("square", inputs: [x]) { $0[0].square() }
        checkGradients("pow", inputs: [positive]) { $0[0].pow(1.7) }
        checkGradients("abs", inputs: [awayFrom(x)]) { $0[0].abs() }
        checkGradients("relu", inputs: [awayFrom(x)]) { $0[0].relu() }
        checkGradients("tanh", inputs: [x]) { $0[0].tanh() }
        checkGradients("sigmoid", inputs: [x]) { $0[0].sigmoid() }
        checkGradients("gelu", inputs: [withNoGrad { x * 2 }]) { $0[0].gelu() }
        let inside = awayFrom(awayFrom(x, -0.5), 0.5)
        checkGradients("clamp", inputs: [inside]) { $0[0].clamped(min: -0.5, max: 0.5) }
    }

    @Test func gradientScalingPassesValuesAndScalesGradients() {
        let x = randomTensor([5], seed: 9)
        x.requiresGrad = true
        let y = x.scalingGradient(by: 0.25)
        #expect(y.scalars == x.scalars)
        y.sum().backward()
        #expect(x.grad!.scalars == [Float](repeating: 0.25, count: 5))
    }

    @Test func clampPassesGradientOnItsBounds() {
        let x = Tensor(shape: [4], scalars: [-2, -1, 1, 2])
        x.requiresGrad = true
        x.clamped(min: -1, max: 1).sum().backward()
        #expect(x.grad!.scalars == [0, 1, 1, 0])
    }

    @Test func signAndRoundingFollowPyTorch() {
        let x = Tensor(shape: [7], scalars: [-1.5, -0.5, 0, 0.5, 1.5, 2.5, -0.0])
        #expect(x.sign().scalars == [-1, -1, 0, 1, 1, 1, 0])
        #expect(x.rounded().scalars == [-2, -0, 0, 0, 2, 2, 0])
    }

    @Test func geluMatchesTheErfForm() {
        let x = Tensor(shape: [5], scalars: [-3, -1, 0, 0.5, 2])
        // Reference: x·Φ(x) from double-precision erf.
        let want = x.scalars.map { v in Float(0.5 * Double(v) * (1 + erf(Double(v) / 2.0.squareRoot()))) }
        assertClose(x.gelu().scalars, want, atol: 2e-7, rtol: 1e-6, "gelu")
    }
}

import Foundation
