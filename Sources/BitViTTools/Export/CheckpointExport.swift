import BitViTCore
import BitViTData
import BitViTExport
import BitViTModels
import BitViTRuntime
import BitViTTrain
import Foundation

/// `bitvit export`: a trained checkpoint (or an untrained model, for speed measurements) as a
/// `.bitvit` file, with the evaluation preprocessing and class names of its recipe.
public enum CheckpointExport {
    /// What was written: the file's family, model, size and what it stores.
    public struct Summary {
        public var path: String
        public var family: ExportFamily
        public var modelName: String
        public var untrained: Bool
        public var tensors: Int
        public var fileBytes: Int
        public var cost: ModelCost
        /// What the export assumed (no stored recipe).
        public var notes: [String] = []

        init(path: String, modelName: String, untrained: Bool) throws {
            let file = try ModelFile(contentsOf: URL(fileURLWithPath: path))
            self.path = path
            family = file.metadata.family
            self.modelName = modelName
            self.untrained = untrained
            tensors = file.tensors.count
            fileBytes = file.fileSize
            cost = ModelCost(file: file)
        }

        /// One line naming the file, then its storage table.
        public var text: String {
            let header = untrained
                ? "\(path): untrained \(family.rawValue) model '\(modelName)', \(grouped(fileBytes)) bytes"
                : "\(path): \(family.rawValue) model '\(modelName)', \(tensors) tensors, \(grouped(fileBytes)) bytes"
            return ([header] + notes.map { "note: \($0)" }).joined(separator: "\n") + "\n" + storageTable(cost)
        }
    }

    /// Exports the checkpoint at `checkpoint` to `output` (atomically); `classNames` overrides
    /// the data set's.
    public static func export(checkpoint: String, to output: String, classNames: [String]? = nil) throws -> Summary {
        let loaded = try Checkpoint.load(URL(fileURLWithPath: checkpoint))
        let model = try loaded.makeModel()
        model.eval()
        try ModelExporter.write(model, spec: loaded.modelSpec, preprocessing: try preprocessing(loaded),
                                classNames: try classNames ?? Self.classNames(loaded), source: checkpoint,
                                to: URL(fileURLWithPath: output))
        var summary = try Summary(path: output, modelName: loaded.modelSpec.name, untrained: false)
        if loaded.config == nil {
            summary.notes.append("no recipe stored in \(checkpoint): ImageNet normalization"
                                 + (classNames == nil ? ", classes named class 0 … class \(loaded.modelSpec.classes - 1) (--class-names names them)" : ""))
        }
        return summary
    }

    /// Exports a randomly initialized `modelName` model with `classes` classes to `output`: its
    /// quantizer scales come from one training-mode forward on random images; class names
    /// default to `class 0`, `class 1`, …
    public static func exportUntrained(modelName: String, classes: Int, options: [String] = [], classNames: [String]? = nil,
                                       to output: String) throws -> Summary {
        let spec = ModelSpec(name: modelName, classes: classes, options: try ModelSpec.options(fromAssignments: options))
        let model = try ModelZoo.make(spec, seed: 0)
        let geometry = try ModelZoo.inputGeometry(spec)
        var rng = RandomGenerator(seed: 7)
        model.train()
        _ = withNoGrad { model(Tensor.randn([2, geometry.inChannels, geometry.imageSize, geometry.imageSize], using: &rng)) }
        model.eval()
        let normalization = geometry.inChannels == 3 ? Normalization.imagenet
            : Normalization(mean: Array(repeating: 0.5, count: geometry.inChannels), std: Array(repeating: 0.5, count: geometry.inChannels))
        try ModelExporter.write(model, spec: spec, preprocessing: Preprocessing(imageSize: geometry.imageSize, channels: geometry.inChannels,
                                                                              mean: normalization.mean, std: normalization.std),
                                classNames: classNames ?? numberedClassNames(classes),
                                source: "untrained \(([modelName] + options).joined(separator: " ")) (random initialization)",
                                to: URL(fileURLWithPath: output))
        return try Summary(path: output, modelName: modelName, untrained: true)
    }

    /// The evaluation transform training used: resize to the model's side, normalize with the
    /// recipe's statistics (`data.normalization`, else the data set's; ImageNet's for
    /// checkpoints without a recipe).
    public static func preprocessing(_ checkpoint: Checkpoint) throws -> Preprocessing {
        let geometry = try ModelZoo.inputGeometry(checkpoint.modelSpec)
        var normalization = try checkpoint.config.map(TrainingData.normalization) ?? .imagenet
        if normalization.mean.count == 1 && geometry.inChannels > 1 {
            normalization = Normalization(mean: Array(repeating: normalization.mean[0], count: geometry.inChannels),
                                          std: Array(repeating: normalization.std[0], count: geometry.inChannels))
        }
        return Preprocessing(imageSize: geometry.imageSize, channels: geometry.inChannels,
                             mean: normalization.mean, std: normalization.std)
    }

    /// Class names of the checkpoint's data set (loading the test split where the data set
    /// does not fix them); `class 0`, `class 1`, … for a checkpoint without a stored recipe
    /// (`bitvit import` without `--recipe`).
    public static func classNames(_ checkpoint: Checkpoint) throws -> [String] {
        guard let config = checkpoint.config else { return numberedClassNames(checkpoint.modelSpec.classes) }
        return try config.data.dataset.classNames ?? TrainingData.evaluationData(config).classNames
    }

    /// `class 0`, `class 1`, …: the names of a model whose data set is unknown.
    static func numberedClassNames(_ classes: Int) -> [String] { (0..<classes).map { "class \($0)" } }
}
