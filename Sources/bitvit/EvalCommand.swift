import ArgumentParser
import BitViTTools
import BitViTTrain

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
    @Option(parsing: .unconditional, help: "Images per batch (default: data.eval_batch_size).") var batchSize: Int?
    @Option(parsing: .unconditional, help: "Worker threads.") var threads: Int?
    @Flag(help: "Print the result as one JSON object.") var json = false

    func validate() throws {
        try checkOption("--batch-size", batchSize, 1...TrainConfig.maxBatchSize)
        try checkThreads(threads)
        // The model comes from the checkpoint (or --recipe); only the data section applies.
        let applies = recipe == nil ? ["data."] : ["data.", "model."]
        for o in recipeOptions.overrides where !applies.contains(where: { o.hasPrefix($0) }) {
            throw ValidationError("--set \(o) has no effect here: eval uses the recipe's \(applies.joined(separator: " and "))… fields")
        }
    }

    func run() throws {
        setThreads(threads)
        let evaluation = try CheckpointEvaluation(checkpoint: checkpoint, recipe: recipe, overrides: recipeOptions.overrides,
                                                  batchSize: batchSize)
        if json { try printJSON(evaluation.report); return }
        print(evaluation.text)
    }
}
