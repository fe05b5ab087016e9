/// Measures how often the quantized weights of a model change sign between snapshots (the
/// "flip ratio" of latent binary weights; for multi-bit weights, sign changes of the
/// quantized value).
///
/// ```swift
/// let flips = WeightFlipTracker(model)      // first snapshot
/// optimizer.step()
/// let ratios = flips.update()               // fraction of flipped weights per layer
/// ```
public final class WeightFlipTracker {
    private var layers: [(name: String, layer: any QuantizedLayer, quantizer: Quantizer)] = []
    private var signs: [String: [Int8]] = [:]

    /// Tracks every quantized layer of `model` that has a weight quantizer, and snapshots
    /// their current signs.
    public init(_ model: Module) {
        for (name, layer) in model.quantizedLayers() {
            if let q = layer.weightQuantizer { layers.append((name, layer, q)) }
        }
        _ = update()
    }

    /// Names of the tracked layers.
    public var layerNames: [String] { layers.map(\.name) }

    /// Snapshots the current signs and returns, per layer, the fraction of weights whose
    /// quantized sign differs from the previous snapshot.
    @discardableResult
    public func update() -> [String: Double] {
        var ratios: [String: Double] = [:]
        for (name, layer, quantizer) in layers {
            let q = quantizer.quantizedValue(of: layer.latentWeight)
            let current = q.scalars.map { Int8(signum($0)) }
            if let previous = signs[name] {
                let flipped = zip(previous, current).reduce(0) { $0 + ($1.0 != $1.1 ? 1 : 0) }
                ratios[name] = Double(flipped) / Double(Swift.max(current.count, 1))
            }
            signs[name] = current
        }
        return ratios
    }
}
