import Foundation
import BitViTCore
import BitViTModels

/// What the caller knows beyond the state dict, used where names and shapes are silent.
public struct DetectionHints: Sendable {
    /// Q-ViT's bit width (2, 3, 4 or 8); without it the width is inferred from the weight
    /// step sizes (see `CheckpointDetection.qvitBits(_:)`).
    public var bits: Int?
    /// Attention heads of a full-precision DeiT (not recorded in its shapes); without it,
    /// DeiT-Ti/S/B widths take their presets' heads and other widths head dimension 64.
    public var heads: Int?
    /// The official model name saved with the checkpoint (`args.model`, e.g.
    /// `fourbits_deit_small_patch16_224`, `onebits_deit_small_patch16_224_w32`), which names
    /// the bit width or GSB stage.
    public var officialModelName: String?

    public init(bits: Int? = nil, heads: Int? = nil, officialModelName: String? = nil) {
        self.bits = bits
        self.heads = heads
        self.officialModelName = officialModelName
    }
}

/// A checkpoint's family and the BitViT model that holds it.
public struct DetectedModel: Sendable {
    public var family: OfficialFamily
    /// Builds the BitViT model with `ModelZoo.make` (geometry read from the shapes).
    public var spec: ModelSpec
    /// How uncertain parts were decided (e.g. "bits 4 inferred from the weight step sizes").
    public var notes: [String]
}

extension DetectedModel {
    /// The detected geometry under another BitViT model name (`bitvit import --model`): the
    /// shapes (image and patch size, channels, width, depth, heads, MLP ratio) and classes are
    /// kept; the detected family options (`stage`, `bits`, …) and the distillation token are
    /// kept only within the same model family, so a DeiT's geometry becomes a GSB or Q-ViT
    /// model with that family's defaults. `options` are applied last.
    public func respecified(as name: String, options: [String: String] = [:]) -> ModelSpec {
        var out = spec
        let sameFamily = ModelFamily.of(modelName: name)?.family == spec.family?.family
        out.name = name
        if !sameFamily {
            out.options = [:]
            out.distilled = nil
        }
        out.options.merge(options) { _, given in given }
        return out
    }
}

/// Recognizes the official family and the geometry of a state dict from its names and shapes.
public enum CheckpointDetection {
    /// The family whose names `state` uses.
    ///
    /// BHViT: `vit.encoder.layerA.*`; GSB: `blocks.{i}.attn.move_q.bias` (stage 2 when the
    /// attention has `clip_query`); Q-ViT: `….act.alpha` quantizers; DeiT: timm's names
    /// without any of those.
    public static func family(of state: [String: Tensor], hints: DetectionHints = DetectionHints()) throws -> OfficialFamily {
        let names = Set(state.keys)
        if let family = family(names: names) { return family }
        if names.contains(where: { $0.hasSuffix(".attn.q_shift") || $0.hasSuffix(".input_quantizer.alpha") }) {
            throw BitViTError.invalidArgument("the state dict already uses BitViT's names; load it with `Module.load` instead of importing it")
        }
        let sample = names.sorted().prefix(6).joined(separator: ", ")
        throw BitViTError.invalidArgument("no known checkpoint family (timm DeiT, GSB, Q-ViT, BHViT) uses these names: \(sample)…")
    }

    /// The family whose official names `names` are, or nil (names of no official family, or
    /// BitViT's own names for the GSB and Q-ViT quantizers).
    public static func family(names: Set<String>) -> OfficialFamily? {
        if names.contains(where: { $0.hasPrefix("vit.encoder.") }) && names.contains("classifier.weight") { return .bhvit }
        if names.contains(where: { $0.hasSuffix(".attn.move_q.bias") }) {
            return names.contains(where: { $0.hasSuffix(".attn.clip_query") }) ? .gsbStage2 : .gsbStage1
        }
        if names.contains(where: { $0.hasSuffix(".attn.q_act.alpha") || $0.hasSuffix(".qkv.act.alpha") }) { return .qvit }
        if names.contains(where: { $0.hasSuffix(".attn.q_shift") || $0.hasSuffix(".input_quantizer.alpha") }) { return nil }
        if names.contains("pos_embed") && names.contains("patch_embed.proj.weight") { return .deit }
        return nil
    }

    /// The family and BitViT model spec of `state`.
    public static func detect(_ state: [String: Tensor], hints: DetectionHints = DetectionHints()) throws -> DetectedModel {
        let family = try self.family(of: state, hints: hints)
        switch family {
        case .bhvit: return try bhvit(state)
        default: return try deitLike(state, family: family, hints: hints)
        }
    }

    // MARK: DeiT-based families

