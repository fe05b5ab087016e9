import BitViTQuant
import BitViTTestSupport
import Foundation
import Testing

/// The golden-vector files copied into `Fixtures/golden`.
enum Golden {
    static let directory = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/golden")

    static func cases(_ op: String) throws -> [GoldenCase] {
        let cases = try GoldenOp.load(op, in: directory).cases
        #expect(!cases.isEmpty, "\(op): no cases")
        return cases
    }
}

extension GoldenCase {
    /// A fresh copy of input `name` that requires a gradient.
    func leaf(_ name: String) throws -> Tensor {
        let t = try #require(inputs[name], "\(id): no input \(name)").copy()
        t.requiresGrad = true
        return t
    }

    func value(_ name: String) throws -> Tensor { try #require(inputs[name], "\(id): no input \(name)") }

    func param(_ name: String) throws -> Double { try #require(params[name], "\(id): no param \(name)") }

    /// Runs `forward`, compares its result with the case's `y` (or `loss`) and every
    /// `*_stored` output with `stored()` read afterwards, back-propagates `grad_output` and
    /// compares the gradients of `leaves` with the case's `grads`.
    func verify(leaves: [String: Tensor], stored: () -> [String: Tensor] = { [:] },
                sourceLocation: SourceLocation = #_sourceLocation, _ forward: () -> Tensor) throws {
        let resultName = outputs["loss"] != nil ? "loss" : "y"
        let y = forward()
        assertClose(y, try #require(outputs[resultName]), "\(id) \(resultName)", sourceLocation: sourceLocation)
        let state = stored()
        for (name, want) in outputs where name.hasSuffix("_stored") {
            let got = try #require(state[name], "\(id): \(name) not reported", sourceLocation: sourceLocation)
            assertClose(got.scalars, want.scalars, "\(id) \(name)", sourceLocation: sourceLocation)
        }
        let seed = try #require(gradOutput[resultName], "\(id): no grad_output")
        y.backward(seed)
        #expect(Set(grads.keys) == Set(leaves.keys), "\(id): gradients of \(grads.keys.sorted())",
                sourceLocation: sourceLocation)
        for (name, want) in grads {
            let leaf = try #require(leaves[name], sourceLocation: sourceLocation)
            let got = leaf.grad ?? Tensor.zeros(leaf.shape)
            assertClose(got.scalars, want.scalars, "\(id) d\(name)", sourceLocation: sourceLocation)
            #expect(got.shape == leaf.shape, "\(id) d\(name) shape", sourceLocation: sourceLocation)
        }
    }
}

/// Copies `value` into a quantizer scale.
func setScale(_ scale: Tensor, _ value: Tensor) {
    precondition(scale.count == value.count, "scale \(scale.shape) vs value \(value.shape)")
    scale.assign(value)
}
