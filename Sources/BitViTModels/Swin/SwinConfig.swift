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

    /// Checks the geometry and throws a readable error when it cannot work.
    public func validate() throws {
        func fail(_ m: String) -> BitViTError { .invalidArgument("Swin config: \(m)") }
        guard imageSize > 0, patchSize > 0, imageSize % patchSize == 0 else {
            throw fail("image size \(imageSize) is not a multiple of the patch size \(patchSize)")
        }
        guard !depths.isEmpty, depths.count == heads.count, depths.allSatisfy({ $0 > 0 }) else {
            throw fail("depths \(depths) and heads \(heads) must be non-empty, positive and of equal length")
        }
        guard dim > 0, classes > 0, inChannels > 0, mlpRatio > 0, windowSize > 0 else {
            throw fail("width, classes, channels, MLP ratio and window must be positive")
        }
        guard (0..<1).contains(dropPathRate) else { throw fail("drop-path rate must be in [0, 1)") }
        let grid = imageSize / patchSize
        for i in 0..<stageCount {
            guard grid % (1 << i) == 0, resolution(stage: i) > 0 else {
                throw fail("a \(grid)×\(grid) token grid cannot be merged \(i) times")
            }
            let r = resolution(stage: i), w = window(stage: i).size
            guard r % w == 0 else { throw fail("stage \(i) resolution \(r) is not a multiple of the window \(w)") }
            guard width(stage: i) % heads[i] == 0 else { throw fail("stage \(i) width \(width(stage: i)) is not divisible by \(heads[i]) heads") }
        }
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
