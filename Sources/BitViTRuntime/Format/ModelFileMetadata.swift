import BitViTPlatform

/// The model families a `.bitvit` file can hold; each has its own tensor manifest
/// (`ModelManifest`) and engine.
public enum ExportFamily: String, Codable, Sendable, CaseIterable {
    /// Full-precision DeiT (`<vit preset>`).
    case deit
    /// The plain W1A1 baseline (`w1a1-<vit preset>`).
    case binaryBaseline = "w1a1"
    /// GSB stage 2 (`gsb-<vit preset>`, `stage: 2`).
    case gsb
    /// Q-ViT at 2, 3, 4 or 8 bits (`qvit-<vit preset>`).
    case qvit
    /// BHViT († or fully binary).
    case bhvit
}

/// Geometry and family settings of an exported DeiT-style model (everything the engine needs
/// besides the tensors).
public struct ViTArchitecture: Codable, Equatable, Sendable {
    public var imageSize: Int
    public var patchSize: Int
    public var inChannels: Int
    public var dim: Int
    public var depth: Int
    public var heads: Int
    public var mlpHidden: Int
    public var classes: Int
    /// cls + dist tokens and two heads whose evaluation logits are averaged.
    public var distilled: Bool
    public var layerNormEps: Float
    /// Q-ViT: bit width of the block layers; nil otherwise.
    public var bits: Int?
    /// Q-ViT: whether q and k pass through the IRM LayerNorm (eps 1e-5).
    public var rectifiesQueriesAndKeys: Bool?
    /// GSB: the group thresholds (ratios of the batch-global extremes) of GSB_V and GSB_A.
    public var groupThresholds: [Float]?
    /// GSB and Q-ViT: the MLP hidden activation is clipped to ±this after GELU.
    public var mlpClip: Float?

    public init(imageSize: Int, patchSize: Int, inChannels: Int, dim: Int, depth: Int, heads: Int, mlpHidden: Int,
                classes: Int, distilled: Bool, layerNormEps: Float, bits: Int? = nil, rectifiesQueriesAndKeys: Bool? = nil,
                groupThresholds: [Float]? = nil, mlpClip: Float? = nil) {
        self.imageSize = imageSize
        self.patchSize = patchSize
        self.inChannels = inChannels
        self.dim = dim
        self.depth = depth
        self.heads = heads
        self.mlpHidden = mlpHidden
        self.classes = classes
        self.distilled = distilled
        self.layerNormEps = layerNormEps
        self.bits = bits
        self.rectifiesQueriesAndKeys = rectifiesQueriesAndKeys
        self.groupThresholds = groupThresholds
        self.mlpClip = mlpClip
    }

    public var gridSize: Int { imageSize / patchSize }
    public var patches: Int { gridSize * gridSize }
    public var tokens: Int { patches + (distilled ? 2 : 1) }
    public var headDim: Int { dim / heads }
    /// Columns of the patch-embedding weight: `inChannels·patchSize²`.
    public var patchInputs: Int { inChannels * patchSize * patchSize }

    /// Checks the numbers against each other and against `ModelLimits` (the same limits as
    /// recipes and checkpoints; fields named `vit.<field>`), or nil.
    func validate(family: ExportFamily) -> String? {
        let r = FieldRules(prefix: "vit.")
        do {
            try ModelLimits.checkViT(imageSize: imageSize, patchSize: patchSize, inChannels: inChannels, dim: dim, depth: depth,
                                     heads: heads, mlpHidden: mlpHidden, classes: classes, distilled: distilled,
                                     attentionBias: family == .gsb, rules: r)
            try r.number("layerNormEps", Double(layerNormEps), 0, 1, lowerOpen: true, upperOpen: true)
            if let mlpClip { try r.number("mlpClip", Double(mlpClip), 0, 1e6, lowerOpen: true) }
        } catch let e as BitViTError {
            return e.message
        } catch {
            return "\(error)"
        }
        if let bits, ![2, 3, 4, 8].contains(bits) { return "vit.bits is \(bits); allowed 2, 3, 4 or 8" }
        if let t = groupThresholds, t.count != 2 || !(0 < t[0] && t[0] < t[1] && t[1] < 1) {
            return "GSB thresholds \(t) (the engine runs 3 groups with 0 < t1 < t2 < 1)"
        }
        return nil
    }
}

/// The evaluation preprocessing stored with the model: resize (bicubic) to
/// `imageSize`×`imageSize` when the image differs, scale to [0, 1], then `(x − mean)/std` per
/// channel. Images enter the engine as `[B, channels, imageSize, imageSize]` floats.
public struct Preprocessing: Codable, Equatable, Sendable {
    public var imageSize: Int
    public var channels: Int
    public var mean: [Float]
    public var std: [Float]

    public init(imageSize: Int, channels: Int, mean: [Float], std: [Float]) {
        self.imageSize = imageSize
        self.channels = channels
        self.mean = mean
        self.std = std
    }
}

/// The JSON metadata section of a `.bitvit` file.
public struct ModelFileMetadata: Codable, Equatable, Sendable {
    public static let formatName = "bitvit-model"

    /// Always `bitvit-model`.
    public var format: String
    public var family: ExportFamily
    /// The description of the model as it was trained (the training library's `ModelSpec` as
    /// JSON, e.g. `{"name": "gsb-vit-mnist", "classes": 10, ...}`); the engine does not read it.
    public var model: JSONValue
    /// DeiT-style families.
    public var vit: ViTArchitecture?
    /// BHViT.
    public var bhvit: BHViTConfig?
    public var preprocessing: Preprocessing
    /// Class names in label order (`classes` entries).
    public var classNames: [String]
    /// Where the weights came from (checkpoint path), for `bitvit info`.
    public var source: String?

    public init(family: ExportFamily, model: JSONValue, vit: ViTArchitecture? = nil, bhvit: BHViTConfig? = nil,
                preprocessing: Preprocessing, classNames: [String], source: String? = nil) {
        format = Self.formatName
        self.family = family
        self.model = model
        self.vit = vit
        self.bhvit = bhvit
        self.preprocessing = preprocessing
        self.classNames = classNames
        self.source = source
    }

    /// Classifier outputs.
    public var classes: Int { vit?.classes ?? bhvit?.classes ?? 0 }

    /// The `name` of the recorded model description (`?` when it has none).
    public var modelName: String { model["name"]?.string ?? "?" }
}
