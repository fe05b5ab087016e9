import BitViTCore
import BitViTModels
import BitViTQuant
import BitViTRuntime

/// Converts a trained DeiT-style model (full-precision DeiT, W1A1 baseline, GSB stage 2,
/// Q-ViT) into the tensors of `ViTManifest`: quantized weights at their exact bit widths,
/// scales floored and folded as the evaluation-mode forward uses them.
struct ViTExporter {
    let family: ExportFamily
    let vit: ViTArchitecture
    /// Parameters and buffers by checkpoint name.
    let state: [String: Tensor]
    var tensors: [ExportTensor] = []

    init(family: ExportFamily, vit: ViTArchitecture, model: Module) {
        self.family = family
        self.vit = vit
        state = model.stateDict()
    }

    func value(_ name: String) throws -> Tensor {
        guard let t = state[name] else { throw BitViTError.missing("model state '\(name)' (export of \(family.rawValue))") }
        return t
    }

    mutating func floats(_ name: String, from source: String? = nil, shape: [Int]? = nil) throws {
        let t = try value(source ?? name)
        tensors.append(ExportTensor(name, floats: t.scalars, shape: shape ?? t.shape))
    }

    /// GSB's scale floor (docs/reference/gsb.md §3): `s > 1e-5 ? s : 1e-5`.
    static func floored(_ s: Float) -> Float { s > 1e-5 ? s : 1e-5 }

    static func round(_ x: Float) -> Float { x.rounded(.toNearestOrEven) }

    mutating func run() throws -> [ExportTensor] {
        let c = vit.dim
        try floats("cls_token", shape: [c])
        if vit.distilled { try floats("dist_token", shape: [c]) }
        try floats("pos_embed", shape: [vit.tokens, c])
        try patchEmbedding()
        for i in 0..<vit.depth {
            let p = "blocks.\(i)."
            for n in ["norm1", "norm2"] {
                try floats(p + n + ".weight")
                try floats(p + n + ".bias")
            }
            for name in ViTManifest.blockLinears { try blockLinear(p + name, isContraction: name == "mlp.fc2") }
            switch family {
            case .gsb: try gsbAttention(p + "attn.")
            case .qvit: try qvitAttention(p + "attn.")
            default: break
            }
        }
        try floats("norm.weight")
        try floats("norm.bias")
        for head in vit.distilled ? ["head", "head_dist"] : ["head"] { try self.head(head) }
        return tensors
    }

    mutating func patchEmbedding() throws {
        let w = try value("patch_embed.proj.weight")
        let shape = [vit.dim, vit.patchInputs]
        switch family {
        case .gsb, .qvit:
            // 8-bit LSQ, one step per output channel: code = clamp(round(w/α_c), −128, 127).
            let steps = try value("patch_embed.proj.weight_quantizer.alpha").scalars
            try perChannelCodes("patch_embed.weight", w.scalars, rows: vit.dim, steps: steps, bits: 8, shape: shape)
            tensors.append(ExportTensor("patch_embed.weight_scale", floats: steps, shape: [vit.dim]))
            if family == .qvit { try activationQuantizer("patch_embed", source: "patch_embed.proj.input_quantizer", bits: 8) }
        default:
            tensors.append(ExportTensor("patch_embed.weight", floats: w.scalars, shape: shape))
        }
        try floats("patch_embed.bias", from: "patch_embed.proj.bias")
    }

    /// `codes[r, j] = clamp(round(w/steps[r]), Qn, Qp)` stored at `bits` bits.
    mutating func perChannelCodes(_ name: String, _ w: [Float], rows: Int, steps: [Float], bits: Int, shape: [Int]) throws {
        let qn = -Float(1 << (bits - 1)), qp = Float((1 << (bits - 1)) - 1)
        let k = w.count / rows
        if let i = steps.firstIndex(where: { !$0.isFinite || $0 == 0 }) {
            throw BitViTError.invalidArgument("export: the weight step of '\(name)' is \(steps[i]) (channel \(i)); a step must be finite and not 0")
        }
        var codes = [Int32](repeating: 0, count: w.count)
        for r in 0..<rows {
            let a = steps.count == 1 ? steps[0] : steps[r]
            for j in 0..<k { codes[r * k + j] = Int32(Self.round(min(max(w[r * k + j] / a, qn), qp))) }
        }
        tensors.append(ExportTensor(name, codes: codes, bits: bits, shape: shape))
    }

    /// Q-ViT's ActQ: step, rounded zero point, and the range (Qn, Qp) its `signed` flag picks.
    mutating func activationQuantizer(_ layer: String, source: String, bits: Int, prefix: String = "input_") throws {
        let signed = try value(source + ".signed").item() != 0
        let range: [Float] = signed ? [-Float(1 << (bits - 1)), Float((1 << (bits - 1)) - 1)] : [0, Float((1 << bits) - 1)]
        let step = try value(source + ".alpha").scalars
        let zero = try value(source + ".zero_point").scalars.map(Self.round)
        tensors.append(ExportTensor(layer + "." + prefix + "step", floats: step, shape: [step.count]))
        tensors.append(ExportTensor(layer + "." + prefix + "zero", floats: zero, shape: [zero.count]))
        tensors.append(ExportTensor(layer + "." + prefix + "range", floats: range, shape: [2]))
    }

