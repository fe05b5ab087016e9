import BitViTNN
import BitViTQuant

/// BHViT's binary layers (docs/reference/bhvit.md §3.3, §6) built from the generic quantized layers: the input
/// is binarized by `sgn` with the ApproxSign gradient, the weight by the row-centred rule with
/// a per-output-channel scale. The learnable threshold ("move") that precedes every sign
/// belongs to the calling module, as in the official code, so checkpoint names match.
enum BHViTBinary {
    /// `BinLinear`, `in → out`, no bias: `y = sgn(x)·(a_o·sgn(W − mean_row W))ᵀ`.
    /// PyTorch's default initialization (docs/reference/bhvit.md §3.10).
    static func linear(_ inFeatures: Int, _ outFeatures: Int, recu: Bool, rng: inout RandomGenerator) -> QuantizedLinear {
        QuantizedLinear(inFeatures, outFeatures, bias: false,
                        inputQuantizer: SignQuantizer(estimator: .approxSign),
                        weightQuantizer: RowCenteredBinaryWeightQuantizer(estimator: recu ? .recu : .clipped),
                        initializer: .pytorchDefault, rng: &rng)
    }

    /// `BinConv` over `[B, C, H, W]`: the ±1 input map is zero-padded, so padded positions
    /// contribute 0. Never uses ReCU (the code's convolutions ignore the flag, docs/reference/bhvit.md §6.3).
    static func convolution(_ inChannels: Int, _ outChannels: Int, kernel: Int, options: Conv2DOptions, bias: Bool,
                            rng: inout RandomGenerator) -> QuantizedConv2d {
        QuantizedConv2d(inChannels, outChannels, kernel: (kernel, kernel), options: options, bias: bias,
                        inputQuantizer: SignQuantizer(estimator: .approxSign),
                        weightQuantizer: RowCenteredBinaryWeightQuantizer(), rng: &rng)
    }
}

/// BatchNorm over the channels of token tensors `[..., C]` ("BatchNormT", docs/reference/bhvit.md §2):
/// statistics over every token of the batch, momentum 0.1, eps 1e-5.
func tokenBatchNorm(_ channels: Int) -> BatchNorm {
    BatchNorm(channels, channelAxis: -1)
}

extension Tensor {
    /// `[B, H·W, C]` tokens → `[B, C, H, W]` map (a copy).
    func tokensToMap(side: Int) -> Tensor {
        reshaped([shape[0], side, side, shape[2]]).permuted([0, 3, 1, 2])
    }

    /// `[B, C, H, W]` map → `[B, H·W, C]` tokens (a copy).
    func mapToTokens() -> Tensor {
        permuted([0, 2, 3, 1]).reshaped([shape[0], shape[2] * shape[3], shape[1]])
    }
}
