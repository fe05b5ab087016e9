import Foundation

// Differentiable elementwise arithmetic with broadcasting. Gradients of broadcast operands are
// summed back to the operand's shape.

extension Tensor {
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        let out = zipMap(a, b, AddFunction())
        return Autograd.record(out, op: "add", inputs: [a, b]) { g in
            [g.sumToShape(a.shape), g.sumToShape(b.shape)]
        }
    }

    public static func - (a: Tensor, b: Tensor) -> Tensor {
        let out = zipMap(a, b, SubtractFunction())
        return Autograd.record(out, op: "sub", inputs: [a, b]) { g in
            [g.sumToShape(a.shape), (-g).sumToShape(b.shape)]
        }
    }

    public static func * (a: Tensor, b: Tensor) -> Tensor {
        let out = zipMap(a, b, MultiplyFunction())
        return Autograd.record(out, op: "mul", inputs: [a, b]) { g in
            [a.requiresGrad ? (g * b).sumToShape(a.shape) : nil,
             b.requiresGrad ? (g * a).sumToShape(b.shape) : nil]
        }
    }

    public static func / (a: Tensor, b: Tensor) -> Tensor {
        let out = zipMap(a, b, DivideFunction())
        return Autograd.record(out, op: "div", inputs: [a, b]) { g in
            [a.requiresGrad ? (g / b).sumToShape(a.shape) : nil,
             b.requiresGrad ? zipMap(g * out, b) { -$0 / $1 }.sumToShape(b.shape) : nil]
        }
    }

    public static prefix func - (a: Tensor) -> Tensor {
        let out = a.map(AffineFunction(scale: -1, offset: 0))
        return Autograd.record(out, op: "neg", inputs: [a]) { g in [-g] }
    }

    // MARK: Scalars

    public static func + (a: Tensor, s: Float) -> Tensor {
        let out = a.map(AffineFunction(scale: 1, offset: s))
        return Autograd.record(out, op: "addScalar", inputs: [a]) { g in [g] }
    }
    public static func + (s: Float, a: Tensor) -> Tensor { a + s }
    public static func - (a: Tensor, s: Float) -> Tensor { a + (-s) }
    public static func - (s: Float, a: Tensor) -> Tensor {
        let out = a.map(AffineFunction(scale: -1, offset: s))
        return Autograd.record(out, op: "rsubScalar", inputs: [a]) { g in [-g] }
    }
    public static func * (a: Tensor, s: Float) -> Tensor {
        let out = a.map(AffineFunction(scale: s, offset: 0))
        return Autograd.record(out, op: "mulScalar", inputs: [a]) { g in [g * s] }
    }
    public static func * (s: Float, a: Tensor) -> Tensor { a * s }
    public static func / (a: Tensor, s: Float) -> Tensor { a * (1 / s) }
    public static func / (s: Float, a: Tensor) -> Tensor {
        let out = a.map { s / $0 }
        return Autograd.record(out, op: "rdivScalar", inputs: [a]) { g in
            [zipMap(g, a) { -s * $0 / ($1 * $1) }]
        }
    }

    // MARK: Binary functions

    /// Elementwise maximum; where equal, the gradient goes to `a`.
    public static func maximum(_ a: Tensor, _ b: Tensor) -> Tensor {
        let out = zipMap(a, b) { Swift.max($0, $1) }
        return Autograd.record(out, op: "maximum", inputs: [a, b]) { g in
            let takeA = zipMap(a, b) { $0 >= $1 ? 1 : 0 }
            return [(g * takeA).sumToShape(a.shape), (g * (1 - takeA)).sumToShape(b.shape)]
        }
    }

    /// Elementwise minimum; where equal, the gradient goes to `a`.
    public static func minimum(_ a: Tensor, _ b: Tensor) -> Tensor {
        let out = zipMap(a, b) { Swift.min($0, $1) }
        return Autograd.record(out, op: "minimum", inputs: [a, b]) { g in
            let takeA = zipMap(a, b) { $0 <= $1 ? 1 : 0 }
            return [(g * takeA).sumToShape(a.shape), (g * (1 - takeA)).sumToShape(b.shape)]
        }
    }

    /// `condition ≠ 0 ? a : b` elementwise (all three broadcast); no gradient to `condition`.
    public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        let shape = broadcastShape(broadcastShape(condition.shape, a.shape), b.shape)
        let c = condition.expanded(to: shape)
        let out = zipMap(zipMap(c, a) { $0 != 0 ? $1 : 0 }, zipMap(c, b) { $0 != 0 ? 0 : $1 }, +)
        return Autograd.record(out, op: "where", inputs: [a, b]) { g in
            [zipMap(c, g) { $0 != 0 ? $1 : 0 }.sumToShape(a.shape),
             zipMap(c, g) { $0 != 0 ? 0 : $1 }.sumToShape(b.shape)]
        }
    }
}

// MARK: Comparisons (masks of 0 and 1, never differentiated)

infix operator .> : ComparisonPrecedence
infix operator .< : ComparisonPrecedence
infix operator .>= : ComparisonPrecedence
infix operator .<= : ComparisonPrecedence
infix operator .== : ComparisonPrecedence
infix operator .!= : ComparisonPrecedence

extension Tensor {
    public static func .> (a: Tensor, b: Tensor) -> Tensor { zipMap(a, b) { $0 > $1 ? 1 : 0 } }
    public static func .< (a: Tensor, b: Tensor) -> Tensor { zipMap(a, b) { $0 < $1 ? 1 : 0 } }
    public static func .>= (a: Tensor, b: Tensor) -> Tensor { zipMap(a, b) { $0 >= $1 ? 1 : 0 } }
    public static func .<= (a: Tensor, b: Tensor) -> Tensor { zipMap(a, b) { $0 <= $1 ? 1 : 0 } }
    public static func .== (a: Tensor, b: Tensor) -> Tensor { zipMap(a, b) { $0 == $1 ? 1 : 0 } }
    public static func .!= (a: Tensor, b: Tensor) -> Tensor { zipMap(a, b) { $0 != $1 ? 1 : 0 } }
    public static func .> (a: Tensor, s: Float) -> Tensor { a.map { $0 > s ? 1 : 0 } }
    public static func .< (a: Tensor, s: Float) -> Tensor { a.map { $0 < s ? 1 : 0 } }
    public static func .>= (a: Tensor, s: Float) -> Tensor { a.map { $0 >= s ? 1 : 0 } }
    public static func .<= (a: Tensor, s: Float) -> Tensor { a.map { $0 <= s ? 1 : 0 } }
    public static func .== (a: Tensor, s: Float) -> Tensor { a.map { $0 == s ? 1 : 0 } }
    public static func .!= (a: Tensor, s: Float) -> Tensor { a.map { $0 != s ? 1 : 0 } }
}
