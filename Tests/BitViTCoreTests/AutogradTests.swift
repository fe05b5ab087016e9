import BitViTCore
import Testing

@Suite struct AutogradTests {
    @Test func gradientsAccumulateAcrossBackwardCalls() {
        let x = Tensor(shape: [2], scalars: [1, 2])
        x.requiresGrad = true
        (x * x).sum().backward()
        (x * 3).sum().backward()
        #expect(x.grad!.scalars == [2 + 3, 4 + 3])
    }

    @Test func sharedSubexpressionsSumTheirGradients() {
        let x = Tensor(shape: [1], scalars: [3])
        x.requiresGrad = true
        let y = x * x
        (y + y * x).sum().backward()     // d/dx (x² + x³) = 2x + 3x²
        #expect(x.grad!.item() == 6 + 27)
    }

    @Test func noGradRecordsNothing() {
        let x = Tensor(shape: [2], scalars: [1, 2])
        x.requiresGrad = true
        let y = withNoGrad { x * 2 }
        #expect(!y.requiresGrad && y.isLeaf)
        #expect(GradMode.isEnabled)
    }

    @Test func customOpUsesItsOwnBackwardRule() {
        // Sign with a clipped straight-through estimator: not the true derivative (which is 0).
        func signSTE(_ x: Tensor) -> Tensor {
            let y = x.sign()
            return Autograd.record(y, op: "signSTE", inputs: [x]) { dy in [dy * (x.abs() .<= 1)] }
        }
        let x = Tensor(shape: [4], scalars: [-2, -0.5, 0.5, 1.5])
        x.requiresGrad = true
        let y = signSTE(x)
        #expect(y.scalars == [-1, -1, 1, 1])
        y.sum().backward()
        #expect(x.grad!.scalars == [0, 1, 1, 0])
    }

    @Test func freedGraphsAreReleasedAfterBackward() {
        let x = Tensor(shape: [3], scalars: [1, 2, 3])
        x.requiresGrad = true
        let loss = (x.exp() * 2).sum()
        loss.backward()
        #expect(x.grad != nil)
        // A second backward needs retainGraph; with it, gradients double.
        x.grad = nil
        let kept = (x * 2).sum()
        kept.backward(retainGraph: true)
        kept.backward()
        #expect(x.grad!.scalars == [4, 4, 4])
    }
}
