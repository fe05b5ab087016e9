import BitViTCore

/// Geometry of a Swin Transformer (Liu et al. 2021): patch size, width of the first stage,
/// blocks and heads per stage, attention window.
public struct SwinConfig: Codable, Equatable, Sendable {
    public var imageSize: Int
    public var patchSize: Int
    public var inChannels: Int
    /// Channels of the first stage; each later stage doubles them.
    public var dim: Int
    /// Blocks per stage.
    public var depths: [Int]
    /// Attention heads per stage.
    public var heads: [Int]
    /// Side of the square attention windows (clamped to a stage's resolution when smaller).
    public var windowSize: Int
    public var mlpRatio: Double
    public var classes: Int
    /// LayerNorm epsilon everywhere (PyTorch default 1e-5).
    public var layerNormEps: Double
    /// Largest stochastic-depth rate; rates rise linearly over all blocks of all stages.
    public var dropPathRate: Double

    public init(imageSize: Int = 224, patchSize: Int = 4, inChannels: Int = 3, dim: Int, depths: [Int], heads: [Int],
                windowSize: Int = 7, mlpRatio: Double = 4, classes: Int = 1000, layerNormEps: Double = 1e-5,
                dropPathRate: Double = 0) {
        self.imageSize = imageSize
        self.patchSize = patchSize
        self.inChannels = inChannels
        self.dim = dim
        self.depths = depths
        self.heads = heads
        self.windowSize = windowSize
        self.mlpRatio = mlpRatio
        self.classes = classes
        self.layerNormEps = layerNormEps
        self.dropPathRate = dropPathRate
    }

    public var stageCount: Int { depths.count }
    /// Token grid side of stage `i`.
    public func resolution(stage i: Int) -> Int { (imageSize / patchSize) >> i }
    /// Channels of stage `i`.
    public func width(stage i: Int) -> Int { dim << i }
    /// Channels of the final features.
    public var featureWidth: Int { width(stage: stageCount - 1) }
    /// The window of stage `i` and its cyclic shift for odd blocks: a stage no larger than the
    /// window uses one window over the whole grid and no shift (Swin's rule).
    public func window(stage i: Int) -> (size: Int, shift: Int) {
        let r = resolution(stage: i)
        return r <= windowSize ? (r, 0) : (windowSize, windowSize / 2)
    }

    /// Checks the geometry against itself and against `ModelLimits` (at most 8 stages, a patch
    /// grid of at most 65,536 tokens, windows of at most `ModelLimits.tokens`), without
    /// allocating; errors name the field, its value and what is allowed. Returns the estimated
    /// parameter count.
    @discardableResult
    public func validate(_ rules: FieldRules = .model) throws -> Int {
        let r = rules
        try r.count("image_size", imageSize, 1...ModelLimits.imageSize)
        try r.count("patch_size", patchSize, 1...imageSize)
        guard imageSize % patchSize == 0 else {
            throw r.failure("image_size", "\(imageSize) is not a multiple of \(r.prefix)patch_size \(patchSize)")
        }
        try r.count("in_channels", inChannels, 1...ModelLimits.inChannels)
        try r.count("classes", classes, 1...ModelLimits.classes)
        try r.number("mlp_ratio", mlpRatio, 0, ModelLimits.mlpRatio, lowerOpen: true)
        try r.number("drop_path_rate", dropPathRate, 0, 1, upperOpen: true)
        try r.number("layer_norm_eps", layerNormEps, 0, 1, lowerOpen: true, upperOpen: true)
        try r.count("options.depths (stages)", depths.count, 1...8)
        guard depths.count == heads.count else {
            throw r.failure("options.heads", "lists \(heads.count) stages, options.depths \(depths.count)")
        }
        for d in depths { try r.count("options.depths (each stage)", d, 1...ModelLimits.blocks) }
        try r.count("options.depths (total blocks)", depths.reduce(0, +), 1...ModelLimits.blocks)
        try r.count("dim", dim, 1...ModelLimits.width >> (depths.count - 1))
        let grid = imageSize / patchSize
        try r.count("image_size / patch_size (tokens)", grid * grid, 1...(1 << 16))
        try r.count("options.window", windowSize, 1...grid)
        var estimate = Double(dim * inChannels * patchSize * patchSize)
        for i in 0..<stageCount {
            try r.count("options.heads (stage \(i + 1))", heads[i], 1...ModelLimits.heads)
            guard grid % (1 << i) == 0, resolution(stage: i) > 0 else {
                throw r.failure("image_size", "gives a \(grid)×\(grid) token grid, which cannot be merged \(i) times")
            }
            let res = resolution(stage: i), w = window(stage: i).size
            try r.count("options.window", w * w, 1...ModelLimits.tokens)
            guard res % w == 0 else { throw r.failure("options.window", "\(w) does not divide the stage \(i + 1) resolution \(res)") }
            guard width(stage: i) % heads[i] == 0 else {
                throw r.failure("options.heads", "\(heads[i]) does not divide the stage \(i + 1) width \(width(stage: i))")
            }
            let c = Double(width(stage: i))
            let biasTable = Double(heads[i] * (2 * w - 1) * (2 * w - 1))
            let perBlock: Double = (4 + 2 * mlpRatio) * c * c + biasTable
            estimate += Double(depths[i]) * perBlock
            if i > 0 { estimate += 2 * c * c }
        }
        estimate += Double(classes + 1) * Double(featureWidth)
        return try ModelLimits.checkParameters(estimate, r)
    }

    // MARK: Presets

    /// Swin-T at 224 (28,288,354 parameters with 1000 classes).
    public static let swinTiny = SwinConfig(dim: 96, depths: [2, 2, 6, 2], heads: [3, 6, 12, 24])
    /// Swin-S at 224.
    public static let swinSmall = SwinConfig(dim: 96, depths: [2, 2, 18, 2], heads: [3, 6, 12, 24])
    /// Swin-T geometry on 32×32 RGB images (CIFAR), patch 4 and window 4: grids 8, 4, 2, 1.
    public static let swinTinyCIFAR = SwinConfig(imageSize: 32, patchSize: 4, dim: 96, depths: [2, 2, 6, 2],
                                                 heads: [3, 6, 12, 24], windowSize: 4, classes: 10)
    /// A two-stage Swin for 28×28 grayscale images (Fashion-MNIST), patch 2 and window 7:
    /// grids 14 (2×2 shifted windows) and 7.
    public static let swinMNIST = SwinConfig(imageSize: 28, patchSize: 2, inChannels: 1, dim: 64, depths: [2, 4],
                                             heads: [2, 4], windowSize: 7, mlpRatio: 2, classes: 10)

    /// Presets by name: `swin-tiny`, `swin-small`, `swin-tiny-cifar`, `swin-mnist`.
    public static let presets: [String: SwinConfig] = [
        "swin-tiny": .swinTiny, "swin-small": .swinSmall, "swin-tiny-cifar": .swinTinyCIFAR, "swin-mnist": .swinMNIST,
    ]

    /// The preset called `name`, optionally with another class count.
    public static func preset(_ name: String, classes: Int? = nil) throws -> SwinConfig {
        guard var c = presets[name] else {
            throw BitViTError.invalidArgument("unknown Swin preset '\(name)'; known: \(presets.keys.sorted().joined(separator: ", "))")
        }
        if let classes { c.classes = classes }
        return c
    }
}
