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
    public static var names: [String] { ModelFamily.allCases.flatMap(\.modelNames) }

    /// The family and preset of `spec`, or an error listing the known names.
    static func family(of spec: ModelSpec) throws -> (family: ModelFamily, preset: String) {
        guard let f = spec.family else {
            throw BitViTError.invalidArgument("unknown model '\(spec.name)'; known: \(names.joined(separator: ", "))")
        }
        return f
    }

    /// What a data pipeline needs to know about the model `spec` describes: the side of its
    /// square input images, their channels, and its classes. No weights are allocated.
    public static func inputGeometry(_ spec: ModelSpec) throws -> (imageSize: Int, inChannels: Int, classes: Int) {
        _ = try validate(spec)
        let (family, preset) = try family(of: spec)
        switch family {
        case .bhvit:
            let c = try BHViTConfig(spec: spec)
            return (c.imageSize, c.inChannels, c.classes)
        default:
            if let swin = SwinConfig.presets[preset] {
                return (spec.imageSize ?? swin.imageSize, spec.inChannels ?? swin.inChannels, spec.classes)
            }
            let c = try spec.vitConfig(base: preset)
            return (c.imageSize, c.inChannels, c.classes)
        }
    }

    /// Throws if `spec` does not describe a model `make(_:)` can build: an unknown name or
    /// option, inconsistent geometry, or geometry beyond `ModelLimits`. Nothing is allocated,
    /// so a hostile description (width 65,536, 2³¹ classes) fails here in microseconds; every
    /// entry point (recipes, checkpoints, flags, `.bitvit` metadata) goes through this check.
    /// Errors name the field as in recipes (`model.dim is 65536; allowed 1…8192`). Returns the
    /// estimated parameter count (within a few per cent for every preset).
    @discardableResult
    public static func validate(_ spec: ModelSpec) throws -> Int {
        let rules = FieldRules.model
        try rules.count("classes", spec.classes, 1...ModelLimits.classes)
        if let v = spec.mlpRatio { try rules.number("mlp_ratio", v, 0, ModelLimits.mlpRatio, lowerOpen: true) }
        if let v = spec.dropRate { try rules.number("drop_rate", v, 0, 1, upperOpen: true) }
        if let v = spec.dropPathRate { try rules.number("drop_path_rate", v, 0, 1, upperOpen: true) }
        let (family, preset) = try family(of: spec)
        switch family {
        case .deit:
            return try spec.vitConfig().validate()
        case .swin:
            return try spec.swinConfig(base: preset, extraOptions: []).validate()
        case .gsb:
            let options = try spec.gsbOptions()
            let config = try spec.gsbConfig(base: preset)
            try GSBDeiT.requireNoDropout(config)
            return try config.validate(attentionBias: options.stage != .binaryMLPWeights)
        case .qvit:
            _ = try spec.qvitScheme()
            if SwinConfig.presets[preset] != nil {
                return try spec.swinConfig(base: preset, extraOptions: ["bits", "irm"]).validate()
            }
            try spec.requireOptions(["bits", "irm"])
            return try spec.distilledVitConfig(base: preset).validate()
        case .binaryBaseline:
            _ = try spec.binaryBaselineScheme()
            if SwinConfig.presets[preset] != nil {
                return try spec.swinConfig(base: preset, extraOptions: ["estimator"]).validate()
            }
            try spec.requireOptions(["estimator"])
            return try spec.distilledVitConfig(base: preset).validate()
        case .bhvit:
            return try BHViTConfig(spec: spec).validate()
        }
    }

    /// Builds the model `spec` describes, initialized from `seed`.
    ///
    /// Families (options in `spec.options`, see docs/quantization.md):
    /// - `<vit preset>`: full-precision DeiT;
    /// - `<swin preset>`: full-precision Swin (options `depths`, `heads`, `window`);
    /// - `gsb-<vit preset>`: GSB, options `stage` (1 or 2, default 2), `groups` (3),
    ///   `thresholds` ("0.7,0.9"), `first_call_subtract` (true);
    /// - `qvit-<vit or swin preset>`: Q-ViT, options `bits` (2, 3, 4 or 8; default 4), `irm` (true);
    /// - `w1a1-<vit or swin preset>`: plain binary baseline, option `estimator`
    ///   (`ste` or `approxsign`, default `ste`);
    /// - `bhvit-tiny`, `bhvit-small`, `bhvit-tiny-cifar`: BHViT, options `downsampling`
    ///   (`fp`, `binary`), `shift`, `attention` (`qd`, `fp`), `recu` (see docs/bhvit.md).
    /// DeiT-based quantized families default to the distilled architecture.
    public static func make(_ spec: ModelSpec, seed: UInt64 = 0) throws -> any ImageClassifier {
        _ = try validate(spec)
        let (family, preset) = try family(of: spec)
        switch family {
        case .deit:
            return try DeiT(spec.vitConfig(), seed: seed)
        case .swin:
            return try SwinTransformer(spec.swinConfig(base: preset, extraOptions: []), seed: seed)
        case .gsb:
            return try GSBDeiT(spec.gsbConfig(base: preset), options: spec.gsbOptions(), seed: seed)
        case .qvit:
            let scheme = try spec.qvitScheme()
            if SwinConfig.presets[preset] != nil {
                return try SwinTransformer(spec.swinConfig(base: preset, extraOptions: ["bits", "irm"]), scheme: scheme, seed: seed)
            }
            try spec.requireOptions(["bits", "irm"])
            return try QuantizedDeiT(spec.distilledVitConfig(base: preset), scheme: scheme, seed: seed)
        case .binaryBaseline:
            let scheme = try spec.binaryBaselineScheme()
            if SwinConfig.presets[preset] != nil {
                return try SwinTransformer(spec.swinConfig(base: preset, extraOptions: ["estimator"]), scheme: scheme, seed: seed)
            }
            try spec.requireOptions(["estimator"])
            return try QuantizedDeiT(spec.distilledVitConfig(base: preset), scheme: scheme, seed: seed)
        case .bhvit:
            return try BHViT(spec: spec, seed: seed)
        }
    }
}
