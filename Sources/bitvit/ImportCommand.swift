import ArgumentParser
import BitViTPlatform
import BitViTTools
import BitViTModels
import BitViTCore

/// How an official checkpoint is imported (`bitvit import`, and `bitvit forward` on an
/// official file).
struct ImportFlags: ParsableArguments {
    @Option(help: ArgumentHelp("Build this BitViT model instead of the detected one, with the checkpoint's geometry "
                               + "(e.g. gsb-deit-small from a DeiT-S).", valueName: "model-name"))
    var model: String?
    @Option(name: .customLong("option"), parsing: .singleValue,
            help: ArgumentHelp("A family option of --model, e.g. --option stage=1 (repeatable).", valueName: "key=value"))
    var options: [String] = []
    @Option(parsing: .unconditional, help: "Classes of the model to build (default: the checkpoint's).") var classes: Int?
    @Option(parsing: .unconditional, help: "Attention heads of a full-precision DeiT (its shapes do not record them).") var heads: Int?
    @Option(parsing: .unconditional, help: "Q-ViT's bit width (default: from args.model or the weight step sizes).") var bits: Int?
    @Flag(help: "Fail when a model tensor has no source or a checkpoint entry no destination.") var strict = false
    @Flag(help: "With another class count, leave the heads freshly initialized (fine-tuning to a new label set).")
    var reinitializeHeads = false
    @Flag(help: "Import the EMA copy (model_ema, state_dict_ema) instead of the model.") var ema = false

    func validate() throws {
        try checkOption("--classes", classes, 1...ModelLimits.classes)
        try checkOption("--heads", heads, 1...ModelLimits.heads)
        if let bits, ![2, 3, 4, 8].contains(bits) { throw ValidationError("--bits is \(bits); allowed 2, 3, 4 or 8") }
        _ = try parsedOptions()
    }

    func parsedOptions() throws -> [String: String] {
        do { return try ModelSpec.options(fromAssignments: options) } catch let e as BitViTError { throw ValidationError(e.message) }
    }

    func importing(_ source: String) throws -> OfficialImport {
        OfficialImport(source: source, model: model, modelOptions: try parsedOptions(), classes: classes, heads: heads, bits: bits,
                       strict: strict, reinitializeHeads: reinitializeHeads, ema: ema)
    }
}

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import an official PyTorch checkpoint (timm DeiT, GSB, Q-ViT, BHViT) as a BitViT checkpoint.",
        discussion: """
            Reads torch.save files (.pth, zip or legacy) and safetensors files without running any code \
            they contain, detects the family and geometry from the names and shapes, maps the names, and \
            writes a BitViT checkpoint that eval, export, parity, info and forward take. The report lists \
            every entry not imported, every missing tensor and the sections not read (docs/interop.md). \
            --recipe stores a recipe (its model replaced by the imported one) so that eval, export and \
            parity find the data set, its normalization and class names.
            """)

    @Argument(help: "The official checkpoint (.pth, .pt, .bin, .safetensors).") var checkpoint: String
    @Option(name: .shortAndLong, help: "Output BitViT checkpoint (.safetensors).") var output: String
    @OptionGroup var flags: ImportFlags
    @Option(help: "Recipe to store with the weights (data set, normalization, class names).") var recipe: String?
    @OptionGroup var recipeOptions: RecipeOptions

    func run() throws {
        let summary = try flags.importing(checkpoint).write(to: output, recipe: recipe, overrides: recipeOptions.overrides)
        print(summary.text)
    }
}
