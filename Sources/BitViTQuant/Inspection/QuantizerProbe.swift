/// Watches every quantizer of a model during forward passes and accumulates, per quantizer,
/// how much of its input lies outside its straight-through window (where the input gradient
/// is cut) and the mean magnitude of its input.
///
/// ```swift
/// let probe = QuantizerProbe(model)           // attaches observers
/// _ = model(images)
/// probe.detach()
/// for (name, s) in probe.statistics { print(name, s.outsideWindowFraction ?? "—") }
/// ```
/// Learned scales are ordinary parameters: read them with `model.quantizers()` and each
/// quantizer's `namedParameters()`, or `QuantizerProbe.scaleValues(of:)`.
public final class QuantizerProbe {
    /// What one quantizer saw while the probe was attached.
    public struct Statistics: Equatable, Sendable {
        /// Forward calls observed.
        public var calls = 0
        /// Input elements observed (over all calls).
        public var elements = 0
        /// Elements outside the straight-through window; nil for identity estimators.
        public var outsideWindow: Double?
        /// Σ|x| over the observed inputs.
        public var absoluteSum = 0.0

        /// Fraction of observed inputs whose gradient the estimator blocks.
        public var outsideWindowFraction: Double? {
            outsideWindow.map { $0 / Double(Swift.max(elements, 1)) }
        }
        /// Mean |x| of the observed inputs.
        public var meanAbsoluteInput: Double { absoluteSum / Double(Swift.max(elements, 1)) }
    }

    /// Statistics by the quantizer's dotted path in the model.
    public private(set) var statistics: [String: Statistics] = [:]
    private var watched: [(name: String, quantizer: Quantizer, previous: QuantizerObserver?)] = []

    /// Attaches to every quantizer of `model` for which `include` holds.
    public init(_ model: Module, include: (String, Quantizer) -> Bool = { _, _ in true }) {
        for (name, q) in model.quantizers() where include(name, q) {
            watched.append((name, q, q.observer))
            q.observer = { [weak self] quantizer, input, _ in
                self?.observe(name, quantizer, input)
            }
        }
    }

    deinit { detach() }

    /// Restores the quantizers' previous observers. Statistics stay readable.
    public func detach() {
        for w in watched { w.quantizer.observer = w.previous }
        watched = []
    }

    /// Forgets the accumulated statistics.
    public func reset() { statistics = [:] }

    private func observe(_ name: String, _ quantizer: Quantizer, _ input: Tensor) {
        var s = statistics[name] ?? Statistics()
        s.calls += 1
        s.elements += input.count
        s.absoluteSum += input.meanAbsolute * Double(input.count)
        if let inside = quantizer.straightThroughFraction(of: input) {
            s.outsideWindow = (s.outsideWindow ?? 0) + (1 - inside) * Double(input.count)
        }
        statistics[name] = s
    }

    /// Current values of every quantizer parameter of `model`, by full dotted name.
    public static func scaleValues(of model: Module) -> [String: [Float]] {
        var out: [String: [Float]] = [:]
        for (name, q) in model.quantizers() {
            for (p, t) in q.namedParameters() { out[name.isEmpty ? p : name + "." + p] = t.scalars }
        }
        return out
    }
}
