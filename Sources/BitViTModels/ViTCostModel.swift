/// Compute and storage accounting of a DeiT-style ViT under low-bit quantization, with the
/// convention of qvit.md §9 (the paper's own formula was not retrievable; keep it a
/// parameterized estimate, not a claim of the paper):
///
/// - MACs: patch embedding `patches·C·in·p²`; per block `N·C·3C + 2·H·N²·d + N·C² + 2·N·C·hidden`
///   (qkv, q·kᵀ and P·v, proj, fc1 and fc2); heads `C·classes` each.
/// - OPs: `FLOPs_fp + BOPs/64` with `BOPs = MACs·b_w·b_a` for every block matmul; the 8-bit
///   first and last layers cost as much as full precision. LayerNorm, softmax and GELU are
///   not counted.
/// - Size: block linear weights at `b_w` bits, patch-embedding and head weights at 8 bits,
///   every other parameter at 32 bits.
public struct ViTCostModel: Sendable {
    public let config: ViTConfig

    public init(_ config: ViTConfig) { self.config = config }

    private var tokens: Int { config.tokenCount }
    private var headCount: Int { config.distilled ? 2 : 1 }

    /// MACs of the patch-embedding convolution per image.
    public var patchEmbeddingMACs: Int {
        config.gridSize * config.gridSize * config.dim * config.inChannels * config.patchSize * config.patchSize
    }

    /// MACs of one transformer block per image.
    public var blockMACs: Int {
        let (n, c, h) = (tokens, config.dim, config.heads)
        return n * c * 3 * c + 2 * h * n * n * (c / h) + n * c * c + 2 * n * c * config.mlpHidden
    }

    /// MACs of the classifier heads per image.
    public var headMACs: Int { config.dim * config.classes * headCount }

    /// All MACs per image.
    public var totalMACs: Int { patchEmbeddingMACs + config.depth * blockMACs + headMACs }

    /// OPs per image with `weightBits`/`activationBits` block matmuls (nil: full precision).
    public func operations(weightBits: Int?, activationBits: Int?) -> Double {
        let edge = Double(patchEmbeddingMACs + headMACs)
        let blocks = Double(config.depth * blockMACs)
        guard let weightBits, let activationBits else { return edge + blocks }
        return edge + blocks * Double(weightBits * activationBits) / 64
    }

    /// Full-precision OPs over quantized OPs.
    public func speedUp(weightBits: Int, activationBits: Int) -> Double {
        operations(weightBits: nil, activationBits: nil) / operations(weightBits: weightBits, activationBits: activationBits)
    }

    /// Weights of the block linears (qkv, proj, fc1, fc2), all blocks.
    public var blockLinearWeights: Int {
        config.depth * (3 * config.dim * config.dim + config.dim * config.dim + 2 * config.dim * config.mlpHidden)
    }

    /// Weights of the patch embedding and the heads.
    public var edgeWeights: Int {
        config.dim * config.inChannels * config.patchSize * config.patchSize + headCount * config.dim * config.classes
    }

    /// Model size in bytes for `parameterCount` parameters with `weightBits`-bit block weights
    /// (nil: everything in float32).
    public func sizeBytes(parameterCount: Int, weightBits: Int?) -> Double {
        guard let weightBits else { return Double(parameterCount) * 4 }
        let rest = parameterCount - blockLinearWeights - edgeWeights
        return (Double(blockLinearWeights * weightBits) + Double(edgeWeights * 8) + Double(rest * 32)) / 8
    }
}
