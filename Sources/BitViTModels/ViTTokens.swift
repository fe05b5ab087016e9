import BitViTNN

/// The learned tokens every DeiT variant (full precision, GSB, Q-ViT, W1A1) puts around its patch
/// embeddings: the class token `[1, 1, dim]`, the optional distillation token `[1, 1, dim]` and
/// the position embedding `[1, N, dim]` (N = patches + 1 or + 2). timm's names and init:
/// `cls_token`, `dist_token`, `pos_embed`, truncated normal with std 0.02.
struct ViTTokens {
    let cls: Tensor
    let dist: Tensor?
    let pos: Tensor

    /// Draws the tokens in timm's order (class, distillation, position).
    init(_ config: ViTConfig, rng: inout RandomGenerator) {
        cls = Tensor.truncatedNormal([1, 1, config.dim], std: 0.02, using: &rng)
        dist = config.distilled ? Tensor.truncatedNormal([1, 1, config.dim], std: 0.02, using: &rng) : nil
        pos = Tensor.truncatedNormal([1, config.tokenCount, config.dim], std: 0.02, using: &rng)
    }

    /// Registers the tokens as parameters of `model` under timm's names.
    func register(in model: Module) {
        model.parameter("cls_token", cls)
        if let dist { model.parameter("dist_token", dist) }
        model.parameter("pos_embed", pos)
    }

    /// The block input `[cls, (dist), patches] + pos_embed`: `[B, P, dim]` → `[B, N, dim]`.
    func sequence(patches: Tensor) -> Tensor {
        let (b, dim) = (patches.shape[0], patches.shape[2])
        var tokens = [cls.expanded(to: [b, 1, dim])]
        if let dist { tokens.append(dist.expanded(to: [b, 1, dim])) }
        return Tensor.concatenate(tokens + [patches], axis: 1) + pos
    }
}

extension ViTConfig {
    /// The stochastic-depth rate of each block, rising linearly from 0 to `dropPathRate` (timm).
    var blockDropPathRates: [Float] {
        (0..<depth).map { i in Float(depth > 1 ? dropPathRate * Double(i) / Double(depth - 1) : 0) }
    }

    /// Stops with a clear message unless `images` is `[B, inChannels, imageSize, imageSize]`.
    func checkImages(_ images: Tensor, model: String) {
        precondition(images.rank == 4 && images.shape[1] == inChannels && images.shape[2] == imageSize && images.shape[3] == imageSize,
                     "\(model) expects [B, \(inChannels), \(imageSize), \(imageSize)] images, got \(images.shape)")
    }
}
