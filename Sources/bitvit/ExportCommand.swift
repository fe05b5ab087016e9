import ArgumentParser
import BitViTData
import BitViTExport
import BitViTRuntime
import BitViTTools
import BitViTTrain
import Foundation

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a trained checkpoint as a .bitvit deployment file (bit-packed weights, folded scales).",
        discussion: """
            Families: full-precision DeiT, the W1A1 baseline, GSB stage 2, Q-ViT (docs/format.md). \
            Preprocessing and class names come from the checkpoint's recipe (data set).
            """)

    @Argument(help: "Checkpoint (.safetensors) written by bitvit train.") var checkpoint: String?
    @Option(name: .shortAndLong, help: "Output file (.bitvit).") var output: String
    @Option(help: "Comma-separated class names (default: the data set's).") var classNames: String?
    @Option(help: ArgumentHelp("Export an untrained model of this name instead of a checkpoint (speed measurements): "
                               + "random initialization, quantizer scales from one training-mode forward on random images.",
                               valueName: "model-name"))
    var untrained: String?
    @Option(help: "Classes of the --untrained model.") var classes = 1000
    @Option(name: .customLong("option"), help: ArgumentHelp("A family option of the --untrained model, key=value (repeatable), "
                                                             + "e.g. --option downsampling=binary for the fully binary BHViT.",
                                                             valueName: "key=value"))
    var options: [String] = []

    func run() throws {
        if let untrained { try exportUntrained(untrained); return }
        guard let checkpoint else { throw ValidationError("give a checkpoint or --untrained <model-name>") }
        guard options.isEmpty else { throw ValidationError("--option applies to --untrained models (a checkpoint's options come from its recipe)") }
        let loaded = try Checkpoint.load(URL(fileURLWithPath: checkpoint))
        let model = try loaded.makeModel()
        model.eval()
        let preprocessing = try ExportCommand.preprocessing(loaded)
        let names = try classNames.map { $0.split(separator: ",").map(String.init) } ?? ExportCommand.classNames(loaded)
        let url = URL(fileURLWithPath: output)
        try ModelExporter.write(model, spec: loaded.modelSpec, preprocessing: preprocessing, classNames: names,
                                source: checkpoint, to: url)
        let file = try ModelFile(contentsOf: url)
        print("\(output): \(file.metadata.family.rawValue) model '\(loaded.modelSpec.name)', \(file.tensors.count) tensors, "
              + "\(grouped(file.fileSize)) bytes")
        print(storageTable(ModelCost(file: file)))
    }

    private func exportUntrained(_ name: String) throws {
        let spec = ModelSpec(name: name, classes: classes, options: try ModelSpec.options(fromAssignments: options))
        let model = try ModelZoo.make(spec, seed: 0)
        let geometry = try ModelZoo.inputGeometry(spec)
        var rng = RandomGenerator(seed: 7)
        model.train()
        _ = withNoGrad { model(Tensor.randn([2, geometry.inChannels, geometry.imageSize, geometry.imageSize], using: &rng)) }
        model.eval()
        let normalization = geometry.inChannels == 3 ? Normalization.imagenet
            : Normalization(mean: Array(repeating: 0.5, count: geometry.inChannels), std: Array(repeating: 0.5, count: geometry.inChannels))
        let names = classNames.map { $0.split(separator: ",").map(String.init) } ?? (0..<classes).map { "class \($0)" }
        let url = URL(fileURLWithPath: output)
        let described = name + spec.options.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        try ModelExporter.write(model, spec: spec, preprocessing: Preprocessing(imageSize: geometry.imageSize, channels: geometry.inChannels,
                                                                              mean: normalization.mean, std: normalization.std),
                                classNames: names, source: "untrained \(described) (random initialization)", to: url)
        let file = try ModelFile(contentsOf: url)
        print("\(output): untrained \(file.metadata.family.rawValue) model '\(name)', \(grouped(file.fileSize)) bytes")
        print(storageTable(ModelCost(file: file)))
    }

    /// The evaluation transform training used: resize to the model's side, normalize with the
    /// data set's statistics (ImageNet's for image folders).
    static func preprocessing(_ checkpoint: Checkpoint) throws -> Preprocessing {
        let geometry = try ModelZoo.inputGeometry(checkpoint.modelSpec)
        let dataset = checkpoint.config?.data.dataset ?? "image-folder"
        var normalization = Normalization(presetName: dataset) ?? .imagenet
        if normalization.mean.count == 1 && geometry.inChannels > 1 {
            normalization = Normalization(mean: Array(repeating: normalization.mean[0], count: geometry.inChannels),
                                          std: Array(repeating: normalization.std[0], count: geometry.inChannels))
        }
        return Preprocessing(imageSize: geometry.imageSize, channels: geometry.inChannels,
                             mean: normalization.mean, std: normalization.std)
    }

    /// Class names of the checkpoint's data set (loading an image folder's test split to read them).
    static func classNames(_ checkpoint: Checkpoint) throws -> [String] {
        guard let config = checkpoint.config else {
            throw BitViTError.invalidArgument("checkpoint has no stored recipe; pass --class-names")
        }
        switch config.data.dataset {
        case "fashion-mnist": return StandardClassNames.fashionMNIST
        case "mnist": return StandardClassNames.mnist
        case "cifar10": return StandardClassNames.cifar10
        default: return try TrainingData.evaluationData(config).classNames
        }
    }
}

/// The storage table of `bitvit export` and `bitvit info <file.bitvit>`.
func storageTable(_ cost: ModelCost) -> String {
    var lines = ["storage  tensors        values         bytes  holds"]
    for s in cost.storage {
        let roles = s.roles.prefix(6).joined(separator: ", ") + (s.roles.count > 6 ? ", …" : "")
        lines.append(s.name.padding(toLength: 7, withPad: " ", startingAt: 0) + rightAligned(String(s.tensors), 8)
                     + rightAligned(grouped(s.values), 14) + rightAligned(grouped(s.bytes), 14) + "  " + roles)
    }
    return lines.joined(separator: "\n")
}

/// `text` padded on the left to `width` characters.
func rightAligned(_ text: String, _ width: Int) -> String {
    String(repeating: " ", count: max(0, width - text.count)) + text
}
