/// Multiply-accumulates of one image through a DeiT-style model, by kind of product
/// (`N` tokens with the class and distillation tokens, `C` width, `H` heads, `d = C/H`).
public struct ViTMACs: Sendable, Equatable {
    /// qkv and proj of every block: `depth·(N·C·3C + N·C·C)`.
    public var attentionLinears: Int
    /// fc1 and fc2 of every block: `depth·2·N·C·hidden`.
    public var mlpLinears: Int
    /// q·kᵀ of every block: `depth·H·N²·d`.
    public var scores: Int
    /// P·v of every block: `depth·H·N²·d`.
    public var context: Int
    /// The patch-embedding convolution: `patches·C·in·p²`.
    public var patchEmbedding: Int
    /// The classifier heads: `C·classes` each.
    public var heads: Int

    public init(_ v: ViTArchitecture) {
        let (n, c, h, d) = (v.tokens, v.dim, v.heads, v.headDim)
        attentionLinears = v.depth * (n * c * 3 * c + n * c * c)
        mlpLinears = v.depth * 2 * n * c * v.mlpHidden
        scores = v.depth * h * n * n * d
        context = scores
        patchEmbedding = v.patches * c * v.patchInputs
        heads = (v.distilled ? 2 : 1) * c * v.classes
    }

    /// All block linears (qkv, proj, fc1, fc2).
    public var blockLinears: Int { attentionLinears + mlpLinears }
    /// The full-precision first and last layers (8-bit ones count as full precision too).
    public var edges: [ModelCost.Product] {
        [.init(name: "patch embedding", macs: patchEmbedding), .init(name: "heads", macs: heads)]
    }
}

extension ModelCost {
    /// The products of a DeiT-style model of a file family: the block linears at the family's
    /// weight and activation bits; the attention products binary for GSB (Â·V̂ as 3 × 3 planes),
    /// at b × b bits for Q-ViT, full precision otherwise; the first and last layers as FLOPs.
    public static func products(family: ExportFamily, _ v: ViTArchitecture) -> [Product] {
        let m = ViTMACs(v)
        switch family {
        case .binaryBaseline:
            return [Product(name: "block linears (W1A1)", macs: m.blockLinears, weightBits: 1, activationBits: 1),
                    Product(name: "attention q·kᵀ, P·v (fp)", macs: m.scores + m.context)] + m.edges
        case .gsb:
            return [Product(name: "block linears (W1A1)", macs: m.blockLinears, weightBits: 1, activationBits: 1),
                    Product(name: "attention q̂·k̂ᵀ (1×1 bit)", macs: m.scores, weightBits: 1, activationBits: 1),
                    Product(name: "attention Â·v̂ (3×3 planes)", macs: m.context, weightBits: 1, activationBits: 1, planePairs: 9)] + m.edges
        case .qvit:
            let b = v.bits ?? 8
            return [Product(name: "block linears (W\(b)A\(b))", macs: m.blockLinears, weightBits: b, activationBits: b),
                    Product(name: "attention q·kᵀ, P·v (\(b)×\(b) bit)", macs: m.scores + m.context, weightBits: b, activationBits: b)] + m.edges
        case .deit, .bhvit:
            return [Product(name: "block linears (fp)", macs: m.blockLinears),
                    Product(name: "attention (fp)", macs: m.scores + m.context)] + m.edges
        }
    }

    /// `W/A` of a file family's block linears.
    public static func precisionLabel(family: ExportFamily, _ v: ViTArchitecture) -> String {
        switch family {
        case .binaryBaseline, .gsb, .bhvit: return "1/1"
        case .qvit: return "\(v.bits ?? 8)/\(v.bits ?? 8)"
        case .deit: return "32/32"
        }
    }
}
