import BitViTCore

/// Sane maxima of model geometry, checked (with the geometry's own consistency rules) before
/// any weight is allocated, wherever a model description comes from: a recipe, a checkpoint's
/// stored description, a command flag or a `.bitvit` file's metadata. docs/reliability.md
/// lists them; each is far above every preset (DeiT-B: 224 pixels, width 768, depth 12,
/// 12 heads, 1000 classes, 86.6 M parameters).
public enum ModelLimits {
    /// Side of the square input images, in pixels.
    public static let imageSize = 4096
    public static let inChannels = 64
    /// Token width (ViT `dim`, Swin and BHViT stage widths).
    public static let width = 8192
    /// Transformer blocks, over all stages.
    public static let blocks = 256
    public static let heads = 256
    public static let classes = 1 << 20
    /// MLP hidden width over the token width.
    public static let mlpRatio = 64.0
    /// Tokens of one attention sequence (patches plus class tokens).
    public static let tokens = 4098
    /// Estimated parameters (float32: 4 GiB).
    public static let parameters = 1 << 30

    /// Throws when `estimate` parameters exceed `parameters`; returns the estimate.
    @discardableResult
    static func checkParameters(_ estimate: Double, _ rules: FieldRules) throws -> Int {
        guard estimate <= Double(parameters) else {
            let whole = rules.prefix.hasSuffix(".") ? String(rules.prefix.dropLast()) : "the model"
            throw BitViTError.invalidArgument("\(whole) describes about \(Int(min(estimate, 1e18))) parameters; allowed at most \(parameters)")
        }
        return Int(estimate)
    }

    /// The checks shared by `ViTConfig` (recipes, checkpoints, flags) and the `.bitvit`
    /// architecture: ranges, divisibility, tokens and the parameter estimate, which is
    /// returned.
    @discardableResult
    public static func checkViT(imageSize: Int, patchSize: Int, inChannels: Int, dim: Int, depth: Int, heads: Int,
                         mlpHidden: Int, classes: Int, distilled: Bool, attentionBias: Bool, rules r: FieldRules) throws -> Int {
        try r.count("image_size", imageSize, 1...Self.imageSize)
        try r.count("patch_size", patchSize, 1...imageSize)
        guard imageSize % patchSize == 0 else {
            throw r.failure("image_size", "\(imageSize) is not a multiple of \(r.prefix)patch_size \(patchSize)")
        }
        try r.count("in_channels", inChannels, 1...Self.inChannels)
        try r.count("dim", dim, 1...width)
        try r.count("depth", depth, 1...blocks)
        try r.count("heads", heads, 1...min(Self.heads, dim))
        guard dim % heads == 0 else { throw r.failure("dim", "\(dim) is not divisible by \(r.prefix)heads \(heads)") }
        try r.count("classes", classes, 1...Self.classes)
        try r.count("mlp_hidden", mlpHidden, 1...Int(mlpRatio) * width)
        let grid = imageSize / patchSize
        let tokenCount = grid * grid + (distilled ? 2 : 1)
        guard tokenCount <= tokens else {
            throw r.failure("image_size", "\(imageSize) with \(r.prefix)patch_size \(patchSize) makes \(tokenCount) tokens; allowed at most \(tokens)")
        }
        let (c, n, h) = (Double(dim), Double(tokenCount), Double(mlpHidden))
        var estimate = c * Double(inChannels * patchSize * patchSize) + (n + 3) * c
        estimate += Double(depth) * (4 * c * c + 2 * c * h + 9 * c + h + (attentionBias ? Double(heads) * n * n : 0))
        estimate += Double(distilled ? 2 : 1) * (Double(classes) + 1) * c
        return try checkParameters(estimate, r)
    }
}

extension FieldRules {
    /// The rules for model descriptions: fields named as in recipes (`model.dim`).
    public static let model = FieldRules(prefix: "model.")
}
