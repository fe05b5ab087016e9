import BitViTNN

/// BHViT's full-precision stem, "embeddings" in the official code (docs/reference/bhvit.md §3.4):
/// `Conv2d(in → C, k, stride, bias)` → BN over tokens → exact GELU → `+ position_embeddings`.
///
/// State: `patch_embeddings.proj.{weight,bias}`, `patch_embeddings.norm.*`,
/// `position_embeddings` `[1, C, R, R]` (the code's map layout; trunc-normal, std 0.02).
/// Input images `[B, in, S, S]`; output tokens `[B, R·R, C]`, `R = (S − k)/stride + 1`.
public final class BHViTStem: Module, Layer {
    /// The convolution and its normalization (the code's `patch_embeddings`).
    public final class PatchEmbedding: Module {
        public let proj: Conv2d
        public let norm: BatchNorm

        init(inChannels: Int, channels: Int, kernel: Int, stride: Int, rng: inout RandomGenerator) {
            proj = Conv2d(inChannels, channels, kernel: (kernel, kernel), options: Conv2DOptions(stride: stride), rng: &rng)
            norm = tokenBatchNorm(channels)
            super.init()
            child("proj", proj)
            child("norm", norm)
        }
    }

    public let patchEmbeddings: PatchEmbedding
    public let positionEmbeddings: Tensor
    public let resolution: Int

    public init(inChannels: Int, channels: Int, kernel: Int, stride: Int, resolution: Int, rng: inout RandomGenerator) {
        patchEmbeddings = PatchEmbedding(inChannels: inChannels, channels: channels, kernel: kernel, stride: stride, rng: &rng)
        positionEmbeddings = Tensor.truncatedNormal([1, channels, resolution, resolution], std: 0.02, using: &rng)
        self.resolution = resolution
        super.init()
        child("patch_embeddings", patchEmbeddings)
        parameter("position_embeddings", positionEmbeddings)
    }

    public func callAsFunction(_ images: Tensor) -> Tensor {
        let tokens = patchEmbeddings.norm(patchEmbeddings.proj(images).mapToTokens()).gelu()
        return tokens + positionEmbeddings.mapToTokens()
    }
}
