import BitViTCore

extension BHViTConfig {
    /// The 224 presets' four stages (docs/reference/bhvit.md §3.1): widths 64/128/256/512, MLP ratios 8/8/4/4,
    /// MSGDC in stages 1–2, MSMHA with 4 and 8 heads of 64 channels in stages 3–4.
    private static func imageNetStages(depths: [Int]) -> [BHViTStage] {
        [BHViTStage(mixer: .convolution, width: 64, depth: depths[0], mlpRatio: 8),
         BHViTStage(mixer: .convolution, width: 128, depth: depths[1], mlpRatio: 8),
         BHViTStage(mixer: .attention, width: 256, depth: depths[2], mlpRatio: 4, heads: 4),
         BHViTStage(mixer: .attention, width: 512, depth: depths[3], mlpRatio: 4, heads: 8)]
    }

    /// BHViT-Tiny at 224, depths 2/2/6/2: 13,779,960 parameters (†), 13,783,096 (binary).
    public static let tiny = BHViTConfig(imageSize: 224, stemKernel: 4, stemStride: 4,
                                         stages: imageNetStages(depths: [2, 2, 6, 2]))
    /// BHViT-Small at 224, depths 3/4/8/4: 22,642,920 parameters (†), 22,646,056 (binary).
    public static let small = BHViTConfig(imageSize: 224, stemKernel: 4, stemStride: 4,
                                          stages: imageNetStages(depths: [3, 4, 8, 4]))
    /// The small-image variant for 32×32 inputs (docs/bhvit.md explains the geometry): a 5×5
    /// stride-1 stem to a 28×28 grid, one MSGDC stage at 28×28 (1 block) and two MSMHA stages
    /// at 14×14 (4 windows + 4 pooled tokens, T = 53) and 7×7 (1 window + 1 pooled token,
    /// T = 50) with 2 blocks each, widths 32/64/128, MLP ratio 4, head dimension 32.
    public static let tinyCIFAR = BHViTConfig(
        imageSize: 32, stemKernel: 5, stemStride: 1,
        stages: [BHViTStage(mixer: .convolution, width: 32, depth: 1, mlpRatio: 4),
                 BHViTStage(mixer: .attention, width: 64, depth: 2, mlpRatio: 4, heads: 2),
                 BHViTStage(mixer: .attention, width: 128, depth: 2, mlpRatio: 4, heads: 4)],
        classes: 10)

    /// Presets by name: `bhvit-tiny`, `bhvit-small` (224, 1000 classes), `bhvit-tiny-cifar`
    /// (32×32, 10 classes).
    public static let presets: [String: BHViTConfig] = [
        "bhvit-tiny": .tiny, "bhvit-small": .small, "bhvit-tiny-cifar": .tinyCIFAR,
    ]
}
