import BitViTCore

/// Builds any of BitViT's model families from a serializable description, so training
/// recipes, checkpoints and the CLI can name models.
///
/// Each family adds one case to `make(_:)`; the description's `options` carry family-specific
/// settings (e.g. bit widths) as strings.
public struct ModelSpec: Codable, Equatable, Sendable {
    /// Family or preset name, e.g. `deit-tiny`, `vit-mnist`.
    public var name: String
    /// Classifier outputs.
    public var classes: Int
    /// Overrides of the preset geometry (nil keeps the preset's value).
    public var imageSize: Int?
    public var patchSize: Int?
    public var inChannels: Int?
    public var dim: Int?
    public var depth: Int?
    public var heads: Int?
    public var mlpRatio: Double?
    public var distilled: Bool?
    public var dropRate: Double?
    public var dropPathRate: Double?
    /// Family-specific settings.
    public var options: [String: String]

    public init(name: String, classes: Int, imageSize: Int? = nil, patchSize: Int? = nil,
                inChannels: Int? = nil, dim: Int? = nil, depth: Int? = nil, heads: Int? = nil,
                mlpRatio: Double? = nil, distilled: Bool? = nil, dropRate: Double? = nil,
                dropPathRate: Double? = nil, options: [String: String] = [:]) {
        self.name = name
        self.classes = classes
        self.imageSize = imageSize
        self.patchSize = patchSize
        self.inChannels = inChannels
        self.dim = dim
        self.depth = depth
        self.heads = heads
        self.mlpRatio = mlpRatio
        self.distilled = distilled
        self.dropRate = dropRate
        self.dropPathRate = dropPathRate
        self.options = options
    }

    /// The ViT geometry: the preset named by `base` (default: `name`) with overrides applied.
    public func vitConfig(base: String? = nil) throws -> ViTConfig {
        var c = try ViTConfig.preset(base ?? name, classes: classes)
        if let imageSize { c.imageSize = imageSize }
        if let patchSize { c.patchSize = patchSize }
        if let inChannels { c.inChannels = inChannels }
        if let dim { c.dim = dim }
        if let depth { c.depth = depth }
        if let heads { c.heads = heads }
        if let mlpRatio { c.mlpRatio = mlpRatio }
        if let distilled { c.distilled = distilled }
        if let dropRate { c.dropRate = dropRate }
        if let dropPathRate { c.dropPathRate = dropPathRate }
        try c.validate()
        return c
    }
}

public enum ModelZoo {
    /// Every model name `make(_:)` accepts.
    public static var names: [String] { ViTConfig.presets.keys.sorted() }

    /// Builds the model `spec` describes, initialized from `seed`.
    public static func make(_ spec: ModelSpec, seed: UInt64 = 0) throws -> any ImageClassifier {
        if ViTConfig.presets[spec.name] != nil {
            return try DeiT(spec.vitConfig(), seed: seed)
        }
        throw BitViTError.invalidArgument("unknown model '\(spec.name)'; known: \(names.joined(separator: ", "))")
    }
}
