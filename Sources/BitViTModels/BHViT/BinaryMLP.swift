import BitViTNN
import BitViTQuant

/// The binary MLP's first half, the official `ViTIntermediate` (docs/reference/bhvit.md §3.7):
/// `H1 = RPReLU(BN(BinLinear_{C→rC}(U2 + move)) + Tile_r(U2))`, where `Tile_r` concatenates
/// `r` copies of the whole C-vector.
///
/// State: `move` `[C]`, `dense.weight` `[rC, C]`, `norm.*`, `rprelu.*`. Tokens `[..., C]` →
/// `[..., rC]`.
public final class BinaryMLPExpansion: Module, Layer {
    public let ratio: Int
    public let move: Tensor
    public let dense: QuantizedLinear
    public let norm: BatchNorm
    public let rprelu: RPReLU

    public init(channels: Int, ratio: Int, recu: Bool, rng: inout RandomGenerator) {
        self.ratio = ratio
        move = Tensor.zeros([channels])
        dense = BHViTBinary.linear(channels, ratio * channels, recu: recu, rng: &rng)
        norm = tokenBatchNorm(ratio * channels)
        rprelu = RPReLU(channels: ratio * channels)
        super.init()
        child("dense", dense)
        parameter("move", move)
        child("norm", norm)
        child("rprelu", rprelu)
    }

    public func callAsFunction(_ u: Tensor) -> Tensor {
        rprelu(norm(dense(u.addingChannelBias(move))) + u.tiledChannels(ratio))
    }
}

/// The binary MLP's second half, the official `ViTOutput` (docs/reference/bhvit.md §3.7):
/// `DropPath(LayerScale_0.1(RPReLU(BN(BinLinear_{rC→C}(H1 + move)) + GroupMean_r(H1))))`, where
/// `GroupMean_r(v)[c] = mean(v[r·c … r·c + r − 1])` (contiguous groups, AvgPool1d with kernel r).
/// Tile and GroupMean are not inverses of each other.
///
/// State: `move` `[rC]`, `dense.weight` `[C, rC]`, `norm.*`, `rprelu.*`, `layerscale.*`.
/// Tokens `[..., rC]` → `[..., C]`.
public final class BinaryMLPContraction: Module, Layer {
    public let ratio: Int
    public let move: Tensor
    public let dense: QuantizedLinear
    public let norm: BatchNorm
    public let rprelu: RPReLU
    public let layerscale: LayerScale
    let dropPath: DropPath

    public init(channels: Int, ratio: Int, recu: Bool, dropPath rate: Float, random: RandomSource,
                rng: inout RandomGenerator) {
        self.ratio = ratio
        move = Tensor.zeros([ratio * channels])
        dense = BHViTBinary.linear(ratio * channels, channels, recu: recu, rng: &rng)
        norm = tokenBatchNorm(channels)
        rprelu = RPReLU(channels: channels)
        layerscale = LayerScale(channels: channels, initialScale: 0.1)
        dropPath = DropPath(rate, random: random)
        super.init()
        child("dense", dense)
        parameter("move", move)
        child("norm", norm)
        child("rprelu", rprelu)
        child("layerscale", layerscale)
        child("drop_path", dropPath)
    }

    public func callAsFunction(_ h: Tensor) -> Tensor {
        dropPath(layerscale(rprelu(norm(dense(h.addingChannelBias(move))) + h.groupMeanChannels(ratio))))
    }
}
