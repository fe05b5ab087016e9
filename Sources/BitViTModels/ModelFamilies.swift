import BitViTQuant

/// The model families `ModelZoo` builds: one list of every family, its name prefix and the
/// presets its names combine with (`gsb-` + a ViT preset, `qvit-` + a ViT or Swin preset, …).
public enum ModelFamily: String, CaseIterable, Sendable {
    case deit, swin, gsb, qvit, binaryBaseline = "w1a1", bhvit

    /// What the family's model names start with before the preset (empty: the preset itself).
    public var prefix: String {
        switch self {
        case .deit, .swin, .bhvit: return ""
        case .gsb: return "gsb-"
        case .qvit: return "qvit-"
        case .binaryBaseline: return "w1a1-"
        }
    }

    /// The presets a model name of this family names, sorted.
    public var presets: [String] {
        let vit = ViTConfig.presets.keys.sorted(), swin = SwinConfig.presets.keys.sorted()
        switch self {
        case .deit, .gsb: return vit
        case .swin: return swin
        case .qvit, .binaryBaseline: return vit + swin
        case .bhvit: return BHViTConfig.presets.keys.sorted()
        }
    }

    /// Every model name of the family.
    public var modelNames: [String] { presets.map { prefix + $0 } }

    /// The family and the base preset a model name denotes (`qvit-deit-small` → Q-ViT on
    /// `deit-small`), or nil for an unknown name.
    public static func of(modelName name: String) -> (family: ModelFamily, preset: String)? {
        // Families with a prefix first: `gsb-…` is never a preset name.
        for family in allCases.sorted(by: { $0.prefix.count > $1.prefix.count }) where name.hasPrefix(family.prefix) {
            let preset = String(name.dropFirst(family.prefix.count))
            if family.presets.contains(preset) { return (family, preset) }
        }
        return nil
    }
}

extension ModelSpec {
    /// The family and the base preset of `name`, or nil for an unknown name.
    public var family: (family: ModelFamily, preset: String)? { ModelFamily.of(modelName: name) }

    /// Throws if `options` holds a key outside `allowed`.
    func requireOptions(_ allowed: Set<String>) throws {
        let unknown = Set(options.keys).subtracting(allowed)
        guard unknown.isEmpty else {
            throw BitViTError.invalidArgument("model '\(name)': unknown options \(unknown.sorted()); allowed: \(allowed.sorted())")
        }
    }

    func intOption(_ key: String, default value: Int) throws -> Int {
        guard let text = options[key] else { return value }
        guard let v = Int(text) else { throw BitViTError.invalidArgument("model '\(name)': option \(key)='\(text)' is not an integer") }
        return v
    }

    func boolOption(_ key: String, default value: Bool) throws -> Bool {
        guard let text = options[key]?.lowercased() else { return value }
        switch text {
        case "true", "yes", "1": return true
        case "false", "no", "0": return false
        default: throw BitViTError.invalidArgument("model '\(name)': option \(key)='\(text)' is not a boolean")
        }
    }

    func listOption<T>(_ key: String, _ parse: (String) -> T?) throws -> [T]? {
        guard let text = options[key] else { return nil }
        let items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let values = items.compactMap(parse)
        guard values.count == items.count, !values.isEmpty else {
            throw BitViTError.invalidArgument("model '\(name)': option \(key)='\(text)' is not a comma-separated list")
        }
        return values
    }

    /// The ViT geometry of `base` with the distillation token unless `distilled` says otherwise.
    func distilledVitConfig(base: String) throws -> ViTConfig {
        var spec = self
        if spec.distilled == nil { spec.distilled = true }
        return try spec.vitConfig(base: base)
    }

    /// GSB's geometry: distilled by default, TF-style LayerNorm eps 1e-12.
    func gsbConfig(base: String) throws -> ViTConfig {
        var c = try distilledVitConfig(base: base)
        c.layerNormEps = 1e-12
        return c
    }

    func gsbOptions() throws -> GSBOptions {
        try requireOptions(["stage", "groups", "thresholds", "first_call_subtract"])
        let stageNumber = try intOption("stage", default: 2)
        guard let stage = GSBStage(rawValue: stageNumber) else {
            throw BitViTError.invalidArgument("model '\(name)': GSB stage must be 1 or 2, got \(stageNumber)")
        }
        let groups = try intOption("groups", default: 3)
        try FieldRules.model.count("options.groups", groups, 1...8)
        let thresholds = try listOption("thresholds") { Float($0) }
        if let thresholds {
            guard thresholds.count == groups - 1 else {
                throw BitViTError.invalidArgument("model '\(name)': \(groups) groups need \(groups - 1) thresholds, got \(thresholds.count)")
            }
            for t in thresholds { try FieldRules.model.number("options.thresholds", Double(t), 0, 1, lowerOpen: true, upperOpen: true) }
            guard zip(thresholds, thresholds.dropFirst()).allSatisfy({ $0 < $1 }) else {
                throw FieldRules.model.failure("options.thresholds", "\(thresholds) must ascend")
            }
        }
        return GSBOptions(stage: stage, groups: groups, thresholds: thresholds,
                          subtractsOnFirstCall: try boolOption("first_call_subtract", default: true))
    }

    func qvitScheme() throws -> QViTScheme {
        let bits = try intOption("bits", default: 4)
        guard [2, 3, 4, 8].contains(bits) else {
            throw BitViTError.invalidArgument("model '\(name)': Q-ViT bits must be 2, 3, 4 or 8, got \(bits)")
        }
        return QViTScheme(bits: bits, rectifiesQueriesAndKeys: try boolOption("irm", default: true))
    }

    func binaryBaselineScheme() throws -> BinaryBaselineScheme {
        switch options["estimator"]?.lowercased() ?? "ste" {
        case "ste": return BinaryBaselineScheme(estimator: .clippedIdentity)
        case "approxsign": return BinaryBaselineScheme(estimator: .approxSign)
        case let other: throw BitViTError.invalidArgument("model '\(name)': estimator must be ste or approxsign, got \(other)")
        }
    }

    /// The Swin geometry: the preset `base` with overrides of image size, patch size, input
    /// channels, width, MLP ratio and drop-path rate, and options `depths`, `heads`
    /// (comma-separated per stage) and `window`.
    func swinConfig(base: String, extraOptions: Set<String>) throws -> SwinConfig {
        try requireOptions(extraOptions.union(["depths", "heads", "window"]))
        guard depth == nil, heads == nil, distilled != true, dropRate == nil else {
            throw BitViTError.invalidArgument("model '\(name)': Swin takes depths and heads as options, and has no distillation token or dropout")
        }
        var c = try SwinConfig.preset(base, classes: classes)
        if let imageSize { c.imageSize = imageSize }
        if let patchSize { c.patchSize = patchSize }
        if let inChannels { c.inChannels = inChannels }
        if let dim { c.dim = dim }
        if let mlpRatio { c.mlpRatio = mlpRatio }
        if let dropPathRate { c.dropPathRate = dropPathRate }
        if let depths = try listOption("depths", { Int($0) }) { c.depths = depths }
        if let heads = try listOption("heads", { Int($0) }) { c.heads = heads }
        c.windowSize = try intOption("window", default: c.windowSize)
        try c.validate()
        return c
    }
}
