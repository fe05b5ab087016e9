import ArgumentParser
import BitViTModels
import BitViTTools

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Parameter counts and a per-layer table of a model name, a recipe or a checkpoint; storage and OPs of a .bitvit file.",
        discussion: "Model names: \(ModelZoo.names.joined(separator: ", ")).")

    @Argument(help: "A model name, a recipe (YAML/JSON), a checkpoint (safetensors) or an exported model (.bitvit); files are recognized by their content.") var target: String
    @OptionGroup var recipeOptions: RecipeOptions
    @Option(parsing: .unconditional, help: "Classes, for a model name (default 1000, or the preset's).") var classes: Int?
    @Flag(help: "List every module, not only those holding parameters.") var all = false

    func run() throws {
        print(try modelInfo(target, overrides: recipeOptions.overrides, classes: classes, all: all))
    }
}
