import CBitViTPlatform
import Dispatch

/// Whether operations record the autograd graph. Per thread (like PyTorch's grad mode), on by
/// default; toggle with `withNoGrad`.
public enum GradMode {
    public static var isEnabled: Bool {
        get { bv_grad_mode_enabled() != 0 }
        set { bv_grad_mode_set(newValue ? 1 : 0) }
    }
}

/// Runs `body` without recording the autograd graph (evaluation, optimizer updates).
@discardableResult
public func withNoGrad<T>(_ body: () throws -> T) rethrows -> T {
    let previous = GradMode.isEnabled
    GradMode.isEnabled = false
    defer { GradMode.isEnabled = previous }
    return try body()
}

/// One recorded operation: its inputs and the rule that maps the output gradient to input
/// gradients. The closure owns whatever the rule needs (saved activations).
final class GradNode {
    let op: String
    var inputs: [Tensor]
    var backward: ((Tensor) -> [Tensor?])?

    init(op: String, inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]) {
        self.op = op
        self.inputs = inputs
        self.backward = backward
    }
}

/// Define-by-run reverse-mode differentiation.
///
/// Every differentiable op computes its output eagerly and then calls `record`, giving the
/// backward rule as a closure. That is also the public way to add an op whose gradient is not
/// the true derivative (straight-through estimators, LSQ step gradients):
///
/// ```swift
/// func signSTE(_ x: Tensor) -> Tensor {
///     let y = x.map { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }          // forward, no graph
///     return Autograd.record(y, op: "signSTE", inputs: [x]) { dy in
///         [dy * (x.abs() <= 1)]                                   // clipped identity
///     }
/// }
/// ```
///
/// The backward closure runs with recording disabled and returns one gradient per input, in
/// order (`nil` for inputs that get none); each must have its input's shape.
public enum Autograd {
    /// Attaches `backward` to `output` if recording is on and any input requires a gradient.
    /// `output` must be a tensor created by the op (not one of its inputs).
    @discardableResult
    public static func record(_ output: Tensor, op: String, inputs: [Tensor],
                              backward: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        guard GradMode.isEnabled, inputs.contains(where: { $0.requiresGrad }) else { return output }
        precondition(output.gradNode == nil, "\(op): output already belongs to another op")
        output.requiresGrad = true
        output.gradNode = GradNode(op: op, inputs: inputs, backward: backward)
        if OpProfiler.isEnabled { OpProfiler.forwardRecorded(op) }
        return output
    }
}

extension Tensor {
    /// Whether this tensor was produced by a recorded op (as opposed to a leaf).
    public var isLeaf: Bool { gradNode == nil }

    /// Back-propagates from this tensor. Without `gradient` the tensor must be a scalar and the
    /// seed is 1. Leaf gradients accumulate into `grad`; interior gradients are discarded.
    /// The graph is freed as it is consumed unless `retainGraph` is set.
    ///
    /// `onLeafGradient` is called with each leaf as soon as its gradient for this pass is
    /// complete, while the rest of the pass still runs (data-parallel training starts averaging
    /// those gradients across processes there). Leaves are reported in a fixed order for a
    /// given graph.
    public func backward(_ gradient: Tensor? = nil, retainGraph: Bool = false,
                         onLeafGradient: ((Tensor) -> Void)? = nil) {
        precondition(requiresGrad, "backward() on a tensor that does not require grad")
        let seed = gradient ?? {
            precondition(count == 1, "backward() without a gradient needs a scalar, got \(shape)")
            return Tensor(shape: shape, repeating: 1)
        }()
        precondition(seed.shape == shape, "gradient shape \(seed.shape) ≠ tensor shape \(shape)")

        // Topological order (inputs before outputs) by iterative depth-first search.
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (t, expanded) = stack.popLast() {
            if expanded { order.append(t); continue }
            guard visited.insert(ObjectIdentifier(t)).inserted else { continue }
            stack.append((t, true))
            for input in t.gradNode?.inputs ?? [] where input.requiresGrad {
                if !visited.contains(ObjectIdentifier(input)) { stack.append((input, false)) }
            }
        }

        var pending: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): seed]
        withNoGrad {
            for t in order.reversed() {
                guard let g = pending.removeValue(forKey: ObjectIdentifier(t)) else { continue }
                guard let node = t.gradNode else {
                    t.grad = t.grad.map { $0 + g } ?? g
                    onLeafGradient?(t)
                    continue
                }
                guard let rule = node.backward else {
                    preconditionFailure("backward through op '\(node.op)' whose graph was freed; use retainGraph")
                }
                let started = OpProfiler.isEnabled ? DispatchTime.now().uptimeNanoseconds : 0
                let inputGrads = rule(g)
                precondition(inputGrads.count == node.inputs.count,
                             "op '\(node.op)' returned \(inputGrads.count) gradients for \(node.inputs.count) inputs")
                for (input, ig) in zip(node.inputs, inputGrads) {
                    guard input.requiresGrad, let ig else { continue }
                    precondition(ig.shape == input.shape,
                                 "op '\(node.op)': gradient \(ig.shape) for input \(input.shape)")
                    let key = ObjectIdentifier(input)
                    pending[key] = pending[key].map { $0 + ig } ?? ig
                }
                if !retainGraph {
                    node.backward = nil
                    node.inputs = []
                }
                if OpProfiler.isEnabled { OpProfiler.backwardTimed(node.op, since: started) }
            }
        }
    }
}
