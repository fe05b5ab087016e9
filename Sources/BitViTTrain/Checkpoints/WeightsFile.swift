import Foundation
import BitViTModels
import BitViTInterop

/// A weights file a recipe names (`training.init_checkpoint`, `loss.distillation.teacher`),
/// recognized by its content:
///
/// - a BitViT checkpoint: a safetensors file with BitViT's `model` metadata, or a plain
///   safetensors file in BitViT's names (its architecture described by the recipe);
/// - an official PyTorch checkpoint: a `torch.save` file (`.pth`: the official scripts'
///   training checkpoints, Facebook's DeiT release files) or a safetensors file under an
///   official code's names (timm's `model.safetensors`, `bitvit export --format official` output),
///   imported through `BitViTInterop` (docs/interop.md).
public struct WeightsFile {
    public enum Kind: Equatable {
        case bitvit
        /// An official checkpoint in this family's names.
        case official
    }

    public let url: URL
    public let kind: Kind

    /// Recognizes the file at `path`, which the recipe field `field` names. A missing file is
    /// an error saying where to get it (`DeiTRelease`) and what `otherwise` to do.
    public init(path: String, field: String, otherwise: String) throws {
        url = URL(fileURLWithPath: path)
        switch FileKind.sniff(url) {
        case .missing:
            let advice = Self.producingRecipe(of: path).map { "it is written by `bitvit train \($0)`; or \(otherwise)" }
                ?? DeiTRelease.missingFileAdvice(path: path, otherwise: otherwise)
            throw BitViTError.missing("\(field): \(path) does not exist; " + advice)
        case .torchSave:
            kind = .official
        case .safetensors:
            let data: Data
            do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
                throw BitViTError.io("\(field): cannot read \(ReadableError.describe(error))")
            }
            let header = try Safetensors.parseHeader(data, name: path)
            let names = Set(header.entries.map(\.name))
            kind = header.metadata["model"] == nil && CheckpointDetection.family(names: names) != nil ? .official : .bitvit
        case let other:
            throw BitViTError.malformed(file: path, reason: "\(field) names \(other.phrase); expected a BitViT checkpoint, "
                                        + "a PyTorch checkpoint (torch.save) or a safetensors file")
        }
    }

    /// `recipes/NAME.yaml` when `path` is a checkpoint of a run named NAME
    /// (`…/NAME/best.safetensors` or `last.safetensors`) and that recipe exists.
    static func producingRecipe(of path: String) -> String? {
        let parts = path.split(separator: "/").map(String.init)
        guard parts.count >= 2, ["best.safetensors", "last.safetensors"].contains(parts[parts.count - 1]) else { return nil }
        let recipe = "recipes/\(parts[parts.count - 2]).yaml"
        return FileManager.default.fileExists(atPath: recipe) ? recipe : nil
    }

    /// What `training.init_checkpoint` says when its file is missing.
    public static let withoutInitialization = "train from a random initialization: --set training.init_checkpoint=null"

    /// What `loss.distillation.teacher` says when its file is missing.
    public static func withoutTeacher(_ config: TrainConfig) -> String {
        "give another teacher (--set loss.distillation.teacher=<checkpoint>) or train without distillation: "
            + "--set loss.distillation.type=none" + (config.loss.dgd.weight > 0 ? " --set loss.dgd.weight=0" : "")
    }

    /// The weights files a run of `config` reads: (path, recipe field, what to do without it).
    static func named(by config: TrainConfig, initializing: Bool) -> [(path: String, field: String, otherwise: String)] {
        var out: [(String, String, String)] = []
        if config.loss.distillation.type != .none, let teacher = config.loss.distillation.teacher {
            out.append((teacher, "loss.distillation.teacher", withoutTeacher(config)))
        }
        if initializing, let initial = config.training.initCheckpoint {
            out.append((initial, "training.init_checkpoint", withoutInitialization))
        }
        return out
    }

    /// Checks that the files a run reads exist and are weights (the initialization only for a
    /// fresh run), so that a missing pretrained file stops the run before its data is loaded.
    public static func checkPresent(for config: TrainConfig, initializing: Bool) throws {
        for f in named(by: config, initializing: initializing) { _ = try WeightsFile(path: f.path, field: f.field, otherwise: f.otherwise) }
    }

    /// One message per weights file of `config` that is missing or not weights (what
    /// `checkPresent` would throw), for `bitvit train --dry-run`.
    public static func problems(for config: TrainConfig) -> [String] {
        named(by: config, initializing: true).compactMap { f in
            do { _ = try WeightsFile(path: f.path, field: f.field, otherwise: f.otherwise); return nil } catch {
                return (error as? BitViTError)?.message ?? "\(error)"
            }
        }
    }

    // MARK: Teachers

    /// The frozen teacher of `config` and the lines that say where it came from. A BitViT
    /// checkpoint must have the student's `classes`; an official checkpoint is imported
    /// strictly (`loss.distillation.teacher_model`, when given, names the model to build) and
    /// with another class count its heads are re-initialized, as GSB's `train_stage1.py`
    /// builds its teacher (an ImageNet DeiT-S with a fresh head, docs/reference/gsb.md §6.1).
    public static func teacher(for config: TrainConfig, classes: Int) throws -> Teacher? {
        guard config.loss.distillation.type != .none, let path = config.loss.distillation.teacher else { return nil }
        let file = try WeightsFile(path: path, field: "loss.distillation.teacher", otherwise: withoutTeacher(config))
        let description = config.loss.distillation.teacherModel
        switch file.kind {
        case .bitvit:
            let model = try Checkpoint.load(file.url, modelSpec: description).makeModel()
            guard model.classCount == classes else {
                throw BitViTError.invalidArgument("teacher \(path) has \(model.classCount) classes, the student \(classes)")
            }
            return Teacher(model: model, report: ["teacher: \(path) (\(type(of: model)), \(model.classCount) classes)"])
        case .official:
            let official = try OfficialCheckpointFile.read(file.url)
            let imported: ImportedModel
            do {
                imported = try CheckpointImport.load(official, options: ImportOptions(
                    strict: true, model: description, classes: classes, reinitializeHeads: true))
            } catch let error as BitViTError {
                throw BitViTError.invalidArgument("loss.distillation.teacher \(path): \(error.message)")
            }
            let r = imported.report
            var lines = ["teacher: \(path), \(official.format.rawValue) in \(r.family.rawValue) names → \(r.spec.name): "
                         + "\(r.mapped.count) tensors imported"]
            lines += r.notes.map { "  \($0)" }
            if !r.reinitialized.isEmpty {
                lines.append("  the checkpoint has \(official.classes ?? 0) classes, the student \(classes): the teacher's heads "
                             + "are freshly initialized (\(InitializationReport.grouped(r.reinitialized).joined(separator: ", "))), "
                             + "so its predictions come from an untrained classifier, as in GSB's train_stage1.py")
            }
            if !official.droppedSections.isEmpty {
                lines.append("  not read: " + official.droppedSections.map(\.name).joined(separator: ", "))
            }
            return Teacher(model: imported.model, report: lines)
        }
    }
}
