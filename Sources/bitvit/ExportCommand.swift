import ArgumentParser
import BitViTPlatform
import BitViTTools

/// What `bitvit export` writes.
enum ExportFormat: String, ExpressibleByArgument, CaseIterable {
    /// A `.bitvit` deployment file.
    case bitvit
    /// safetensors under the official PyTorch code's names.
    case official
    /// safetensors under timm's names (full-precision DeiTs).
    case timm
}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a checkpoint as a .bitvit deployment file, or as safetensors under the official PyTorch names.",
        discussion: """
            --format bitvit (default): bit-packed weights, folded scales; families: full-precision DeiT, \
            the W1A1 baseline, GSB stage 2, Q-ViT, BHViT (docs/format.md). Preprocessing and class names come \
            from the checkpoint's recipe (data set). \
            --format official: a safetensors file under the official code's names (timm's for a full-precision \
            DeiT; GSB's stage 1 or 2, Q-ViT's, BHViT's), which the official model loads with a strict \
            model.load_state_dict(safetensors.torch.load_file(path)); --format timm: the same, refused for \
            models timm does not define (docs/interop.md).
            """)

    @Argument(help: "Checkpoint (.safetensors) written by bitvit train or bitvit import.") var checkpoint: String?
    @Option(name: .shortAndLong, help: "Output file (.bitvit, or .safetensors for --format official/timm).") var output: String
    @Option(help: "bitvit, official or timm.") var format: ExportFormat = .bitvit
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
        if format != .bitvit {
            if untrained != nil { throw ValidationError("--untrained writes a .bitvit file; drop --format \(format.rawValue)") }
            if classNames != nil { throw ValidationError("--class-names applies to --format bitvit") }
        }
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
        if format != .bitvit {
            print(try OfficialExport.export(checkpoint: checkpoint, to: output, timmOnly: format == .timm).text)
            return
        }
        print(try CheckpointExport.export(checkpoint: checkpoint, to: output, classNames: names).text)
    }
}
