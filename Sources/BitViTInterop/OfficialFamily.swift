import BitViTModels

/// The parameter-naming conventions of the official PyTorch code BitViT imports from and
/// exports to. Each has a name map to a BitViT model family (`NameMap`).
public enum OfficialFamily: String, CaseIterable, Codable, Sendable {
    /// timm's `VisionTransformer` / `VisionTransformerDistilled` and Facebook's DeiT release
    /// files (the same names): full-precision DeiT, BitViT's `deit-*` / `vit-mnist` models.
    case deit
    /// GSB's stage 1 (`One_bit_vit_weight.py`): BWN MLP weights, BatchNorm after the patch
    /// convolution; BitViT's `gsb-*` with option `stage: 1`.
    case gsbStage1 = "gsb-stage1"
    /// GSB's stage 2 (`One_bit_vit_new.py`): the fully binary model; `gsb-*`, `stage: 2`.
    case gsbStage2 = "gsb-stage2"
    /// Q-ViT (`quant_vision_transformer.py`), 2/3/4-bit (and 8-bit) DeiTs; `qvit-*`.
    case qvit
    /// BHViT (`transformer/BHViT.py`), every preset, † and fully binary; `bhvit-*`.
    case bhvit

    /// The BitViT model-name prefix of the family (`gsb-`, `qvit-`; empty for DeiT and BHViT,
    /// whose names are their presets').
    var bitvitPrefix: String {
        switch self {
        case .deit, .bhvit: return ""
        case .gsbStage1, .gsbStage2: return "gsb-"
        case .qvit: return "qvit-"
        }
    }

    /// The family whose official names a BitViT model spec exports to (`nil` for BitViT models
    /// without an official counterpart: Swin, the W1A1 baseline).
    public init?(spec: ModelSpec) {
        if spec.name.hasPrefix("gsb-") {
            self = spec.options["stage"] == "1" ? .gsbStage1 : .gsbStage2
        } else if spec.name.hasPrefix("qvit-") {
            guard ViTConfig.presets[String(spec.name.dropFirst(5))] != nil else { return nil }
            self = .qvit
        } else if BHViTConfig.presets[spec.name] != nil {
            self = .bhvit
        } else if ViTConfig.presets[spec.name] != nil {
            self = .deit
        } else {
            return nil
        }
    }
}
