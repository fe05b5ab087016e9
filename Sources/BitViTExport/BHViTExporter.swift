import BitViTCore
import BitViTModels
import BitViTQuant
import BitViTRuntime

/// Converts a trained BHViT († or fully binary) into the tensors of `BHViTManifest`: binary
/// weights as their signs with the training forward's row-centred rule, every BatchNorm folded
/// into a per-channel scale and shift (and into the preceding binary product's α_o where the BN
/// directly follows it), the full-precision stem with its BN folded into the convolution, the
/// QD step and zero point, RPReLU, LayerScale and shift-branch parameters as they are.
struct BHViTExporter {
    let config: BHViTConfig
    /// Parameters and buffers by checkpoint name (the official names, docs/bhvit.md).
    let state: [String: Tensor]
    var tensors: [ExportTensor] = []
    /// Every BHViT BatchNorm (`tokenBatchNorm`) uses ε = 1e-5.
    static let batchNormEps: Float = 1e-5

    init(model: BHViT) {
        config = model.config
        state = model.stateDict()
    }

    func value(_ name: String) throws -> Tensor {
        guard let t = state[name] else { throw BitViTError.missing("model state '\(name)' (export of bhvit)") }
        return t
    }

    mutating func floats(_ name: String, _ values: [Float], shape: [Int]) {
        tensors.append(ExportTensor(name, floats: values, shape: shape))
    }

    mutating func copy(_ name: String, from source: String, shape: [Int]? = nil) throws {
        let t = try value(source)
        floats(name, t.scalars, shape: shape ?? t.shape)
    }

    /// Evaluation-mode BN as `x·scale + shift`: scale = γ·(1/√(var + ε)), shift = β − mean·scale.
    func batchNorm(_ prefix: String) throws -> (scale: [Float], shift: [Float]) {
        let gamma = try value(prefix + ".weight").scalars, beta = try value(prefix + ".bias").scalars
        let mean = try value(prefix + ".running_mean").scalars, variance = try value(prefix + ".running_var").scalars
        var scale = [Float](repeating: 0, count: gamma.count), shift = scale
        for k in 0..<gamma.count {
            let rstd = 1 / (variance[k] + Self.batchNormEps).squareRoot()
            scale[k] = rstd * gamma[k]
            shift[k] = beta[k] - mean[k] * scale[k]
        }
        return (scale, shift)
    }

    mutating func norm(_ name: String, from source: String) throws {
        let (scale, shift) = try batchNorm(source)
        floats(name + ".scale", scale, shape: [scale.count])
        floats(name + ".shift", shift, shape: [shift.count])
    }

    /// The training forward's binary weight Ŵ = α_o·sgn(W − mean_row W): its signs (rows =
    /// `shape[0]`) and α_o per row.
    func binaryWeight(_ source: String) throws -> (signs: [Float], scales: [Float], shape: [Int]) {
        let w = try value(source)
        let binary = withNoGrad { RowCenteredBinaryWeightQuantizer().quantizedValue(of: w) }.scalars
        let rows = w.shape[0], k = w.count / rows
        let scales = (0..<rows).map { r in (0..<k).lazy.map { abs(binary[r * k + $0]) }.max() ?? 0 }
        return (binary, scales, w.shape)
    }

    /// RPReLU parameters as one [3, C] tensor: move1, slope, move2.
    mutating func rprelu(_ name: String, from source: String) throws {
        let rows = try ["move1", "slope", "move2"].map { try value(source + "." + $0).scalars }
        floats(name, rows.flatMap { $0 }, shape: [3, rows[0].count])
    }

    /// LayerScale as one [2, C] tensor: alpha, move.
    mutating func layerScale(_ name: String, from source: String) throws {
        let rows = try ["alpha", "move"].map { try value(source + "." + $0).scalars }
        floats(name, rows.flatMap { $0 }, shape: [2, rows[0].count])
    }

