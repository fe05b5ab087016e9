import ArgumentParser
import BitViTTrain
import Foundation

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

    struct Report: Encodable {
        var checkpoint: String
        var dataset: String
        var images: Int
        var top1: Double
        var top5: Double
        var loss: Double
        var class_names: [String]
        var confusion: [[Int]]
        var seconds: Double
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        let url = URL(fileURLWithPath: checkpoint)
        var config: TrainConfig
        var fallback: ModelSpec?
        if let recipe {
            config = try recipeOptions.resolve(recipe)
            fallback = config.model
        } else {
            guard let stored = try Checkpoint.load(url).config else {
                throw BitViTError.malformed(file: checkpoint, reason: "has no stored configuration; pass --recipe")
            }
            config = try TrainConfig.resolve(recipeText: try stored.yaml(), source: checkpoint, overrides: recipeOptions.overrides)
        }
        if let batchSize { config.data.evalBatchSize = batchSize }
        let loaded = try Checkpoint.load(url, modelSpec: fallback)
        let model = try loaded.makeModel()
        let data = try TrainingData.evaluationData(config)
        let start = Date()
        let result = try Evaluator.evaluate(model, on: data.source)
        let seconds = Date().timeIntervalSince(start)
        if json {
            try printJSON(Report(checkpoint: checkpoint, dataset: config.data.dataset, images: result.count, top1: result.top1,
                                 top5: result.top5, loss: result.loss, class_names: data.classNames,
                                 confusion: result.confusion, seconds: seconds))
            return
        }
        print("\(checkpoint): \(loaded.modelSpec.name) on \(config.data.dataset) test split, \(result.count) images, "
              + String(format: "%.1f s", seconds))
        print(String(format: "top-1 %.2f %%   top-5 %.2f %%   loss %.4f", 100 * result.top1, 100 * result.top5, result.loss))
        print("")
        print(confusionTable(result, classNames: data.classNames))
    }
}

/// The confusion matrix as a text table: one row per true class (with its recall), one column
/// per predicted class, headed by class-name abbreviations with a key below.
func confusionTable(_ result: EvaluationResult, classNames: [String]) -> String {
    let k = result.confusion.count
    let width = max(5, String(result.confusion.flatMap { $0 }.max() ?? 0).count + 1)
    let nameWidth = min(14, classNames.map(\.count).max() ?? 4)
    func cut(_ s: String, _ n: Int) -> String { s.count > n ? String(s.prefix(n - 1)) + "…" : s }
    func pad(_ s: String, _ n: Int, left: Bool = true) -> String {
        let c = s.count
        return c >= n ? s : (left ? String(repeating: " ", count: n - c) + s : s + String(repeating: " ", count: n - c))
    }
    var lines = ["confusion matrix (rows: true class, columns: predicted class)"]
    lines.append(pad("", nameWidth + 5, left: false) + (0..<k).map { pad("[\($0)]", width) }.joined() + pad("recall", 9))
    for (i, row) in result.confusion.enumerated() {
        let name = i < classNames.count ? cut(classNames[i], nameWidth) : "\(i)"
        let recall = result.perClassAccuracy[i]
        lines.append(pad("[\(i)]", 5, left: false) + pad(name, nameWidth, left: false)
                     + row.map { pad(String($0), width) }.joined() + pad(String(format: "%.1f%%", 100 * recall), 9))
    }
    return lines.joined(separator: "\n")
}
