import BitViTCore

/// The correspondence between an official code's state-dict names and a BitViT model's,
/// both ways. Names not covered by a rule are the same on both sides (timm's names, which
/// BitViT's DeiT-based models use, and BHViT's, which BitViT's BHViT follows).
///
/// | family | official name | BitViT name |
/// |---|---|---|
/// | `deit` | every name | the same (`cls_token`, `blocks.{i}.attn.qkv.weight`, …); an old 2-D `patch_embed.proj.weight` `[D, C·p·p]` is reshaped to `[D, C, p, p]` |
/// | GSB (both stages) | `….attn.move_{q,k,v}.bias` `[H, 1, d]` | `….attn.{q,k,v}_shift` |
/// | | `….attn.move_att.bias` `[H, N, N]` | `….attn.attention_bias` |
/// | | `….move.bias` (per input channel) | `….input_shift` |
/// | | `….input_clip_val`, `….weight_clip_val` (0-dim) | `….input_quantizer.alpha`, `….weight_quantizer.alpha` |
/// | | `….attn.clip_query`, `clip_key` | `….attn.q_quantizer.alpha`, `k_quantizer.alpha` |
/// | | `….attn.clip_value{,2,3}`, `clip_attn{,2,3}` | `….attn.v_quantizer.alpha{1,2,3}`, `attn_quantizer.alpha{1,2,3}` |
/// | | `patch_embed.proj.alpha` `[D]`, `init_state` `[1]` | `patch_embed.proj.weight_quantizer.alpha`, `init_state` `[]` |
/// | | stage 1: `….mlp.fc{1,2}.weight_clip_val` `[2]` | ignored (an unused buffer; written back as `[−2.5, 2.5]`) |
/// | Q-ViT | `….act.{alpha,zero_point,init_state,signed}` | `….input_quantizer.…` |
/// | | `….attn.{q,k,v,attn}_act.…` | `….attn.{q,k,v,attn}_quantizer.…` |
/// | | `{qkv,proj,fc1,fc2,head,head_dist,patch_embed.proj}.{alpha,init_state}` | `….weight_quantizer.{alpha,init_state}` |
/// | BHViT | `….prelu.weight` (RPReLU slope) | `….slope` |
///
/// Quantizer flags (`init_state`, `signed`) are `[1]` in the official code and rank 0 in
/// BitViT; BatchNorm statistics (`running_mean`, `running_var`, `num_batches_tracked`) keep
/// their names. GSB's scales carry no flag in either code: a loaded value other than 1 is
/// what marks them initialized.
public struct NameMap: Sendable {
    public let family: OfficialFamily
    let rules: [RenameRule]
    /// Official names (suffixes) that have no BitViT counterpart, with the reason.
    let ignored: [(suffix: String, reason: String)]

    /// The map of `family`.
    public init(_ family: OfficialFamily) {
        self.family = family
        switch family {
        case .deit:
            rules = []
            ignored = []
        case .gsbStage1, .gsbStage2:
            rules = NameMap.gsbRules
            ignored = family == .gsbStage1
                ? [("mlp.fc1.weight_clip_val", "unused clipping buffer of the BWN layers"),
                   ("mlp.fc2.weight_clip_val", "unused clipping buffer of the BWN layers")]
                : []
        case .qvit:
            rules = NameMap.qvitRules
            ignored = []
        case .bhvit:
            rules = [RenameRule("prelu.weight", "slope")]
            ignored = []
        }
    }

    /// The BitViT name of an official state entry, or nil when the family ignores it
    /// (`ignoredReason(_:)` says why).
    public func bitvitName(_ official: String) -> String? {
        if ignoredReason(official) != nil { return nil }
        for rule in rules {
            if let prefix = rule.prefix(of: official, suffix: rule.official) { return rule.join(prefix, rule.bitvit) }
        }
        return official
    }

    /// The official name of a BitViT state entry.
    public func officialName(_ bitvit: String) -> String {
        for rule in rules {
            if let prefix = rule.prefix(of: bitvit, suffix: rule.bitvit) { return rule.join(prefix, rule.official) }
        }
        return bitvit
    }

