/// A layer with a latent full-precision weight that is quantized on the way into its product
/// (`QuantizedLinear`, `QuantizedConv2d`). Diagnostics reach binary and low-bit layers
/// through this protocol.
public protocol QuantizedLayer: Module {
    /// The full-precision weight the optimizer updates.
    var latentWeight: Tensor { get }
    /// Quantizes `latentWeight`; nil when the weight stays full precision.
    var weightQuantizer: Quantizer? { get }
    /// Quantizes the layer input; nil when the input stays full precision.
    var inputQuantizer: Quantizer? { get }
}

extension Module {
    /// Every quantizer in the tree with its dotted path, in registration order.
    public func quantizers() -> [(name: String, quantizer: Quantizer)] {
        namedModules().compactMap { entry in (entry.module as? Quantizer).map { (entry.name, $0) } }
    }

    /// Every quantized layer in the tree with its dotted path, in registration order.
    public func quantizedLayers() -> [(name: String, layer: any QuantizedLayer)] {
        namedModules().compactMap { entry in (entry.module as? any QuantizedLayer).map { (entry.name, $0) } }
    }

    /// Number of trainable scalars that belong to quantizers (steps, zero points, shifts
    /// owned by a quantizer).
    public var quantizerParameterCount: Int {
        quantizers().reduce(0) { $0 + $1.quantizer.parameterCount }
    }

    /// Whether every quantizer in the tree holds initialized scales.
    public var quantizersAreInitialized: Bool {
        quantizers().allSatisfy { $0.quantizer.isInitialized }
    }
}
