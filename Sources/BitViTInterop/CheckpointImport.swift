import BitViTCore
import BitViTNN
import BitViTModels

/// How `CheckpointImport` treats a checkpoint.
public struct ImportOptions: Sendable {
    /// Fail when a BitViT tensor has no source or a source entry has no destination (other
    /// than the entries the family's map ignores on purpose).
    public var strict: Bool
    /// The model to build instead of the detected one (`--model`): its name fixes the family's
    /// BitViT model and its geometry must match the checkpoint's shapes. Nil: detect.
    public var model: ModelSpec?
    /// Classes of the model to build (nil: the checkpoint's).
    public var classes: Int?
    /// With a class count other than the checkpoint's, leave the heads (`head`, `head_dist`,
    /// `classifier`, with their quantizer state) freshly initialized instead of failing:
    /// fine-tuning to a new label set (GSB's stage 1 starts from an ImageNet DeiT-S with a
    /// new 100-class head).
    public var reinitializeHeads: Bool
    /// Seed of the fresh initialization of anything the checkpoint does not provide.
    public var seed: UInt64
    /// What detection cannot read from names and shapes.
    public var hints: DetectionHints
    /// Checkpoint sections the caller already dropped (e.g. `optimizer`, `model_ema`), listed in
    /// the report with their reasons.
    public var droppedSections: [(name: String, reason: String)]

    public init(strict: Bool = false, model: ModelSpec? = nil, classes: Int? = nil, reinitializeHeads: Bool = false,
                seed: UInt64 = 0, hints: DetectionHints = DetectionHints(),
                droppedSections: [(name: String, reason: String)] = []) {
        self.strict = strict
        self.model = model
        self.classes = classes
        self.reinitializeHeads = reinitializeHeads
        self.seed = seed
        self.hints = hints
        self.droppedSections = droppedSections
    }
}

/// A BitViT model built from an official checkpoint.
public struct ImportedModel {
    public var model: any ImageClassifier
    public var report: ImportReport
}

/// Loads state dicts written by the official PyTorch code of DeiT (timm), GSB, Q-ViT and BHViT
/// into BitViT models (the maps are `NameMap`'s).
///
/// The input is the model's state dict, `[official name: tensor]` (what `torch.save`'s `model`
/// entry holds after the caller has unwrapped `{"model": …}`, `state_dict`, `module.`).
/// Every parameter and buffer is copied: weights, learned quantizer steps and zero points,
/// GSB's superposition scales, quantizer flags (`init_state`, `signed`) and BatchNorm running
/// statistics, so that the model in evaluation mode computes what the official model computes.
public enum CheckpointImport {
    /// Detects the family and geometry (unless `options.model` forces them), builds the model
    /// and loads `state` into it.
    public static func load(_ state: [String: Tensor], options: ImportOptions = ImportOptions()) throws -> ImportedModel {
        let detected: DetectedModel
        if let forced = options.model {
            let family = try OfficialFamily(spec: forced) ?? CheckpointDetection.family(of: state, hints: options.hints)
            detected = DetectedModel(family: family, spec: forced, notes: ["model forced: \(forced.name)"])
        } else {
            detected = try CheckpointDetection.detect(state, hints: options.hints)
        }
        let sourceFamily = try CheckpointDetection.family(of: state, hints: options.hints)
        var spec = detected.spec
        let checkpointClasses = spec.classes
        if let classes = options.classes { spec.classes = classes }
        let model = try ModelZoo.make(spec, seed: options.seed)
        let report = try load(state, from: sourceFamily, into: model, spec: spec, notes: detected.notes,
                              checkpointClasses: options.model == nil ? checkpointClasses : nil, options: options)
        return ImportedModel(model: model, report: report)
    }

