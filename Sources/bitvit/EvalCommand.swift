import ArgumentParser
import BitViTTools

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a checkpoint on its data set's test split: top-1, top-5, confusion matrix.",
        discussion: """
            The model and the data come from the configuration stored in the checkpoint; --set \
            changes it (e.g. --set data.root=/path). A plain weights file needs --recipe.
            """)

    @Argument(help: "Checkpoint (.safetensors) written by bitvit train.") var checkpoint: String
    @Option(help: "Recipe describing model and data, for files without stored configuration.") var recipe: String?
    @OptionGroup var recipeOptions: RecipeOptions
    @Option(help: "Images per batch (default: data.eval_batch_size).") var batchSize: Int?
    @Option(help: "Worker threads.") var threads: Int?
    @Flag(help: "Print the result as one JSON object.") var json = false

    func run() throws {
        setThreads(threads)
        let evaluation = try CheckpointEvaluation(checkpoint: checkpoint, recipe: recipe, overrides: recipeOptions.overrides,
                                                  batchSize: batchSize)
        if json { try printJSON(evaluation.report); return }
        print(evaluation.text)
    }
}
