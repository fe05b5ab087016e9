import BitViTCore
import Testing

/// Finite-difference gradient check.
///
/// Projects the output on a fixed random direction R (L = Σ out·R, accumulated in double),
/// back-propagates, and compares each input's analytic gradient with central differences
/// (L(x+h) − L(x−h))/2h on up to `samples` elements per input.
public func checkGradients(_ name: String, inputs: [Tensor], step h: Float = 1e-2, tolerance: Float = 2e-2,
                    samples: Int = 40, seed: UInt64 = 7,
                    sourceLocation: SourceLocation = #_sourceLocation,
                    _ f: ([Tensor]) -> Tensor) {
    for t in inputs {
        precondition(t.isLeaf, "\(name): inputs must be leaf tensors (detach them first)")
        t.requiresGrad = true
        t.grad = nil
    }
    let out = f(inputs)
    var rng = RandomGenerator(seed: seed)
    let direction = Tensor.randn(out.shape, using: &rng)
    (out * direction).sum().backward()

    func projected() -> Double {
        let o = withNoGrad { f(inputs) }
        var s = 0.0
        for i in 0..<o.count { s += Double(o.data[i]) * Double(direction.data[i]) }
        return s
    }
    for (k, t) in inputs.enumerated() {
        guard let g = t.grad else {
            Issue.record("\(name): input \(k) got no gradient", sourceLocation: sourceLocation)
            continue
        }
        #expect(g.shape == t.shape, "\(name): gradient shape", sourceLocation: sourceLocation)
        let stride = max(1, t.count / samples)
        for i in Swift.stride(from: 0, to: t.count, by: stride) {
            let saved = t.data[i]
            t.data[i] = saved + h
            let plus = projected()
            t.data[i] = saved - h
            let minus = projected()
            t.data[i] = saved
            let numeric = Float((plus - minus) / Double(2 * h))
            let analytic = g.data[i]
            let ok = Swift.abs(numeric - analytic) <= tolerance * Swift.max(1, Swift.abs(numeric))
            #expect(ok, "\(name): input \(k)[\(i)] analytic \(analytic) vs numeric \(numeric)",
                    sourceLocation: sourceLocation)
            if !ok { return }
        }
    }
}

public func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    var rng = RandomGenerator(seed: seed)
    return Tensor.randn(shape, std: scale, using: &rng)
}