    /// Why an official entry has no BitViT counterpart, or nil when it has one.
    public func ignoredReason(_ official: String) -> String? {
        ignored.first { official == $0.suffix || official.hasSuffix("." + $0.suffix) }?.reason
    }

    /// The official shape of a BitViT tensor: quantizer flags are `[1]` there.
    public func officialShape(_ bitvitName: String, _ shape: [Int]) -> [Int] {
        let leaf = bitvitName.split(separator: ".").last.map(String.init) ?? bitvitName
        if shape.isEmpty && (leaf == "init_state" || leaf == "signed") { return [1] }
        return shape
    }

    // MARK: Rules

    static let gsbRules: [RenameRule] = {
        // Whole names first: the generic suffix rules below would also match them.
        var r = [RenameRule("patch_embed.proj.alpha", "patch_embed.proj.weight_quantizer.alpha", wholeName: true),
                 RenameRule("patch_embed.proj.init_state", "patch_embed.proj.weight_quantizer.init_state", wholeName: true)]
        for x in ["q", "k", "v"] { r.append(RenameRule("attn.move_\(x).bias", "attn.\(x)_shift")) }
        r.append(RenameRule("attn.move_att.bias", "attn.attention_bias"))
        r.append(RenameRule("attn.clip_query", "attn.q_quantizer.alpha"))
        r.append(RenameRule("attn.clip_key", "attn.k_quantizer.alpha"))
        for (k, suffix) in ["", "2", "3"].enumerated() {
            r.append(RenameRule("attn.clip_value\(suffix)", "attn.v_quantizer.alpha\(k + 1)"))
            r.append(RenameRule("attn.clip_attn\(suffix)", "attn.attn_quantizer.alpha\(k + 1)"))
        }
        r.append(RenameRule("move.bias", "input_shift"))
        r.append(RenameRule("input_clip_val", "input_quantizer.alpha"))
        r.append(RenameRule("weight_clip_val", "weight_quantizer.alpha"))
        return r
    }()

    static let qvitRules: [RenameRule] = {
        let leaves = ["alpha", "zero_point", "init_state", "signed"]
        var r: [RenameRule] = []
        for x in ["q", "k", "v", "attn"] {
            for leaf in leaves { r.append(RenameRule("attn.\(x)_act.\(leaf)", "attn.\(x)_quantizer.\(leaf)")) }
        }
        for leaf in leaves { r.append(RenameRule("act.\(leaf)", "input_quantizer.\(leaf)")) }
        // The weight step and flag sit directly on Q-ViT's LinearQ / Conv2dQ layers.
        let layers: Set<String> = ["qkv", "proj", "fc1", "fc2", "head", "head_dist"]
        for leaf in ["alpha", "init_state"] {
            r.append(RenameRule(leaf, "weight_quantizer.\(leaf)") { prefix in
                layers.contains(prefix.split(separator: ".").last.map(String.init) ?? "")
            })
        }
        return r
    }()
}

/// One renaming: `<prefix>.<official>` ↔ `<prefix>.<bitvit>`, or the whole names when
/// `wholeName`.
struct RenameRule: Sendable {
    let official: String
    let bitvit: String
    let wholeName: Bool
    let prefixAllowed: @Sendable (String) -> Bool

    init(_ official: String, _ bitvit: String, wholeName: Bool = false,
         prefixAllowed: @escaping @Sendable (String) -> Bool = { _ in true }) {
        self.official = official
        self.bitvit = bitvit
        self.wholeName = wholeName
        self.prefixAllowed = prefixAllowed
    }

    /// The prefix before `suffix` in `name` when this rule applies ("" for whole names).
    func prefix(of name: String, suffix: String) -> String? {
        if wholeName { return name == suffix ? "" : nil }
        guard name.hasSuffix("." + suffix) else { return nil }
        let prefix = String(name.dropLast(suffix.count + 1))
        return prefixAllowed(prefix) ? prefix : nil
    }

    func join(_ prefix: String, _ suffix: String) -> String {
        prefix.isEmpty ? suffix : prefix + "." + suffix
    }
}
