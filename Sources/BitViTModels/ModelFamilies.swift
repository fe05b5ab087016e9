import BitViTQuant

/// The model families `ModelZoo` builds, recognized from a spec's name.
enum ModelFamily {
    case deit, swin, gsb, qvit, binaryBaseline, bhvit
}

extension ModelSpec {
    /// The family and the base preset a name denotes (`qvit-deit-small` → Q-ViT on
    /// `deit-small`), or a nil family for an unknown name.
    var family: (ModelFamily?, String) {
        if ViTConfig.presets[name] != nil { return (.deit, name) }
        if SwinConfig.presets[name] != nil { return (.swin, name) }
        if BHViTConfig.presets[name] != nil { return (.bhvit, name) }
        let prefixes: [(String, ModelFamily, Bool)] = [("gsb-", .gsb, false), ("qvit-", .qvit, true), ("w1a1-", .binaryBaseline, true)]
        for (prefix, family, allowsSwin) in prefixes where name.hasPrefix(prefix) {
            let base = String(name.dropFirst(prefix.count))
            if ViTConfig.presets[base] != nil || (allowsSwin && SwinConfig.presets[base] != nil) { return (family, base) }
        }
        return (nil, name)
    }

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
