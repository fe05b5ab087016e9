/// Tensor names, storage kinds and shapes of the DeiT-style families (docs/format.md,
/// "DeiT-style tensors"). `C` = width, `N` = tokens, `H` = heads, `d` = head width, `K` = classes.
///
/// | family | linear layer `L` (qkv, proj, fc1, fc2) |
/// |---|---|
/// | deit | `L.weight` fp [out, in], `L.bias` |
/// | w1a1 | `L.weight` 1-bit [out, in] (sgn(W − mean_row W)), `L.weight_scale` [out] (mean_row |W|), `L.bias` |
/// | gsb | `L.weight` 1-bit, `L.input_shift` [in], `L.output_scale` [] (α_in · mean|W|), `L.bias`; fc2 also `L.input_threshold` [] (α_in/2) |
/// | qvit | `L.weight` int2/3/4/8 [out, in], `L.weight_scale` [out], `L.input_step` [in], `L.input_zero` [in] (rounded), `L.input_range` [2] (Qn, Qp), `L.bias` |
package enum ViTManifest {
    package static let blockLinears = ["attn.qkv", "attn.proj", "mlp.fc1", "mlp.fc2"]

    static func linearShape(_ name: String, _ v: ViTArchitecture) -> (out: Int, in: Int) {
        switch name {
        case "attn.qkv": return (3 * v.dim, v.dim)
        case "attn.proj": return (v.dim, v.dim)
        case "mlp.fc1": return (v.mlpHidden, v.dim)
        default: return (v.dim, v.mlpHidden)
        }
    }

    static func manifest(family: ExportFamily, _ v: ViTArchitecture) -> ModelManifest {
        var m = ModelManifest()
        let c = v.dim, h = v.heads, d = v.headDim
        m.add("cls_token", [c])
        if v.distilled { m.add("dist_token", [c]) }
        m.add("pos_embed", [v.tokens, c])
        // Patch embedding: [C, in·p·p] (the convolution as a matrix over flattened patches).
        switch family {
        case .gsb:
            m.add("patch_embed.weight", [c, v.patchInputs], [.int8])
            m.add("patch_embed.weight_scale", [c])
        case .qvit:
            m.add("patch_embed.weight", [c, v.patchInputs], [.int8])
            m.add("patch_embed.weight_scale", [c])
            addInputQuantizer(&m, "patch_embed", channels: v.inChannels)
        default:
            m.add("patch_embed.weight", [c, v.patchInputs])
        }
        m.add("patch_embed.bias", [c])
        for i in 0..<v.depth {
            let p = "blocks.\(i)."
            for norm in ["norm1", "norm2"] {
                m.add(p + norm + ".weight", [c])
                m.add(p + norm + ".bias", [c])
            }
            for name in blockLinears {
                let (o, k) = linearShape(name, v), l = p + name
                switch family {
                case .deit:
                    m.add(l + ".weight", [o, k])
                case .binaryBaseline:
                    m.add(l + ".weight", [o, k], [.bits1])
                    m.add(l + ".weight_scale", [o])
                case .gsb:
                    m.add(l + ".weight", [o, k], [.bits1])
                    m.add(l + ".input_shift", [k])
                    m.add(l + ".output_scale", [])
                    if name == "mlp.fc2" { m.add(l + ".input_threshold", []) }
                case .qvit:
                    m.add(l + ".weight", [o, k], [StorageKind.integerCodes(bits: v.bits ?? 8)!])
                    m.add(l + ".weight_scale", [o])
                    addInputQuantizer(&m, l, channels: k)
                case .bhvit:
                    break
                }
                m.add(l + ".bias", [o])
            }
            switch family {
            case .gsb:
                for s in ["q_shift", "k_shift", "v_shift"] { m.add(p + "attn." + s, [h, d]) }
                m.add(p + "attn.score_scale", [])
                m.add(p + "attn.attention_bias", [h, v.tokens, v.tokens])
                m.add(p + "attn.attn_scales", [3])
                m.add(p + "attn.value_scales", [3])
            case .qvit:
                if v.rectifiesQueriesAndKeys == true {
                    for n in ["norm_q", "norm_k"] {
                        m.add(p + "attn.\(n).weight", [d])
                        m.add(p + "attn.\(n).bias", [d])
                    }
                }
                for q in ["q", "k", "v", "attn"] {
                    m.add(p + "attn.\(q)_quantizer.step", [h])
                    m.add(p + "attn.\(q)_quantizer.zero", [h])
                    m.add(p + "attn.\(q)_quantizer.range", [2])
                }
            default:
                break
            }
        }
        m.add("norm.weight", [c])
        m.add("norm.bias", [c])
        for head in v.distilled ? ["head", "head_dist"] : ["head"] {
            switch family {
            case .gsb:
                m.add(head + ".weight", [v.classes, c], [.int8])
                m.add(head + ".weight_scale", [])
                m.add(head + ".input_shift", [c])
                m.add(head + ".input_step", [])
            case .qvit:
                m.add(head + ".weight", [v.classes, c], [.int8])
                m.add(head + ".weight_scale", [v.classes])
                addInputQuantizer(&m, head, channels: c)
            default:
                m.add(head + ".weight", [v.classes, c])
            }
            m.add(head + ".bias", [v.classes])
        }
        return m
    }

    /// Q-ViT's per-channel activation quantizer: step, rounded zero point, range (Qn, Qp).
    static func addInputQuantizer(_ m: inout ModelManifest, _ layer: String, channels: Int) {
        m.add(layer + ".input_step", [channels])
        m.add(layer + ".input_zero", [channels])
        m.add(layer + ".input_range", [2])
    }
}
