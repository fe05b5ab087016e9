import Foundation
import BitViTCore
import BitViTModels

/// An official checkpoint file read for import: the model's state dict (the layout unwrapped by
/// `PyTorchCheckpoint`), the sections left out of it and what the file says about the model.
///
/// Any file `PyTorchCheckpoint` reads: a `torch.save` training checkpoint of the official
/// scripts (`{"model": …, "optimizer": …, "args": …}`), Facebook's DeiT release files, timm's
/// `model.safetensors`.
public struct OfficialCheckpointFile {
    /// The path errors and reports name.
    public var path: String
    public var format: PyTorchCheckpoint.Format
    /// The chosen weights as float32, by official name.
    public var state: [String: Tensor]
    /// The checkpoint's other sections (`optimizer`, `model_ema`, `args`, …) with their
    /// summaries, for `ImportOptions.droppedSections`.
    public var droppedSections: [(name: String, reason: String)]
    /// The official model name the training script saved (`args.model`, an inert
    /// `argparse.Namespace` record), e.g. `fourbits_deit_small_patch16_224`.
    public var officialModelName: String?

    /// Reads `url`; `selection` chooses the weights (`.ema`: the EMA copy).
    public static func read(_ url: URL, selection: StateDictSelection = .model) throws -> OfficialCheckpointFile {
        let checkpoint = try PyTorchCheckpoint.load(url)
        let weights = try checkpoint.stateDict(selection)
        let state = weights.float32()
        guard !state.isEmpty else { throw BitViTError.malformed(file: url.path, reason: "holds no tensors to import") }
        if let problem = nonFiniteTensorProblem(state) {
            throw BitViTError.malformed(file: url.path, reason: "\(problem); imported weights must be finite")
        }
        return OfficialCheckpointFile(path: url.path, format: checkpoint.format, state: state,
                                      droppedSections: weights.ignored.map { ($0.key, $0.summary) },
                                      officialModelName: checkpoint.root["args"]?["model"]?.stringValue)
    }

    /// `options` completed with what the file carries: its dropped sections, and its saved
    /// model name unless the options already name one.
    public func completing(_ options: ImportOptions) -> ImportOptions {
        var options = options
        options.droppedSections = droppedSections + options.droppedSections
        if options.hints.officialModelName == nil { options.hints.officialModelName = officialModelName }
        return options
    }

    /// The class count of the checkpoint's classifier (`head.weight` of the DeiT-based
    /// families, `classifier.weight` of BHViT), or nil without one.
    public var classes: Int? {
        (state["head.weight"] ?? state["classifier.weight"]).flatMap { $0.rank == 2 ? $0.shape[0] : nil }
    }
}

extension CheckpointImport {
    /// Reads an official checkpoint file and imports it (`load(_:options:)`), with the file's
    /// dropped sections and saved model name passed on.
    public static func load(_ file: OfficialCheckpointFile, options: ImportOptions = ImportOptions()) throws -> ImportedModel {
        try load(file.state, options: file.completing(options))
    }

    /// Loads the weights of `file` into an existing `model` built from `spec` (a training
    /// run's student), non-strictly: every entry the family's map sends to one of the model's
    /// tensors is copied, the model keeps its own initialization for the rest, and the heads
    /// keep theirs when the class count differs (fine-tuning to a new label set). Shapes of
    /// other tensors must agree.
    public static func initialize(_ model: Module, spec: ModelSpec, from file: OfficialCheckpointFile,
                                  hints: DetectionHints = DetectionHints()) throws -> ImportReport {
        let options = file.completing(ImportOptions(reinitializeHeads: true, hints: hints))
        let family = try CheckpointDetection.family(of: file.state, hints: options.hints)
        return try load(file.state, from: family, into: model, spec: spec, checkpointClasses: file.classes, options: options)
    }
}
