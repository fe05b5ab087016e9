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
    package static func checkParameters(_ estimate: Double, _ rules: FieldRules) throws -> Int {
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

extension ModelLimits {
    /// The checks of a BHViT geometry, for recipes, checkpoints and `.bitvit` files alike:
    /// ranges, a stem that tiles the image, widths in groups of 4, resolutions that halve
    /// exactly, windows of `BHViTConfig.windowSize` that tile the attention stages, heads that
    /// divide the width, a binary downsampling whose residual tiles, and the parameter
    /// estimate, which is returned.
    @discardableResult
    public static func checkBHViT(_ config: BHViTConfig, rules r: FieldRules) throws -> Int {
        let (imageSize, inChannels, stemKernel, stemStride) = (config.imageSize, config.inChannels, config.stemKernel, config.stemStride)
        let (stages, classes, windowSize) = (config.stages, config.classes, BHViTConfig.windowSize)
        func fail(_ m: String) -> BitViTError { .invalidArgument("BHViT config: \(m)") }
        try r.count("image_size", imageSize, 1...Self.imageSize)
        try r.count("in_channels", inChannels, 1...Self.inChannels)
        try r.count("classes", classes, 1...Self.classes)
        guard imageSize >= stemKernel, stemKernel > 0, stemStride > 0, (imageSize - stemKernel) % stemStride == 0 else {
            throw fail("the \(stemKernel)×\(stemKernel) stride-\(stemStride) stem does not tile \(imageSize)×\(imageSize) images")
        }
        try r.count("stages", stages.count, 1...8)
        for s in stages { try r.count("options.depths (each stage)", s.depth, 1...blocks) }
        try r.count("options.depths (total blocks)", stages.reduce(0) { $0 + $1.depth }, 1...blocks)
        let stemResolution = (imageSize - stemKernel) / stemStride + 1
        let stemWidth = Double(stages[0].width), stemTokens = Double(stemResolution * stemResolution)
        var estimate: Double = stemWidth * Double(inChannels * stemKernel * stemKernel) + stemTokens * stemWidth
        for (i, s) in stages.enumerated() {
            let res = stemResolution >> i
            try r.count("stage \(i + 1) width", s.width, 1...width)
            try r.count("stage \(i + 1) MLP ratio", s.mlpRatio, 1...Int(mlpRatio))
            // Groups of 4 in the MSGDC convolutions; channel quarters in the mixed shifts.
            guard s.width % 4 == 0 else { throw fail("stage \(i + 1): width \(s.width) is not a multiple of 4") }
            guard res >= 1 else { throw fail("stage \(i + 1): the \(imageSize)×\(imageSize) images leave no tokens") }
            if i + 1 < stages.count {
                guard res % 2 == 0 else { throw fail("stage \(i + 1): resolution \(res) cannot be halved exactly") }
                if config.downsampling == .binary {
                    guard stages[i + 1].width % s.width == 0 else {
                        throw fail("binary downsampling tiles its residual: width \(stages[i + 1].width) is not a multiple of \(s.width)")
                    }
                }
            }
            if s.mixer == .attention {
                guard res % windowSize == 0 else {
                    throw fail("stage \(i + 1): attention needs a resolution divisible by \(windowSize), got \(res)")
                }
                try r.count("stage \(i + 1) heads", s.heads, 1...heads)
                guard s.width % s.heads == 0 else {
                    throw fail("stage \(i + 1): width \(s.width) is not divisible by \(s.heads) heads")
                }
            }
            let c = Double(s.width), ratio = Double(s.mlpRatio)
            let perBlock: Double = (5 + 2 * ratio) * c * c + 64 * c
            estimate += Double(s.depth) * perBlock
            if i + 1 < stages.count {
                let next = Double(stages[i + 1].width)
                estimate += 4 * c * next + Double(res * res / 4) * next
            }
        }
        estimate += Double(classes + 1) * Double(stages[stages.count - 1].width)
        return try checkParameters(estimate, r)
    }
}

extension FieldRules {
    /// The rules for model descriptions: fields named as in recipes (`model.dim`).
    public static let model = FieldRules(prefix: "model.")
}
