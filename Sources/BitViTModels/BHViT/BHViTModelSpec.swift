import BitViTCore

extension BHViTConfig {
    /// The model-spec options a BHViT accepts (see `init(spec:)`).
    public static let optionNames: Set<String> = ["downsampling", "shift", "attention", "recu", "depths"]

    /// The configuration `spec` describes: the preset `spec.name` (`bhvit-tiny`, `bhvit-small`,
    /// `bhvit-tiny-cifar`) with `spec.classes`, `spec.dropPathRate` and the options
    ///
    /// - `downsampling`: `fp` (the † models, default) or `binary`;
    /// - `shift`: the six shift branches (`true`, default; `false` for the ablation);
    /// - `attention`: `qd` (QD-quantized probabilities, default) or `fp` (plain softmax);
    /// - `recu`: ReCU's estimator in the binary linear layers (`false`, default);
    /// - `depths`: blocks per stage, e.g. `"2,2,6,2"` (default: the preset's).
    ///
    /// `spec.inChannels` sets the stem's input channels. The other ViT geometry fields of
    /// `ModelSpec` (image size, patch size, width, depth, heads, MLP ratio, distillation token,
    /// dropout) do not apply and are rejected.
    public init(spec: ModelSpec) throws {
        guard var c = Self.presets[spec.name] else {
            throw BitViTError.invalidArgument("unknown BHViT preset '\(spec.name)'; known: \(Self.presets.keys.sorted().joined(separator: ", "))")
        }
        let unsupported: [(String, Bool)] = [
            ("image_size", spec.imageSize != nil), ("patch_size", spec.patchSize != nil),
            ("dim", spec.dim != nil), ("depth", spec.depth != nil),
            ("heads", spec.heads != nil), ("mlp_ratio", spec.mlpRatio != nil), ("distilled", spec.distilled == true),
            ("drop_rate", (spec.dropRate ?? 0) != 0),
        ]
        if let field = unsupported.first(where: { $0.1 })?.0 {
            throw BitViTError.invalidArgument("model.\(field) does not apply to \(spec.name): BHViT presets fix their geometry (options: \(Self.optionNames.sorted().joined(separator: ", ")))")
        }
        try spec.requireOptions(Self.optionNames)
        c.classes = spec.classes
        // The stem is a full-precision convolution, so any input channel count works
        // (grayscale Fashion-MNIST: `in_channels: 1`).
        if let channels = spec.inChannels { c.inChannels = channels }
        if let rate = spec.dropPathRate { c.dropPathRate = rate }
        if let text = spec.options["downsampling"] {
            guard let v = BHViTDownsampling(rawValue: text) else {
                throw BitViTError.invalidArgument("model '\(spec.name)': option downsampling='\(text)' is not fp or binary")
            }
            c.downsampling = v
        }
        if let text = spec.options["attention"] {
            guard let v = BHViTAttentionProbabilities(rawValue: text) else {
                throw BitViTError.invalidArgument("model '\(spec.name)': option attention='\(text)' is not qd or fp")
            }
            c.attentionProbabilities = v
        }
        c.shiftBranches = try spec.boolOption("shift", default: c.shiftBranches)
        c.recu = try spec.boolOption("recu", default: c.recu)
        if let depths = try spec.listOption("depths", { Int($0) }) {
            guard depths.count == c.stages.count else {
                throw BitViTError.invalidArgument("model '\(spec.name)': option depths needs \(c.stages.count) values, got \(depths.count)")
            }
            for (i, d) in depths.enumerated() { c.stages[i].depth = d }
        }
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
