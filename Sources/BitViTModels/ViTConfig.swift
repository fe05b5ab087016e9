import BitViTCore

/// Geometry of a DeiT/ViT: image and patch size, width, depth, heads and head options.
public struct ViTConfig: Codable, Equatable, Sendable {
    public var imageSize: Int
    public var patchSize: Int
    public var inChannels: Int
    public var dim: Int
    public var depth: Int
    public var heads: Int
    public var mlpRatio: Double
    public var classes: Int
    /// LayerNorm epsilon of the blocks and the final norm (timm DeiT: 1e-6).
    public var layerNormEps: Double
    /// Adds a distillation token and a second head (`dist_token`, `head_dist`).
    public var distilled: Bool
    /// Dropout after attention projection and inside the MLP.
    public var dropRate: Double
    /// Largest stochastic-depth rate; block i uses `dropPathRate·i/(depth−1)`.
    public var dropPathRate: Double

    public init(imageSize: Int, patchSize: Int, inChannels: Int = 3, dim: Int, depth: Int,
                heads: Int, mlpRatio: Double = 4, classes: Int = 1000, layerNormEps: Double = 1e-6,
                distilled: Bool = false, dropRate: Double = 0, dropPathRate: Double = 0) {
        self.imageSize = imageSize
        self.patchSize = patchSize
        self.inChannels = inChannels
        self.dim = dim
        self.depth = depth
        self.heads = heads
        self.mlpRatio = mlpRatio
        self.classes = classes
        self.layerNormEps = layerNormEps
        self.distilled = distilled
        self.dropRate = dropRate
        self.dropPathRate = dropPathRate
    }

    /// Patches per side.
    public var gridSize: Int { imageSize / patchSize }
    /// Patch tokens plus the class (and distillation) token.
    public var tokenCount: Int { gridSize * gridSize + (distilled ? 2 : 1) }
    public var mlpHidden: Int { Int((Double(dim) * mlpRatio).rounded()) }

    /// Checks the geometry against itself and against `ModelLimits`, without allocating, and
    /// throws an error naming the field, its value and what is allowed (`rules` names the
    /// fields; `attentionBias` counts GSB's `[heads, tokens, tokens]` biases in the
    /// parameter estimate). Returns the estimated parameter count.
    @discardableResult
    public func validate(_ rules: FieldRules = .model, attentionBias: Bool = false) throws -> Int {
        try rules.number("mlp_ratio", mlpRatio, 0, ModelLimits.mlpRatio, lowerOpen: true)
        try rules.number("drop_rate", dropRate, 0, 1, upperOpen: true)
        try rules.number("drop_path_rate", dropPathRate, 0, 1, upperOpen: true)
        try rules.number("layer_norm_eps", layerNormEps, 0, 1, lowerOpen: true, upperOpen: true)
        try rules.count("dim", dim, 1...ModelLimits.width)
        return try ModelLimits.checkViT(imageSize: imageSize, patchSize: patchSize, inChannels: inChannels, dim: dim, depth: depth,
                                 heads: heads, mlpHidden: mlpHidden, classes: classes, distilled: distilled,
                                 attentionBias: attentionBias, rules: rules)
    }

    // MARK: Presets

    /// DeiT-Ti/16 at 224 (5,717,416 parameters with 1000 classes).
    public static let deitTiny = ViTConfig(imageSize: 224, patchSize: 16, dim: 192, depth: 12, heads: 3)
    /// DeiT-S/16 at 224 (22,050,664 parameters).
    public static let deitSmall = ViTConfig(imageSize: 224, patchSize: 16, dim: 384, depth: 12, heads: 6)
    /// DeiT-B/16 at 224 (86,567,656 parameters).
    public static let deitBase = ViTConfig(imageSize: 224, patchSize: 16, dim: 768, depth: 12, heads: 12)
    /// DeiT-Ti geometry on 32×32 RGB images (CIFAR), patch 4: 64 patches.
    public static let deitTinyCIFAR = ViTConfig(imageSize: 32, patchSize: 4, dim: 192, depth: 12, heads: 3, classes: 10)
    /// A small ViT for 28×28 grayscale images (Fashion-MNIST), patch 4: 49 patches.
    public static let vitMNIST = ViTConfig(imageSize: 28, patchSize: 4, inChannels: 1, dim: 128, depth: 6,
                                           heads: 4, mlpRatio: 2, classes: 10)

    /// Presets by name: `deit-tiny`, `deit-small`, `deit-base`, `deit-tiny-cifar`, `vit-mnist`.
    public static let presets: [String: ViTConfig] = [
        "deit-tiny": .deitTiny, "deit-small": .deitSmall, "deit-base": .deitBase,
        "deit-tiny-cifar": .deitTinyCIFAR, "vit-mnist": .vitMNIST,
    ]

    /// The preset called `name`, optionally distilled and with another class count.
    public static func preset(_ name: String, classes: Int? = nil, distilled: Bool = false) throws -> ViTConfig {
        guard var c = presets[name] else {
            throw BitViTError.invalidArgument("unknown model preset '\(name)'; known: \(presets.keys.sorted().joined(separator: ", "))")
        }
        if let classes { c.classes = classes }
        c.distilled = distilled
        return c
    }
}
