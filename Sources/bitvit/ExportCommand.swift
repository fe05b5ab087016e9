import ArgumentParser
import BitViTPlatform
import BitViTTools

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
    @Option(parsing: .unconditional, help: "Classes of the --untrained model.") var classes = 1000
    @Option(name: .customLong("option"), help: ArgumentHelp("A family option of the --untrained model, key=value (repeatable), "
                                                             + "e.g. --option downsampling=binary for the fully binary BHViT.",
                                                             valueName: "key=value"))
    var options: [String] = []

    func validate() throws {
        if untrained != nil { try checkOption("--classes", classes, 1...ModelLimits.classes) }
    }

    func run() throws {
        let names = classNames.map { $0.split(separator: ",").map(String.init) }
        if let untrained {
            print(try CheckpointExport.exportUntrained(modelName: untrained, classes: classes, options: options, classNames: names,
                                                       to: output).text)
            return
        }
        guard let checkpoint else { throw ValidationError("give a checkpoint or --untrained <model-name>") }
        guard options.isEmpty else { throw ValidationError("--option applies to --untrained models (a checkpoint's options come from its recipe)") }
        print(try CheckpointExport.export(checkpoint: checkpoint, to: output, classNames: names).text)
    }
}
