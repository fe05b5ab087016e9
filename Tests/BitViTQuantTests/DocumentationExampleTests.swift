import BitViTQuant
import BitViTTestSupport
import Testing

// The "one file" example of docs/quantization.md, verbatim.

/// Ternary weights `y = alpha·t`, `t = sgn(w)·[|w| > 0.7·mean|w|]`, with a straight-through
/// gradient inside `|w| ≤ alpha` and the LSQ-style step gradient `Σ dy·t`.
final class TernaryWeightQuantizer: Quantizer {
    let alpha = Tensor(1)

    init() {
        super.init(bitWidth: 2, scaleInitialization: .firstTrainingCall)   // codes −1, 0, 1; adds `init_state`
        parameter("alpha", alpha)
    }

    override func initializeScales(from w: Tensor) {
        alpha.data[0] = w.abs().mean().item()
    }

    override func quantize(_ w: Tensor, initializing: Bool) -> Tensor {
        let a = alpha.item()
        let delta = 0.7 * withNoGrad { w.abs().mean() }.item()
        let codes = w.map { Swift.abs($0) > delta ? ($0 > 0 ? 1 : -1) : 0 }
        return Autograd.record(codes * a, op: "ternaryWeight", inputs: [w, alpha]) { dy in
            [dy * w.map { Swift.abs($0) <= a ? 1 : 0 }, (dy * codes).sum()]
        }
    }

    override func straightThroughFraction(of w: Tensor) -> Double? {
        let a = alpha.item()
        return Double(w.scalars.filter { Swift.abs($0) <= a }.count) / Double(w.count)
    }
}

@Suite struct DocumentationExampleTests {
    @Test func ternaryQuantizerPlugsIntoALayer() throws {
        var rng = RandomGenerator(seed: 1)
        let layer = QuantizedLinear(4, 2, bias: false, inputQuantizer: nil, weightQuantizer: TernaryWeightQuantizer(), rng: &rng)
        layer.weight.assign(Tensor(shape: [2, 4], scalars: [0.4, -0.05, 0.1, -0.3, 0.02, 0.25, -0.5, 0.0]))
        #expect(layer.stateNames.contains("weight_quantizer.init_state"))
        layer.train()
        let x = Tensor(shape: [1, 4], scalars: [1, 2, 3, 4])
        let y = layer(x)
        // mean|w| = 0.2025 → alpha = 0.2025, threshold 0.14175: codes [1,0,0,−1], [0,1,−1,0].
        let alpha: Float = 0.2025
        assertClose(y.scalars, [alpha * (1 - 4), alpha * (2 - 3)], "output")
        y.sum().backward()
        let q = layer.weightQuantizer as! TernaryWeightQuantizer
        // dŴ = x per row; passes where |w| ≤ alpha; dalpha = Σ dŴ·codes = (1 − 4) + (2 − 3).
        assertClose(layer.weight.grad!.scalars, [0, 2, 3, 0, 1, 0, 0, 4], "weight gradient")
        assertClose(q.alpha.grad!.scalars, [-4], "step gradient")
        #expect(q.isInitialized && q.straightThroughFraction(of: layer.weight) == 0.5)
    }
}