    static func deitLike(_ state: [String: Tensor], family: OfficialFamily, hints: DetectionHints) throws -> DetectedModel {
        var notes: [String] = []
        let pos = try shape(state, "pos_embed", rank: 3)
        let patch = try tensor(state, "patch_embed.proj.weight")
        let dim = pos[2]
        let distilled = state["dist_token"] != nil
        let prefixTokens = distilled ? 2 : 1
        let inChannels: Int, patchSize: Int
        if patch.rank == 4 {
            (inChannels, patchSize) = (patch.shape[1], patch.shape[2])
        } else {
            // timm's earliest ViTs patchified by hand: a [D, C·p·p] linear, C = 3.
            inChannels = 3
            patchSize = Int(Double(patch.shape[1] / 3).squareRoot().rounded())
            notes.append("2-D patch_embed.proj.weight read as a \(patchSize)×\(patchSize) convolution over 3 channels")
        }
        let grid = Int(Double(pos[1] - prefixTokens).squareRoot().rounded())
        guard grid * grid == pos[1] - prefixTokens, grid > 0 else {
            throw BitViTError.shapeMismatch("pos_embed \(pos): \(pos[1] - prefixTokens) patch tokens are not a square grid")
        }
        let depth = blockCount(state, prefix: "blocks.", leaf: "norm1.weight")
        guard depth > 0 else { throw BitViTError.missing("blocks.0.norm1.weight (no transformer blocks)") }
        let hidden = try shape(state, "blocks.0.mlp.fc1.weight", rank: 2)[0]
        let classes = try shape(state, "head.weight", rank: 2)[0]
        let heads = try headCount(state, family: family, dim: dim, hints: hints, notes: &notes)
        let base = ViTConfig.presets.first { $0.value.dim == dim && $0.value.depth == depth && $0.value.heads == heads
            && $0.value.patchSize == patchSize && $0.value.imageSize == grid * patchSize }?.key
            ?? ViTConfig.presets.first { $0.value.dim == dim }?.key ?? "deit-tiny"
        var spec = ModelSpec(name: family.bitvitPrefix + base, classes: classes, imageSize: grid * patchSize,
                             patchSize: patchSize, inChannels: inChannels, dim: dim, depth: depth, heads: heads,
                             mlpRatio: Double(hidden) / Double(dim), distilled: distilled)
        switch family {
        case .gsbStage1: spec.options["stage"] = "1"
        case .gsbStage2: spec.options["stage"] = "2"
        case .qvit:
            let bits = try qvitBits(state, hints: hints, notes: &notes)
            spec.options["bits"] = String(bits)
            if state["blocks.0.attn.norm_q.weight"] == nil { spec.options["irm"] = "false" }
        default: break
        }
        return DetectedModel(family: family, spec: spec, notes: notes)
    }

    static func headCount(_ state: [String: Tensor], family: OfficialFamily, dim: Int, hints: DetectionHints,
                          notes: inout [String]) throws -> Int {
        if let shift = state["blocks.0.attn.move_q.bias"], shift.rank == 3 { return shift.shape[0] }
        if let step = state["blocks.0.attn.q_act.alpha"] { return step.count }
        if let heads = hints.heads { return heads }
        if let preset = ViTConfig.presets.values.first(where: { $0.dim == dim }) {
            notes.append("\(preset.heads) heads: the DeiT preset of width \(dim) (the shapes do not record heads)")
            return preset.heads
        }
        guard dim % 64 == 0 else {
            throw BitViTError.invalidArgument("a width-\(dim) DeiT does not record its attention heads; name them (`DetectionHints.heads`, `bitvit import --heads`)")
        }
        notes.append("\(dim / 64) heads: head dimension 64 assumed (the shapes do not record heads)")
        return dim / 64
    }

