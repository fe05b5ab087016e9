import BitViTPlatform

/// Tensor names, storage kinds and shapes of an exported BHViT (docs/format.md, "BHViT
/// tensors"), derived from the stored `BHViTConfig`. Blocks are numbered in forward order over
/// all stages (`blocks.{i}`); `downsample.{s}` follows stage s (1-based, the code's
/// `patch_embed{s}`). Every BatchNorm is stored folded as `scale` = γ/√(var + ε) and
/// `shift` = β − mean·scale, and where a BN directly follows a binary product its scale is
/// multiplied into that product's per-output-channel scale (the weight rule's α_o).
///
/// A binary linear layer `L` (`in → out`) is `L.move` [in] (the threshold before the sign),
/// `L.weight` 1-bit [out, in] = sgn(W − mean_row W), `L.output_scale` [out] = α_o·BN scale,
/// `L.output_shift` [out] = BN shift, `L.rprelu` [3, out] (rows move1, slope, move2).
enum BHViTManifest {
    static func manifest(_ c: BHViTConfig) -> ModelManifest {
        var m = ModelManifest()
        let c0 = c.stages[0].width, r0 = c.stemResolution
        m.add("stem.weight", [c0, c.inChannels * c.stemKernel * c.stemKernel])
        m.add("stem.bias", [c0])
        m.add("stem.pos_embed", [r0 * r0, c0])
        var block = 0
        for (s, stage) in c.stages.enumerated() {
            let w = stage.width, r = c.resolution(stage: s)
            for _ in 0..<stage.depth {
                let p = "blocks.\(block)."
                addNorm(&m, p + "norm_before", w)
                addNorm(&m, p + "norm_after", w)
                switch stage.mixer {
                case .convolution:
                    m.add(p + "conv.move", [w])
                    for d in 1...BHViTConfig.convolutionDilations.count {
                        let l = p + "conv\(d)"
                        m.add(l + ".weight", [w, w / 4, 3, 3], [.bits1])
                        m.add(l + ".output_scale", [w])
                        m.add(l + ".bias", [w])
                        m.add(l + ".rprelu", [3, w])
                    }
                    addNorm(&m, p + "conv.norm", w)
                case .attention:
                    m.add(p + "attn.pool_mix", [w])
                    m.add(p + "attn.token_norm.weight", [w])
                    m.add(p + "attn.token_norm.bias", [w])
                    for j in ["q", "k", "v"] {
                        addBinaryLinear(&m, p + "attn.\(j)", out: w, in: w)
                        m.add(p + "attn.\(j).sign_move", [w])
                    }
                    if c.attentionProbabilities == .quantizationDecomposition {
                        m.add(p + "attn.qd.step", [stage.heads])
                        m.add(p + "attn.qd.zero", [stage.heads])
                    }
                    addNorm(&m, p + "attn.context_norm", w)
                    m.add(p + "attn.context_rprelu", [3, w])
                    m.add(p + "attn.mix", [w])
                    addBinaryLinear(&m, p + "attn.out", out: w, in: w)
                    m.add(p + "attn.out.layerscale", [2, w])
                }
                addBinaryLinear(&m, p + "mlp.fc1", out: stage.mlpRatio * w, in: w)
                addBinaryLinear(&m, p + "mlp.fc2", out: w, in: stage.mlpRatio * w)
                m.add(p + "mlp.layerscale", [2, w])
                if c.shiftBranches {
                    m.add(p + "shift.scale", [BHViTConfig.shiftBranchNames.count, w])
                    m.add(p + "shift.move", [BHViTConfig.shiftBranchNames.count, w])
                }
                block += 1
            }
            if s + 1 < c.stages.count {
                let d = "downsample.\(s + 1).", next = c.stages[s + 1].width, half = r / 2
                addNorm(&m, d + "norm_in", w)
                switch c.downsampling {
                case .fullPrecision:
                    m.add(d + "weight", [next, w, 2, 2])
                    m.add(d + "bias", [next])
                case .binary:
                    m.add(d + "move", [w])
                    m.add(d + "weight", [next, w, 2, 2], [.bits1])
                    m.add(d + "output_scale", [next])
                    m.add(d + "output_shift", [next])
                    m.add(d + "rprelu", [3, next])
                }
                m.add(d + "pos_embed", [half * half, next])
            }
        }
        let last = c.stages[c.stages.count - 1].width
        addNorm(&m, "norm", last)
        m.add("head.weight", [c.classes, last])
        m.add("head.bias", [c.classes])
        return m
    }

    /// A folded BatchNorm: `scale`, `shift` [channels].
    static func addNorm(_ m: inout ModelManifest, _ prefix: String, _ channels: Int) {
        m.add(prefix + ".scale", [channels])
        m.add(prefix + ".shift", [channels])
    }

    static func addBinaryLinear(_ m: inout ModelManifest, _ l: String, out: Int, in k: Int) {
        m.add(l + ".move", [k])
        m.add(l + ".weight", [out, k], [.bits1])
        m.add(l + ".output_scale", [out])
        m.add(l + ".output_shift", [out])
        m.add(l + ".rprelu", [3, out])
    }
}
