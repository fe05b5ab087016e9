import BitViTCore
import BitViTInterop
import BitViTModels
import BitViTTrain
import Foundation

/// `bitvit import`: an official PyTorch checkpoint (timm DeiT, GSB, Q-ViT, BHViT; `torch.save`
/// or safetensors) as a BitViT checkpoint, which `eval`, `export`, `parity`, `info` and
/// `forward` take like any other.
///
/// The file is read by `PyTorchCheckpoint` (no code in it runs), its sections other than the
/// weights (optimizer, EMA copy, `args` …) are reported, the saved `args.model` names Q-ViT's
/// bit width, and `CheckpointImport` detects the family and geometry and maps the names.
public struct OfficialImport {
    /// The official checkpoint.
    public var source: String
    /// A BitViT model name to build instead of the detected one, with the checkpoint's
    /// geometry (`DetectedModel.respecified`), e.g. `gsb-deit-small` from a DeiT-S.
    public var model: String?
    /// Family options of that model (`stage=1`, `bits=4`), applied last.
    public var modelOptions: [String: String]
    /// Classes of the model to build (nil: the checkpoint's).
    public var classes: Int?
    /// Attention heads of a full-precision DeiT (its shapes do not record them).
    public var heads: Int?
    /// Q-ViT's bit width (otherwise from `args.model` or the step sizes).
    public var bits: Int?
    /// Fail when a BitViT tensor has no source or an entry has no destination.
    public var strict: Bool
    /// With another class count, leave the heads freshly initialized (fine-tuning).
    public var reinitializeHeads: Bool
    /// Import the EMA copy (`model_ema`, `state_dict_ema`) instead of the model.
    public var ema: Bool

    public init(source: String, model: String? = nil, modelOptions: [String: String] = [:], classes: Int? = nil,
                heads: Int? = nil, bits: Int? = nil, strict: Bool = false, reinitializeHeads: Bool = false, ema: Bool = false) {
        self.source = source
        self.model = model
        self.modelOptions = modelOptions
        self.classes = classes
        self.heads = heads
        self.bits = bits
        self.strict = strict
        self.reinitializeHeads = reinitializeHeads
        self.ema = ema
    }

    /// What an import produced.
    public struct Imported {
        public var file: OfficialCheckpointFile
        public var model: any ImageClassifier
        public var report: ImportReport
        public var spec: ModelSpec { report.spec }
    }

    /// Reads and imports the checkpoint (nothing is written).
    public func load() throws -> Imported {
        let file = try OfficialCheckpointFile.read(URL(fileURLWithPath: source), selection: ema ? .ema : .model)
        let hints = DetectionHints(bits: bits, heads: heads)
        var forced: ModelSpec?
        if let model {
            guard ModelFamily.of(modelName: model) != nil else {
                throw BitViTError.invalidArgument("--model \(model) is not a model name; known: \(ModelZoo.names.joined(separator: ", "))")
            }
            forced = try CheckpointDetection.detect(file.state, hints: file.completing(ImportOptions(hints: hints)).hints)
                .respecified(as: model, options: modelOptions)
        } else if !modelOptions.isEmpty {
            throw BitViTError.invalidArgument("model options \(modelOptions.keys.sorted()) need --model")
        }
        if let forced { try ModelZoo.validate(forced) }
        let imported = try CheckpointImport.load(file, options: ImportOptions(
            strict: strict, model: forced, classes: classes, reinitializeHeads: reinitializeHeads, hints: hints))
        if let problem = nonFiniteTensorProblem(imported.model.stateDict()) {
            throw BitViTError.malformed(file: source, reason: "\(problem) after import")
        }
        return Imported(file: file, model: imported.model, report: imported.report)
    }

    /// What `write` did.
    public struct Summary {
        public var imported: Imported
        public var output: String
        /// The recipe stored with the weights, if any.
        public var recipe: TrainConfig?

        public var text: String {
            importText(imported) + "\n" + "wrote \(output): BitViT checkpoint of \(imported.spec.name), "
                + "\(grouped(imported.model.parameterCount)) parameters"
                + (recipe.map { ", with the recipe '\($0.name)' (\($0.data.dataset) data) for eval, export and parity" } ?? "")
        }
    }

    /// Imports the checkpoint and writes it to `output` as a BitViT checkpoint (kind
    /// `imported`, metadata `source`). With `recipe` (and `overrides`), the recipe is stored
    /// with its model replaced by the imported one, so that `eval`, `export` and `parity` find
    /// the data set, its normalization and class names in the file.
    public func write(to output: String, recipe: String? = nil, overrides: [String] = []) throws -> Summary {
        let imported = try load()
        var config: TrainConfig?
        if let recipe {
            var c = try TrainConfig.resolve(recipe: URL(fileURLWithPath: recipe), overrides: overrides)
            c.model = imported.spec
            // Checked as `Checkpoint.load` will check it.
            config = try TrainConfig.resolve(recipeText: try c.yaml(), source: "\(recipe) with the imported model")
        } else if !overrides.isEmpty {
            throw BitViTError.invalidArgument("--set applies to the recipe stored with --recipe")
        }
        imported.model.eval()
        try Checkpoint.save(to: URL(fileURLWithPath: output), kind: "imported", model: imported.model, modelSpec: imported.spec,
                            config: config, state: nil, extraMetadata: ["source": source])
        return Summary(imported: imported, output: output, recipe: config)
    }
}

/// The import report as `bitvit import` prints it: source and family, the model, counts, then
/// notes, the sections not read, the entries not imported (grouped over blocks, with their
/// reasons), the missing and the re-initialized tensors.
func importText(_ imported: OfficialImport.Imported) -> String {
    let r = imported.report, file = imported.file
    let options = r.spec.options.isEmpty ? "" : " (" + r.spec.options.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")"
    let reshaped = r.mapped.filter { $0.reshaped != nil }.count
    let sections = Set(file.droppedSections.map(\.name))
    let entries = r.ignored.filter { !sections.contains($0.name) }
    var lines = ["\(file.path): \(file.format.rawValue), \(r.family.rawValue) names"
                 + (file.officialModelName.map { " (args.model \($0))" } ?? ""),
                 "→ \(r.spec.name)\(options), \(r.spec.classes) classes: \(r.mapped.count) tensors imported"
                 + (reshaped > 0 ? " (\(reshaped) reshaped)" : "") + ", \(entries.count) entries not imported, "
                 + "\(r.missing.count) missing, \(r.reinitialized.count) re-initialized"]
    lines += r.notes.map { "  note: \($0)" }
    lines += file.droppedSections.map { "  not read: \($0.reason)" }
    var reasons: [String] = [], byReason: [String: [String]] = [:]
    for e in entries {
        if byReason[e.reason] == nil { reasons.append(e.reason) }
        byReason[e.reason, default: []].append(e.name)
    }
    for reason in reasons {
        lines.append("  not imported (\(reason)): " + InitializationReport.grouped(byReason[reason]!).joined(separator: ", "))
    }
    if !r.missing.isEmpty {
        lines.append("  missing (freshly initialized): " + InitializationReport.grouped(r.missing).joined(separator: ", "))
    }
    if !r.reinitialized.isEmpty {
        lines.append("  re-initialized heads (\(file.classes ?? 0) → \(r.spec.classes) classes): "
                     + InitializationReport.grouped(r.reinitialized).joined(separator: ", "))
    }
    return lines.joined(separator: "\n")
}
