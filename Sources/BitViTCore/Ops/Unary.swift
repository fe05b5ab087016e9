import CBitKernels
import Foundation

// Differentiable elementwise functions of one tensor.

extension Tensor {
    public func exp() -> Tensor {
        let out = Tensor(uninitialized: shape)
        let src = data, dst = out.data
        Parallel.forRanges(count, minimumPerThread: elementwiseGrain) { r in
            bv_exp_f32(src + r.lowerBound, dst + r.lowerBound, r.count)
        }
        return Autograd.record(out, op: "exp", inputs: [self]) { g in [g * out] }
    }

    public func log() -> Tensor {
        let out = map { Foundation.log($0) }
        return Autograd.record(out, op: "log", inputs: [self]) { g in [g / self] }
    }

    public func sqrt() -> Tensor {
        let out = map { $0.squareRoot() }
        return Autograd.record(out, op: "sqrt", inputs: [self]) { g in
            [Tensor.zipMap(g, out) { $0 * 0.5 / $1 }]
        }
    }

    /// 1/√x.
    public func rsqrt() -> Tensor {
        let out = map { 1 / $0.squareRoot() }
        return Autograd.record(out, op: "rsqrt", inputs: [self]) { g in
            [Tensor.zipMap(g, out) { -0.5 * $0 * $1 * $1 * $1 }]
        }
    }

    public func square() -> Tensor {
        let out = map { $0 * $0 }
        return Autograd.record(out, op: "square", inputs: [self]) { g in
            [Tensor.zipMap(g, self) { 2 * $0 * $1 }]
        }
    }

    /// x^p for a constant exponent.
    public func pow(_ p: Float) -> Tensor {
        let out = map { Foundation.pow($0, p) }
        return Autograd.record(out, op: "pow", inputs: [self]) { g in
            [Tensor.zipMap(g, self) { $0 * p * Foundation.pow($1, p - 1) }]
        }
    }

    /// |x|; the gradient at 0 is 0 (sgn).
    public func abs() -> Tensor {
        let out = map { Swift.abs($0) }
        return Autograd.record(out, op: "abs", inputs: [self]) { g in [g * self.sign()] }
    }

    /// sgn(x) ∈ {−1, 0, 1} with sgn(0) = 0 (PyTorch `sign`); not differentiated.
    public func sign() -> Tensor { map { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) } }

    /// Round half to even (IEEE roundTiesToEven, PyTorch `round`); not differentiated.
    public func rounded() -> Tensor { map { $0.rounded(.toNearestOrEven) } }

    public func floor() -> Tensor { map { $0.rounded(.down) } }

    public func relu() -> Tensor {
        let out = map { Swift.max($0, 0) }
        return Autograd.record(out, op: "relu", inputs: [self]) { g in
            [Tensor.zipMap(g, self) { $1 > 0 ? $0 : 0 }]
        }
    }

    public func tanh() -> Tensor {
        let out = map { Foundation.tanh($0) }
        return Autograd.record(out, op: "tanh", inputs: [self]) { g in
            [Tensor.zipMap(g, out) { $0 * (1 - $1 * $1) }]
        }
    }

    public func sigmoid() -> Tensor {
        let out = map { 1 / (1 + Foundation.exp(-$0)) }
        return Autograd.record(out, op: "sigmoid", inputs: [self]) { g in
            [Tensor.zipMap(g, out) { $0 * $1 * (1 - $1) }]
        }
    }

    /// Clamps to `[low, high]`; the gradient passes where `low ≤ x ≤ high` (bounds included).
    public func clamped(min low: Float = -.infinity, max high: Float = .infinity) -> Tensor {
        let out = map(ClampFunction(low: low, high: high))
        return Autograd.record(out, op: "clamp", inputs: [self]) { g in
            [Tensor.zipMap(g, self, ClampGradientFunction(low: low, high: high))]
        }
    }

    /// Exact GELU, x·Φ(x) = x/2·(1 + erf(x/√2)).
    public func gelu() -> Tensor {
        let out = Tensor(uninitialized: shape)
        let src = data, dst = out.data
        Parallel.forRanges(count, minimumPerThread: elementwiseGrain) { r in
            bv_gelu_forward_f32(src + r.lowerBound, dst + r.lowerBound, r.count)
        }
        return Autograd.record(out, op: "gelu", inputs: [self]) { g in
            let dx = Tensor(uninitialized: self.shape)
            let x = self.data, dy = g.data, d = dx.data
            Parallel.forRanges(self.count, minimumPerThread: elementwiseGrain) { r in
                bv_gelu_backward_f32(x + r.lowerBound, dy + r.lowerBound, d + r.lowerBound, r.count)
            }
            return [dx]
        }
    }

    /// Passes values forward unchanged and multiplies the gradient by `scale` on the way back
    /// (LSQ's gradient scaling of step sizes).
    public func scalingGradient(by scale: Float) -> Tensor {
        let out = copy()
        return Autograd.record(out, op: "gradScale", inputs: [self]) { g in [g * scale] }
    }
}