    /// A binary linear layer followed by BN and RPReLU (`BHViTManifest.addBinaryLinear`).
    mutating func binaryLinear(_ l: String, move: String, weight: String, norm: String, rprelu: String) throws {
        try copy(l + ".move", from: move, shape: [try value(move).count])
        let (signs, alphas, shape) = try binaryWeight(weight)
        tensors.append(ExportTensor(l + ".weight", signsOf: signs, shape: shape))
        let (scale, shift) = try batchNorm(norm)
        floats(l + ".output_scale", zip(alphas, scale).map { $0 * $1 }, shape: [scale.count])
        floats(l + ".output_shift", shift, shape: [shift.count])
        try self.rprelu(l + ".rprelu", from: rprelu)
    }

    mutating func run() throws -> [ExportTensor] {
        try stem()
        var nextA = 0, nextB = 0, block = 0
        for (s, stage) in config.stages.enumerated() {
            for _ in 0..<stage.depth {
                let p = "blocks.\(block).", src: String
                switch stage.mixer {
                case .convolution:
                    src = "vit.encoder.layerA.\(nextA)."
                    nextA += 1
                case .attention:
                    src = "vit.encoder.layerB.\(nextB)."
                    nextB += 1
                }
                try norm(p + "norm_before", from: src + "layernorm_before")
                try norm(p + "norm_after", from: src + "layernorm_after")
                switch stage.mixer {
                case .convolution: try msgdc(p, src + "GC.", width: stage.width)
                case .attention: try msmha(p, src + "attention.")
                }
                try binaryLinear(p + "mlp.fc1", move: src + "intermediate.move", weight: src + "intermediate.dense.weight",
                                 norm: src + "intermediate.norm", rprelu: src + "intermediate.rprelu")
                try binaryLinear(p + "mlp.fc2", move: src + "output.move", weight: src + "output.dense.weight",
                                 norm: src + "output.norm", rprelu: src + "output.rprelu")
                try layerScale(p + "mlp.layerscale", from: src + "output.layerscale")
                if config.shiftBranches {
                    let scales = try BHViTConfig.shiftBranchNames.map { try value(src + "layerscale_\($0).alpha").scalars }
                    let moves = try BHViTConfig.shiftBranchNames.map { try value(src + "layerscale_\($0).move").scalars }
                    floats(p + "shift.scale", scales.flatMap { $0 }, shape: [scales.count, stage.width])
                    floats(p + "shift.move", moves.flatMap { $0 }, shape: [moves.count, stage.width])
                }
                block += 1
            }
            if s + 1 < config.stages.count { try downsampling(stage: s + 1) }
        }
        try norm("norm", from: "vit.layernorm")
        try copy("head.weight", from: "classifier.weight")
        try copy("head.bias", from: "classifier.bias")
        return tensors
    }

    /// Conv → BN folded into the convolution (`W·scale`, `(b − mean)·scale + β`); the position
    /// embedding from the code's map layout [1, C, R, R] to tokens [R·R, C].
    mutating func stem() throws {
        let w = try value("vit.embeddings.patch_embeddings.proj.weight")
        let b = try value("vit.embeddings.patch_embeddings.proj.bias").scalars
        let (scale, shift) = try batchNorm("vit.embeddings.patch_embeddings.norm")
        let c = w.shape[0], k = w.count / c
        var folded = w.scalars
        for o in 0..<c { for j in 0..<k { folded[o * k + j] *= scale[o] } }
        floats("stem.weight", folded, shape: [c, k])
        floats("stem.bias", (0..<c).map { b[$0] * scale[$0] + shift[$0] }, shape: [c])
        let pos = try value("vit.embeddings.position_embeddings").scalars
        let n = pos.count / c
        var tokens = [Float](repeating: 0, count: pos.count)
        for ch in 0..<c { for t in 0..<n { tokens[t * c + ch] = pos[ch * n + t] } }
        floats("stem.pos_embed", tokens, shape: [n, c])
    }