    /// Loads `state`, named as `family`'s official code names it, into `model` (built from
    /// `spec`). Shapes must agree up to the reshapes the map allows (equal element counts).
    public static func load(_ state: [String: Tensor], from family: OfficialFamily, into model: Module, spec: ModelSpec,
                            notes: [String] = [], checkpointClasses: Int? = nil,
                            options: ImportOptions = ImportOptions()) throws -> ImportReport {
        let map = NameMap(family)
        let destination = model.stateDict()
        var report = ImportReport(family: family, spec: spec, notes: notes, mapped: [], ignored: options.droppedSections,
                                  missing: [], reinitialized: [])
        var values: [String: Tensor] = [:]
        var unexpected: [String] = []
        let classesChanged = checkpointClasses.map { $0 != spec.classes } ?? false
        var headsSkipped = false
        for name in state.keys.sorted() {
            let source = state[name]!
            guard let target = map.bitvitName(name) else {
                report.ignored.append((name, map.ignoredReason(name) ?? "no BitViT counterpart"))
                continue
            }
            guard let slot = destination[target] else {
                unexpected.append(name)
                continue
            }
            if isHead(target) && (classesChanged || source.count != slot.count) {
                guard options.reinitializeHeads || source.count == slot.count else {
                    throw BitViTError.shapeMismatch("'\(name)' has \(source.shape) but the model's '\(target)' is \(slot.shape): the class count differs; re-initialize the heads to fine-tune (`bitvit import --reinitialize-heads`)")
                }
                if options.reinitializeHeads {
                    headsSkipped = true
                    continue
                }
            }
            if target == "pos_embed", state["dist_token"] == nil, destination["dist_token"] != nil,
               let widened = withDistillationTokenRow(source, slot: slot) {
                values[target] = widened
                report.mapped.append(ImportReport.Mapped(official: name, bitvit: target, reshaped: (source.shape, slot.shape)))
                report.notes.append("the checkpoint has no distillation token: pos_embed's class-token and patch rows are "
                                    + "copied, its distillation-token row and dist_token keep their initialization")
                continue
            }
            guard source.count == slot.count else {
                throw BitViTError.shapeMismatch("'\(name)' has shape \(source.shape), the model's '\(target)' has \(slot.shape)")
            }
            values[target] = source.shape == slot.shape ? source : source.reshaped(slot.shape)
            report.mapped.append(ImportReport.Mapped(official: name, bitvit: target,
                                                     reshaped: source.shape == slot.shape ? nil : (source.shape, slot.shape)))
        }
        let provided = Set(values.keys)
        for name in model.stateNames where !provided.contains(name) {
            if headsSkipped && isHead(name) {
                report.reinitialized.append(name)
            } else {
                report.missing.append(name)
            }
        }
        for name in unexpected { report.ignored.append((name, "not in the model \(spec.name)")) }
        if options.strict && !(report.missing.isEmpty && unexpected.isEmpty) {
            throw BitViTError.invalidArgument("strict import into \(spec.name): missing \(report.missing.prefix(8).joined(separator: ", "))\(report.missing.count > 8 ? "…" : ""); unexpected \(unexpected.prefix(8).joined(separator: ", "))\(unexpected.count > 8 ? "…" : "")")
        }
        try model.load(values, strict: false)
        return report
    }

    /// A plain DeiT's position embedding `[1, 1 + P, D]` placed in a distilled model's
    /// `[1, 2 + P, D]`: row 0 (class token) and the patch rows are copied, row 1 (the
    /// distillation token, which the checkpoint lacks) is `slot`'s. Nil for other shapes.
    static func withDistillationTokenRow(_ source: Tensor, slot: Tensor) -> Tensor? {
        guard source.rank == 3, slot.rank == 3, source.shape[0] == 1, slot.shape[0] == 1, source.shape[2] == slot.shape[2],
              slot.shape[1] == source.shape[1] + 1, source.shape[1] >= 1 else { return nil }
        let d = source.shape[2]
        var out = slot.scalars
        let from = source.scalars
        out.replaceSubrange(0..<d, with: from[0..<d])
        out.replaceSubrange(2 * d..<out.count, with: from[d..<from.count])
        return Tensor(shape: slot.shape, scalars: out)
    }

    /// Whether a BitViT state name belongs to a classifier head.
    static func isHead(_ name: String) -> Bool {
        name.hasPrefix("head.") || name.hasPrefix("head_dist.") || name.hasPrefix("classifier.")
    }
}