    mutating func blockLinear(_ l: String, isContraction: Bool) throws {
        let w = try value(l + ".weight")
        let (rows, k) = (w.shape[0], w.shape[1])
        switch family {
        case .deit:
            try floats(l + ".weight")
        case .binaryBaseline, .gsb:
            // The training forward's own binarization: Ŵ = α·sgn(W − mean), α per row (W1A1) or
            // per tensor (GSB's BWN). Signs and α are read off Ŵ.
            let scaling: BinaryWeightQuantizer.Scaling = family == .gsb ? .perTensor : .perOutputChannel
            let binary = BinaryWeightQuantizer(scaling: scaling).quantizedValue(of: w).scalars
            tensors.append(ExportTensor(l + ".weight", signsOf: binary, shape: [rows, k]))
            let rowScales = (0..<rows).map { r in (0..<k).lazy.map { abs(binary[r * k + $0]) }.max() ?? 0 }
            if family == .binaryBaseline {
                tensors.append(ExportTensor(l + ".weight_scale", floats: rowScales, shape: [rows]))
            } else {
                let m = rowScales.max() ?? 0
                let step = Self.floored(try value(l + ".input_quantizer.alpha").item())
                try floats(l + ".input_shift")
                tensors.append(ExportTensor(l + ".output_scale", scalar: step * m))
                // UB fires where (x + b)/α > 0.5 (round half to even, clamped to [0, 1]).
                if isContraction { tensors.append(ExportTensor(l + ".input_threshold", scalar: 0.5 * step)) }
            }
        case .qvit:
            let bits = vit.bits!
            let steps = try value(l + ".weight_quantizer.alpha").scalars
            try perChannelCodes(l + ".weight", w.scalars, rows: rows, steps: steps, bits: bits, shape: [rows, k])
            tensors.append(ExportTensor(l + ".weight_scale", floats: steps.count == 1 ? [Float](repeating: steps[0], count: rows) : steps,
                                        shape: [rows]))
            try activationQuantizer(l, source: l + ".input_quantizer", bits: bits)
        case .bhvit:
            break
        }
        try floats(l + ".bias")
    }

    mutating func gsbAttention(_ a: String) throws {
        let (h, d) = (vit.heads, vit.headDim)
        for s in ["q_shift", "k_shift", "v_shift"] { try floats(a + s, shape: [h, d]) }
        let cq = Self.floored(try value(a + "q_quantizer.alpha").item())
        let ck = Self.floored(try value(a + "k_quantizer.alpha").item())
        tensors.append(ExportTensor(a + "score_scale", scalar: cq * ck / Float(d).squareRoot()))
        try floats(a + "attention_bias")
        for (name, source) in [("attn_scales", "attn_quantizer"), ("value_scales", "v_quantizer")] {
            let scales = try (1...3).map { Self.floored(try value(a + "\(source).alpha\($0)").item()) }
            tensors.append(ExportTensor(a + name, floats: scales, shape: [3]))
        }
    }

    mutating func qvitAttention(_ a: String) throws {
        if vit.rectifiesQueriesAndKeys == true {
            for n in ["norm_q", "norm_k"] {
                try floats(a + n + ".weight")
                try floats(a + n + ".bias")
            }
        }
        for q in ["q", "k", "v", "attn"] {
            try activationQuantizer(a + "\(q)_quantizer", source: a + "\(q)_quantizer", bits: vit.bits!, prefix: "")
        }
    }

    mutating func head(_ head: String) throws {
        let w = try value(head + ".weight")
        switch family {
        case .gsb:
            let step = Self.floored(try value(head + ".weight_quantizer.alpha").item())
            try perChannelCodes(head + ".weight", w.scalars, rows: vit.classes, steps: [step], bits: 8, shape: w.shape)
            tensors.append(ExportTensor(head + ".weight_scale", scalar: step))
            try floats(head + ".input_shift")
            tensors.append(ExportTensor(head + ".input_step", scalar: Self.floored(try value(head + ".input_quantizer.alpha").item())))
        case .qvit:
            let steps = try value(head + ".weight_quantizer.alpha").scalars
            try perChannelCodes(head + ".weight", w.scalars, rows: vit.classes, steps: steps, bits: 8, shape: w.shape)
            tensors.append(ExportTensor(head + ".weight_scale", floats: steps, shape: [vit.classes]))
            try activationQuantizer(head, source: head + ".input_quantizer", bits: 8)
        default:
            try floats(head + ".weight")
        }
        try floats(head + ".bias")
    }
}
