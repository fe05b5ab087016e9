import BitViTCore

extension BHViTConfig {
    /// Model-spec options a BHViT accepts, with their values (first = default).
    public static let options: [String: [String]] = [
        "downsampling": ["fp", "binary"],
        "shift": ["true", "false"],
        "attention": ["qd", "fp"],
        "recu": ["false", "true"],
    ]

    /// The configuration `spec` describes: the preset `spec.name` (`bhvit-tiny`, `bhvit-small`,
    /// `bhvit-tiny-cifar`) with `spec.classes`, `spec.dropPathRate` and the options
    /// `downsampling` (`fp`: the † models, default; `binary`), `shift` (`true`/`false`: the six
    /// shift branches), `attention` (`qd`: QD-quantized probabilities, default; `fp`: plain
    /// softmax) and `recu` (`false`/`true`). The ViT geometry fields of `ModelSpec` (image
    /// size, patch size, width, depth, heads, MLP ratio, tokens, dropout) do not apply.
    public init(spec: ModelSpec) throws {
        guard var c = Self.presets[spec.name] else {
            throw BitViTError.invalidArgument("unknown BHViT preset '\(spec.name)'; known: \(Self.presets.keys.sorted().joined(separator: ", "))")
        }
        let unsupported: [(String, Bool)] = [
            ("image_size", spec.imageSize != nil), ("patch_size", spec.patchSize != nil),
            ("in_channels", spec.inChannels != nil), ("dim", spec.dim != nil), ("depth", spec.depth != nil),
            ("heads", spec.heads != nil), ("mlp_ratio", spec.mlpRatio != nil), ("distilled", spec.distilled == true),
            ("drop_rate", (spec.dropRate ?? 0) != 0),
        ]
        if let field = unsupported.first(where: { $0.1 })?.0 {
            throw BitViTError.invalidArgument("model.\(field) does not apply to \(spec.name): BHViT presets fix their geometry")
        }
        for (key, value) in spec.options {
            guard let allowed = Self.options[key] else {
                throw BitViTError.invalidArgument("unknown BHViT option '\(key)'; known: \(Self.options.keys.sorted().joined(separator: ", "))")
            }
            guard allowed.contains(value) else {
                throw BitViTError.invalidArgument("BHViT option \(key)=\(value): expected one of \(allowed.joined(separator: ", "))")
            }
        }
        c.classes = spec.classes
        if let rate = spec.dropPathRate { c.dropPathRate = rate }
        if let v = spec.options["downsampling"] { c.downsampling = BHViTDownsampling(rawValue: v)! }
        if let v = spec.options["shift"] { c.shiftBranches = v == "true" }
        if let v = spec.options["attention"] { c.attentionProbabilities = BHViTAttentionProbabilities(rawValue: v)! }
        if let v = spec.options["recu"] { c.recu = v == "true" }
        try c.validate()
        self = c
    }
}

extension BHViT {
    /// The model `spec` describes (see `BHViTConfig.init(spec:)`), initialized from `seed`.
    public convenience init(spec: ModelSpec, seed: UInt64 = 0) throws {
        try self.init(BHViTConfig(spec: spec), seed: seed)
    }
}