    mutating func msgdc(_ p: String, _ src: String, width: Int) throws {
        try copy(p + "conv.move", from: src + "move.bias", shape: [width])
        for d in 1...MSGDCMixer.dilations.count {
            let (signs, alphas, shape) = try binaryWeight(src + "cov\(d).weight")
            tensors.append(ExportTensor(p + "conv\(d).weight", signsOf: signs, shape: shape))
            floats(p + "conv\(d).output_scale", alphas, shape: [alphas.count])
            try copy(p + "conv\(d).bias", from: src + "cov\(d).bias")
            try rprelu(p + "conv\(d).rprelu", from: src + "act\(d)")
        }
        try norm(p + "conv.norm", from: src + "norm")
    }

    mutating func msmha(_ p: String, _ src: String) throws {
        let a = src + "attention."
        let width = try value(a + "parm").count
        try copy(p + "attn.pool_mix", from: a + "token_FA.a1", shape: [width])
        try copy(p + "attn.token_norm.weight", from: a + "token_FA.norm.weight")
        try copy(p + "attn.token_norm.bias", from: a + "token_FA.norm.bias")
        for (j, role) in [("q", "query"), ("k", "key"), ("v", "value")] {
            try binaryLinear(p + "attn.\(j)", move: a + "move\(j)", weight: a + "\(role).weight", norm: a + "norm\(j)",
                             rprelu: a + "rprelu\(j)")
            try copy(p + "attn.\(j).sign_move", from: a + "move\(j)2")
        }
        if config.attentionProbabilities == .quantizationDecomposition {
            try copy(p + "attn.qd.step", from: a + "att_prob_quantizer.alpha")
            try copy(p + "attn.qd.zero", from: a + "att_prob_quantizer.zero_point")
        }
        try norm(p + "attn.context_norm", from: a + "norm_context")
        try rprelu(p + "attn.context_rprelu", from: a + "rprelu_context")
        try copy(p + "attn.mix", from: a + "parm", shape: [width])
        let o = src + "output."
        try binaryLinear(p + "attn.out", move: o + "move", weight: o + "dense.weight", norm: o + "norm", rprelu: o + "rprelu")
        try layerScale(p + "attn.out.layerscale", from: o + "layerscale")
    }

    /// `downsample.{s}` from `vit.encoder.patch_embed{s}`; the FP convolution carries its output
    /// BN (`W·scale`, bias = shift); the binary one folds it into α_o.
    mutating func downsampling(stage s: Int) throws {
        let d = "downsample.\(s).", src = "vit.encoder.patch_embed\(s)."
        try norm(d + "norm_in", from: src + "norm0")
        switch config.downsampling {
        case .fullPrecision:
            let w = try value(src + "proj.weight")
            let (scale, shift) = try batchNorm(src + "norm")
            let out = w.shape[0], k = w.count / out
            var folded = w.scalars
            for o in 0..<out { for j in 0..<k { folded[o * k + j] *= scale[o] } }
            floats(d + "weight", folded, shape: w.shape)
            floats(d + "bias", shift, shape: [out])
        case .binary:
            let move = try value(src + "move")
            floats(d + "move", move.scalars, shape: [move.count])
            let (signs, alphas, shape) = try binaryWeight(src + "proj.weight")
            tensors.append(ExportTensor(d + "weight", signsOf: signs, shape: shape))
            let (scale, shift) = try batchNorm(src + "norm")
            floats(d + "output_scale", zip(alphas, scale).map { $0 * $1 }, shape: [scale.count])
            floats(d + "output_shift", shift, shape: [shift.count])
            try rprelu(d + "rprelu", from: src + "rprelu")
        }
        let pos = try value(src + "position_embeddings")
        floats(d + "pos_embed", pos.scalars, shape: [pos.shape[1], pos.shape[2]])
    }
}
