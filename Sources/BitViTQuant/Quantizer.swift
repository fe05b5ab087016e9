/// When a quantizer derives its learnable scales from the data it sees.
public enum ScaleInitialization: Sendable, Equatable {
    /// The scales keep the values they were constructed with.
    case none
    /// GSB's rule (docs/reference/gsb.md §4.7): on the first call, in training or evaluation mode, in which
    /// every scale still holds exactly 1.0 and this instance has not initialized before. The
    /// "initialized" flag lives in memory only, so a checkpoint restores the scale values and a
    /// loaded value ≠ 1.0 is what prevents a second initialization.
    case whileScalesAreOne
    /// Q-ViT's rule (docs/reference/qvit.md §3.2–3.3, also GSB's patch embedding): on the first training-mode
    /// call, recorded in the persistent buffer `init_state` (0 → 1) so that checkpoints restore
    /// it. Evaluation-mode calls never initialize.
    case firstTrainingCall
}

/// Called after every forward of an observed quantizer with its input and output.
public typealias QuantizerObserver = (_ quantizer: Quantizer, _ input: Tensor, _ output: Tensor) -> Void

/// A fake quantizer: a module that maps a tensor to its quantized (dequantized, float) value
/// and back-propagates with its own rule (straight-through estimators, LSQ step gradients),
/// not the true derivative of the forward.
///
/// A subclass passes its bit width to `init(bitWidth:scaleInitialization:)`, declares its learnable scales with `parameter(_:_:)` (and any persistent state
/// with `buffer(_:_:)`) in its initializer and overrides:
/// - `quantize(_:initializing:)`: the forward, computed eagerly, with its backward rule
///   attached by `Autograd.record` (one gradient per input: the tensor and each scale);
/// - `initializeScales(from:)` when it derives scales from data (`scaleInitialization`);
/// - `straightThroughFraction(of:)` when its gradient passes only inside a window.
///
/// `callAsFunction` runs the lazy initialization, the forward, and the observer, in that
/// order; subclasses do not override it. See docs/quantization.md for a complete example.
open class Quantizer: Module, Layer {
    /// Bits of the integer code behind each quantized value: 1 for the sign and binary
    /// quantizers (GSB's per group plane), b for the b-bit LSQ, Elastic and QD quantizers. Size
    /// and cost reports read a layer's deployed precision from it.
    public let bitWidth: Int
    /// When this quantizer initializes its scales from data.
    public let scaleInitialization: ScaleInitialization
    /// The persistent `init_state` flag (0 or 1) of `.firstTrainingCall` quantizers, rank 0.
    public let initState: Tensor?
    /// Receives every forward's input and output while set (diagnostics, see `QuantizerProbe`).
    public var observer: QuantizerObserver?
    private var initializedInMemory = false

    public init(bitWidth: Int, scaleInitialization: ScaleInitialization = .none) {
        precondition(bitWidth >= 1 && bitWidth <= 32, "Quantizer: \(bitWidth)-bit codes")
        self.bitWidth = bitWidth
        self.scaleInitialization = scaleInitialization
        initState = scaleInitialization == .firstTrainingCall ? Tensor.zeros([]) : nil
        super.init()
        if let initState { buffer("init_state", initState) }
    }

    /// Whether the scales hold data-derived (or loaded) values rather than placeholders.
    public var isInitialized: Bool {
        switch scaleInitialization {
        case .none: return true
        case .whileScalesAreOne: return initializedInMemory || !scalesAreAllOne
        case .firstTrainingCall: return initState!.item() != 0
        }
    }

    /// Whether the next call initializes the scales.
    public var initializesOnNextCall: Bool {
        switch scaleInitialization {
        case .none: return false
        case .whileScalesAreOne: return !initializedInMemory && scalesAreAllOne
        case .firstTrainingCall: return isTraining && initState!.item() == 0
        }
    }

    private var scalesAreAllOne: Bool {
        parameters.allSatisfy { p in p.scalars.allSatisfy { $0 == 1 } }
    }

    /// Quantizes `x`, first initializing the scales from `x` if this is the initializing call.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let initializing = initializesOnNextCall
        if initializing {
            withNoGrad { initializeScales(from: x) }
            markScalesInitialized()
        }
        let y = quantize(x, initializing: initializing)
        observer?(self, x, y)
        return y
    }

    /// Declares the current scale values final (set by hand or copied from elsewhere), so no
    /// later call re-initializes them.
    public func markScalesInitialized() {
        initializedInMemory = true
        initState?.data[0] = 1
    }

    /// The quantized value of `x` with the current scales: no initialization, no graph, no
    /// observer (inspection, e.g. weight sign flips).
    public func quantizedValue(of x: Tensor) -> Tensor {
        withNoGrad { quantize(x, initializing: false) }
    }

    // MARK: Subclass hooks

    /// Sets the scales from the first batch `x` (runs without autograd).
    open func initializeScales(from x: Tensor) {}

    /// The forward with its backward rule. `initializing` is true on the call that has just
    /// initialized the scales (GSB uses it for its first-call quirk, docs/reference/gsb.md §4.4).
    open func quantize(_ x: Tensor, initializing: Bool) -> Tensor {
        preconditionFailure("\(type(of: self)) must override quantize(_:initializing:)")
    }

    /// Fraction of the elements of `x` whose input gradient is non-zero under this quantizer's
    /// straight-through window with the current scales; nil when the estimator has no window
    /// (identity STE).
    open func straightThroughFraction(of x: Tensor) -> Double? { nil }
}
