import BitViTCore


/// A node of a model tree: owns parameters, buffers (non-trained state such as BatchNorm
/// running statistics) and named child modules.
///
/// Names are hierarchical and stable, built from registration names joined by dots, so a
/// DeiT's parameters read like timm's (`blocks.3.attn.qkv.weight`) and checkpoints load by name.
///
/// Subclasses create their tensors and children in `init`, register them with `parameter`,
/// `buffer` and `child`, and implement `callAsFunction`.
open class Module {
    /// True in training mode (dropout active, BatchNorm uses batch statistics).
    public private(set) var isTraining = true
    private var ownParameters: [(name: String, tensor: Tensor)] = []
    private var ownBuffers: [(name: String, tensor: Tensor)] = []
    private var children: [(name: String, module: Module)] = []

    public init() {}

    // MARK: Registration

    /// Registers a trainable tensor under `name` and marks it `requiresGrad`.
    @discardableResult
    public func parameter(_ name: String, _ tensor: Tensor) -> Tensor {
        precondition(!name.contains("."), "parameter names are single components: \(name)")
        tensor.requiresGrad = true
        ownParameters.append((name, tensor))
        return tensor
    }

    /// Registers persistent non-trainable state under `name`.
    @discardableResult
    public func buffer(_ name: String, _ tensor: Tensor) -> Tensor {
        ownBuffers.append((name, tensor))
        return tensor
    }

    /// Registers a child module under `name`.
    @discardableResult
    public func child<M: Module>(_ name: String, _ module: M) -> M {
        children.append((name, module))
        return module
    }

    // MARK: Traversal

    /// Every trainable tensor with its full dotted name, in registration order.
    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        var out: [(String, Tensor)] = []
        visit(prefix: "") { prefix, m in
            for p in m.ownParameters { out.append((prefix + p.name, p.tensor)) }
        }
        return out
    }

    /// Every buffer with its full dotted name.
    public func namedBuffers() -> [(name: String, tensor: Tensor)] {
        var out: [(String, Tensor)] = []
        visit(prefix: "") { prefix, m in
            for b in m.ownBuffers { out.append((prefix + b.name, b.tensor)) }
        }
        return out
    }

    /// Every module in the tree (self first) with its dotted path ("" for self).
    public func namedModules() -> [(name: String, module: Module)] {
        var out: [(String, Module)] = []
        visit(prefix: "") { prefix, m in out.append((prefix.isEmpty ? "" : String(prefix.dropLast()), m)) }
        return out
    }

    public var parameters: [Tensor] { namedParameters().map(\.tensor) }

    /// Total number of trainable scalars.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    private func visit(prefix: String, _ body: (String, Module) -> Void) {
        body(prefix, self)
        for c in children { c.module.visit(prefix: prefix + c.name + ".", body) }
    }

    // MARK: Modes and gradients

    /// Switches this module and its descendants to training (`true`) or evaluation mode.
    public func train(_ on: Bool = true) {
        for (_, m) in namedModules() { m.isTraining = on }
    }

    /// Switches to evaluation mode.
    public func eval() { train(false) }

    /// Clears every parameter's gradient.
    public func zeroGrad() {
        for p in parameters { p.grad = nil }
    }

    // MARK: State

    /// Parameters and buffers by full name (the tensors themselves, not copies).
    public func stateDict() -> [String: Tensor] {
        var d: [String: Tensor] = [:]
        for (n, t) in namedParameters() { d[n] = t }
        for (n, t) in namedBuffers() { d[n] = t }
        return d
    }

    /// Names in registration order (parameters, then buffers).
    public var stateNames: [String] { namedParameters().map(\.name) + namedBuffers().map(\.name) }

    /// What `load(_:strict:)` matched.
    public struct LoadReport: Equatable {
        /// Model tensors the source did not provide (left unchanged).
        public var missing: [String]
        /// Source tensors the model does not have (ignored).
        public var unexpected: [String]
    }

    /// Copies values into this model's tensors by name.
    ///
    /// With `strict`, a missing or unexpected name is an error; without it they are reported
    /// and skipped (e.g. initializing a quantized model from a full-precision checkpoint).
    /// Shapes must always match.
    @discardableResult
    public func load(_ state: [String: Tensor], strict: Bool = true) throws -> LoadReport {
        let mine = stateDict()
        let missing = mine.keys.filter { state[$0] == nil }.sorted()
        let unexpected = state.keys.filter { mine[$0] == nil }.sorted()
        if strict && !(missing.isEmpty && unexpected.isEmpty) {
            throw BitViTError.invalidArgument(
                "state does not match the model: missing \(missing.prefix(8))\(missing.count > 8 ? "…" : ""), unexpected \(unexpected.prefix(8))\(unexpected.count > 8 ? "…" : "")")
        }
        for (name, target) in mine {
            guard let source = state[name] else { continue }
            guard source.count == target.count, source.shape == target.shape || source.count == 1 else {
                throw BitViTError.shapeMismatch("'\(name)': model has \(target.shape), source has \(source.shape)")
            }
        }
        for (name, target) in mine { if let source = state[name] { target.assign(source) } }
        loadDidFinish()
        return LoadReport(missing: missing, unexpected: unexpected)
    }

    /// Called on every module after `load`; override to refresh derived state.
    open func didLoad() {}

    private func loadDidFinish() {
        for (_, m) in namedModules() { m.didLoad() }
    }
}

/// A module with one tensor input and one tensor output.
public protocol Layer: Module {
    func callAsFunction(_ x: Tensor) -> Tensor
}

/// An indexed list of child modules named "0", "1", … (PyTorch `ModuleList`).
public final class ModuleList<M: Module>: Module, RandomAccessCollection {
    public private(set) var items: [M] = []

    public init(_ items: [M]) {
        super.init()
        for m in items { append(m) }
    }

    public func append(_ m: M) {
        child(String(items.count), m)
        items.append(m)
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { items.count }
    public subscript(i: Int) -> M { items[i] }
}

/// Applies layers in order; children are named "0", "1", ….
public final class Sequential: Module, Layer {
    public let layers: [any Layer]

    public init(_ layers: [any Layer]) {
        self.layers = layers
        super.init()
        for (i, l) in layers.enumerated() { child(String(i), l) }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        layers.reduce(x) { $1($0) }
    }
}

/// A shared, seeded random stream for the stochastic layers of one model (dropout, drop path),
/// so a checkpoint can save and restore it.
public final class RandomSource {
    public var generator: RandomGenerator

    public init(seed: UInt64) { generator = RandomGenerator(seed: seed) }
}
