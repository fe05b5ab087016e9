import Foundation
import BitViTCore

/// One line of a run's `diagnostics.jsonl`: the state of every binary and low-bit layer and
/// quantizer after an epoch (docs/methods.md, "Quantizer diagnostics").
public struct DiagnosticsRecord: Codable, Equatable, Sendable {
    /// 1-based epoch just finished, and the optimizer steps taken.
    public var epoch: Int
    public var step: Int
    /// Per quantized layer (a latent weight behind a weight quantizer), in model order.
    public var layers: [LayerDiagnostics]
    /// Per quantizer, in model order.
    public var quantizers: [QuantizerDiagnostics]
    /// Images the quantizer probe ran on, and its seconds (flip tracking excluded).
    public var probeImages: Int
    public var probeSeconds: Double

    enum CodingKeys: String, CodingKey {
        case epoch, step, layers, quantizers, probeImages = "probe_images", probeSeconds = "probe_seconds"
    }

    public init(epoch: Int, step: Int, layers: [LayerDiagnostics], quantizers: [QuantizerDiagnostics],
                probeImages: Int, probeSeconds: Double) {
        self.epoch = epoch
        self.step = step
        self.layers = layers
        self.quantizers = quantizers
        self.probeImages = probeImages
        self.probeSeconds = probeSeconds
    }

    /// Flip ratio over the epoch of all layers together (each layer weighted by its weights).
    public var meanFlipRatio: Double? { Self.weightedMean(layers.compactMap { l in l.flipRatio.map { ($0, l.weights) } }) }
    /// Flip ratio of the epoch's first step of all layers together.
    public var meanStepFlipRatio: Double? { Self.weightedMean(layers.compactMap { l in l.stepFlipRatio.map { ($0, l.weights) } }) }

    static func weightedMean(_ values: [(Double, Int)]) -> Double? {
        let total = values.reduce(0) { $0 + $1.1 }
        guard total > 0 else { return nil }
        return values.reduce(0) { $0 + $1.0 * Double($1.1) } / Double(total)
    }
}

/// Sign flips of one quantized layer's weights.
public struct LayerDiagnostics: Codable, Equatable, Sendable {
    /// Dotted path of the layer (`blocks.3.mlp.fc1`).
    public var name: String
    /// Latent weights of the layer.
    public var weights: Int
    /// Fraction of quantized weights whose sign differs between the start and the end of the
    /// epoch (net flips: a weight that flips twice counts as unflipped). Nil when the epoch was
    /// resumed in its middle and no start snapshot exists.
    public var flipRatio: Double?
    /// Fraction that flipped in the epoch's first optimizer step: a sample of the per-step
    /// oscillation.
    public var stepFlipRatio: Double?

    enum CodingKeys: String, CodingKey {
        case name, weights, flipRatio = "flip_ratio", stepFlipRatio = "step_flip_ratio"
    }

    public init(name: String, weights: Int, flipRatio: Double?, stepFlipRatio: Double?) {
        self.name = name
        self.weights = weights
        self.flipRatio = flipRatio
        self.stepFlipRatio = stepFlipRatio
    }
}

/// What one quantizer saw on the probe batches, and its learned scales.
public struct QuantizerDiagnostics: Codable, Equatable, Sendable {
    /// Dotted path (`blocks.0.attn.qkv.input_quantizer`) and Swift type (`LSQActivationQuantizer`).
    public var name: String
    public var kind: String
    /// Fraction of probed inputs outside the straight-through window (where the estimator cuts
    /// the gradient); nil for identity estimators or quantizers the probe did not reach.
    public var outsideWindow: Double?
    /// Mean |x| of the probed inputs (nil when not reached).
    public var meanAbsInput: Double?
    /// Every learnable parameter of the quantizer (scales, zero points, thresholds), summarized.
    public var scales: [ScaleSummary]

    enum CodingKeys: String, CodingKey {
        case name, kind, outsideWindow = "outside_window", meanAbsInput = "mean_abs_input", scales
    }

    public init(name: String, kind: String, outsideWindow: Double?, meanAbsInput: Double?, scales: [ScaleSummary]) {
        self.name = name
        self.kind = kind
        self.outsideWindow = outsideWindow
        self.meanAbsInput = meanAbsInput
        self.scales = scales
    }
}

/// Summary of one learnable quantizer parameter (`alpha` of shape `[192]` → count 192, mean,
/// min, max).
public struct ScaleSummary: Codable, Equatable, Sendable {
    public var name: String
    public var count: Int
    public var mean: Double
    public var min: Double
    public var max: Double

    public init(name: String, values: [Float]) {
        self.name = name
        count = values.count
        mean = values.isEmpty ? 0 : values.reduce(0) { $0 + Double($1) } / Double(values.count)
        min = Double(values.min() ?? 0)
        max = Double(values.max() ?? 0)
    }
}

/// A run's `diagnostics.jsonl`.
public enum DiagnosticsLog {
    public static let fileName = "diagnostics.jsonl"

    public static func append(_ record: DiagnosticsRecord, to url: URL) throws {
        try MetricsLog(url: url).appendLine(try jsonString(record))
    }

    /// Reads every record; a malformed line is an error naming the line.
    public static func read(_ url: URL) throws -> [DiagnosticsRecord] {
        try JSONLines.read(url, as: DiagnosticsRecord.self, what: "diagnostics record")
    }

    /// Drops the records after epoch `epoch` (a resumed run writes them again), atomically.
    public static func truncate(_ url: URL, afterEpoch epoch: Int) throws {
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        let kept = try read(url).filter { $0.epoch <= epoch }
        try AtomicFile.write(try kept.map { try jsonString($0) + "\n" }.joined(), to: url)
    }
}