    /// Q-ViT's bit width: from the hints, from the official model name, or from the weight
    /// step sizes of the block linears, whose LSQ initialization `α = 2·mean|W|/√Qp` makes
    /// `2·mean|W|/mean α ≈ √Qp` (`Qp = 2^(b−1) − 1`); the width whose `Qp` is nearest (in
    /// ratio) wins. Training moves the steps, so the inference is noted in the report.
    public static func qvitBits(_ state: [String: Tensor], hints: DetectionHints, notes: inout [String]) throws -> Int {
        if let bits = hints.bits { return bits }
        if let name = hints.officialModelName?.lowercased() {
            for (word, bits) in [("twobits", 2), ("threebits", 3), ("fourbits", 4), ("eightbits", 8)] where name.hasPrefix(word) {
                return bits
            }
        }
        var estimates: [Double] = []
        for (name, weight) in state where name.hasSuffix(".weight") && name.hasPrefix("blocks.") && weight.rank == 2 {
            guard let alpha = state[String(name.dropLast("weight".count)) + "alpha"], alpha.count == weight.shape[0] else { continue }
            let meanW = weight.scalars.reduce(0.0) { $0 + Double(abs($1)) } / Double(weight.count)
            let meanA = alpha.scalars.reduce(0.0) { $0 + Double($1) } / Double(alpha.count)
            if meanA > 0 { estimates.append(2 * meanW / meanA) }
        }
        guard !estimates.isEmpty else {
            throw BitViTError.invalidArgument("Q-ViT checkpoint without weight step sizes: name the bit width (`bits`)")
        }
        let sqrtQp = estimates.reduce(0, +) / Double(estimates.count)
        func distance(_ bits: Int) -> Double {
            let qp = Double((1 << (bits - 1)) - 1)
            return abs(log(sqrtQp / qp.squareRoot()))
        }
        let bits = [2, 3, 4, 8].min { distance($0) < distance($1) }!
        notes.append("bits \(bits) inferred from the weight step sizes (2·mean|W|/mean α = \(String(format: "%.3f", sqrtQp)) ≈ √Qp); pass the width to be sure")
        return bits
    }

    // MARK: BHViT

    static func bhvit(_ state: [String: Tensor]) throws -> DetectedModel {
        let a = blockCount(state, prefix: "vit.encoder.layerA.", leaf: "layernorm_before.weight")
        let b = blockCount(state, prefix: "vit.encoder.layerB.", leaf: "layernorm_before.weight")
        func width(_ block: String) throws -> Int { try shape(state, block + ".layernorm_before.weight", rank: 1)[0] }
        func ratio(_ block: String, _ c: Int) throws -> Int { try shape(state, block + ".intermediate.dense.weight", rank: 2)[0] / c }
        var depths = [Int](repeating: 0, count: 4)
        let presetStages = BHViTConfig.tiny.stages
        for (prefix, count) in [("vit.encoder.layerA.", a), ("vit.encoder.layerB.", b)] {
            for i in 0..<count {
                let block = prefix + String(i)
                let c = try width(block)
                guard let s = presetStages.firstIndex(where: { $0.width == c }), try ratio(block, c) == presetStages[s].mlpRatio else {
                    throw BitViTError.invalidArgument("BHViT block \(block): width \(c) and MLP ratio are not a BitViT preset's (widths 64/128/256/512, ratios 8/8/4/4)")
                }
                depths[s] += 1
            }
        }
        guard depths.allSatisfy({ $0 > 0 }) else {
            throw BitViTError.invalidArgument("BHViT checkpoint with blocks per stage \(depths): every stage needs one")
        }
        let classes = try shape(state, "classifier.weight", rank: 2)[0]
        let name = depths == BHViTConfig.small.stages.map(\.depth) ? "bhvit-small" : "bhvit-tiny"
        var spec = ModelSpec(name: name, classes: classes)
        if depths != BHViTConfig.presets[name]!.stages.map(\.depth) {
            spec.options["depths"] = depths.map(String.init).joined(separator: ",")
        }
        if state["vit.encoder.patch_embed1.move"] != nil { spec.options["downsampling"] = "binary" }
        if state["vit.encoder.layerA.0.layerscale_h3.alpha"] == nil { spec.options["shift"] = "false" }
        if !state.keys.contains(where: { $0.contains("att_prob_quantizer") }) { spec.options["attention"] = "fp" }
        if let stem = state["vit.embeddings.patch_embeddings.proj.weight"], stem.rank == 4, stem.shape[1] != 3 {
            spec.inChannels = stem.shape[1]
        }
        return DetectedModel(family: .bhvit, spec: spec, notes: [])
    }

    // MARK: Shapes

    static func tensor(_ state: [String: Tensor], _ name: String) throws -> Tensor {
        guard let t = state[name] else { throw BitViTError.missing("checkpoint entry '\(name)'") }
        return t
    }

    static func shape(_ state: [String: Tensor], _ name: String, rank: Int) throws -> [Int] {
        let t = try tensor(state, name)
        guard t.rank == rank else { throw BitViTError.shapeMismatch("'\(name)' has shape \(t.shape), expected rank \(rank)") }
        return t.shape
    }

    /// Number of consecutive blocks `prefix{i}.leaf`, i = 0, 1, ….
    static func blockCount(_ state: [String: Tensor], prefix: String, leaf: String) -> Int {
        var i = 0
        while state["\(prefix)\(i).\(leaf)"] != nil { i += 1 }
        return i
    }
}
