extension ModelCost {
    /// The products of one image through a BHViT (docs/reference/cost.md §5's convention): the binary
    /// convolutions and linear layers and q̂·k̂ᵀ as 1×1-bit products; Â·V̂ with QD as the three
    /// nested binary planes of the levels 0…3 against the ±1 values (the engine runs them as
    /// two bit planes of the codes, the same result), or full precision without QD; the stem,
    /// the † downsampling and the classifier as FLOPs. BN, RPReLU, LayerNorm, softmax, pooling
    /// and the shift branches are not counted.
    public static func products(bhvit c: BHViTConfig) -> [Product] {
        var convolutions = 0, linears = 0, scores = 0, context = 0, downsampling = 0
        for (s, stage) in c.stages.enumerated() {
            let r = c.resolution(stage: s), pixels = r * r, w = stage.width
            let mlp = 2 * pixels * w * stage.mlpRatio * w
            switch stage.mixer {
            case .convolution:
                convolutions += stage.depth * (3 * pixels * w * (w / 4) * 9)
                linears += stage.depth * mlp
            case .attention:
                let windows = pixels / 49, tokens = windows * (49 + windows), d = w / stage.heads
                linears += stage.depth * (mlp + 3 * tokens * w * w + pixels * w * w)
                scores += stage.depth * windows * stage.heads * (49 + windows) * (49 + windows) * d
                context += stage.depth * windows * stage.heads * (49 + windows) * (49 + windows) * d
            }
            if s + 1 < c.stages.count { downsampling += (pixels / 4) * c.stages[s + 1].width * 4 * w }
        }
        let r1 = c.stemResolution, first = c.stages[0].width, last = c.stages[c.stages.count - 1].width
        var products = [Product(name: "MSGDC convolutions (W1A1)", macs: convolutions, weightBits: 1, activationBits: 1),
                        Product(name: "binary linears (W1A1)", macs: linears, weightBits: 1, activationBits: 1),
                        Product(name: "attention q̂·k̂ᵀ (1×1 bit)", macs: scores, weightBits: 1, activationBits: 1)]
        if c.attentionProbabilities == .quantizationDecomposition {
            products.append(Product(name: "attention Â·v̂ (QD, 3 planes)", macs: context, weightBits: 1, activationBits: 1, planePairs: 3))
        } else {
            products.append(Product(name: "attention A·v̂ (fp)", macs: context))
        }
        if c.downsampling == .binary {
            products.append(Product(name: "downsampling (W1A1)", macs: downsampling, weightBits: 1, activationBits: 1))
        } else {
            products.append(Product(name: "downsampling (fp)", macs: downsampling))
        }
        products += [Product(name: "stem", macs: r1 * r1 * first * c.inChannels * c.stemKernel * c.stemKernel),
                     Product(name: "classifier", macs: last * c.classes)]
        return products
    }
}
