import BitViTData
import BitViTModels
import BitViTTrain
import Foundation

/// `bitvit eval`: a checkpoint on its data set's test split: top-1, top-5, loss and the
/// confusion matrix.
public struct CheckpointEvaluation {
    public var checkpoint: String
    public var modelName: String
    public var dataset: DatasetKind
    public var classNames: [String]
    public var result: EvaluationResult
    /// Seconds of the evaluation pass (the data already loaded).
    public var seconds: Double

    /// Evaluates the checkpoint at `checkpoint`. The model and the data come from the
    /// configuration stored in it with `overrides` applied, or from `recipe` (then required for
    /// plain weights files); `batchSize` overrides `data.eval_batch_size`.
    public init(checkpoint: String, recipe: String? = nil, overrides: [String] = [], batchSize: Int? = nil) throws {
        let url = URL(fileURLWithPath: checkpoint)
        var config: TrainConfig
        var fallback: ModelSpec?
        if let recipe {
            config = try TrainConfig.resolve(recipe: URL(fileURLWithPath: recipe), overrides: overrides)
            fallback = config.model
        } else {
            guard let stored = try Checkpoint.load(url).config else {
                throw BitViTError.malformed(file: checkpoint, reason: "has no stored configuration; pass --recipe")
            }
            config = try TrainConfig.resolve(recipeText: try stored.yaml(), source: checkpoint, overrides: overrides)
        }
        if let batchSize { config.data.evalBatchSize = batchSize }
        let loaded = try Checkpoint.load(url, modelSpec: fallback)
        let model = try loaded.makeModel()
        let data = try TrainingData.evaluationData(config)
        let start = Date()
        result = try Evaluator.evaluate(model, on: data.source)
        seconds = Date().timeIntervalSince(start)
        self.checkpoint = checkpoint
        modelName = loaded.modelSpec.name
        dataset = config.data.dataset
        classNames = data.classNames
    }

    /// The `--json` form.
    public struct Report: Encodable {
        public var checkpoint: String
        public var dataset: String
        public var images: Int
        public var top1: Double
        public var top5: Double
        public var loss: Double
        public var class_names: [String]
        public var confusion: [[Int]]
        public var seconds: Double
    }

    public var report: Report {
        Report(checkpoint: checkpoint, dataset: dataset.rawValue, images: result.count, top1: result.top1, top5: result.top5,
               loss: result.loss, class_names: classNames, confusion: result.confusion, seconds: seconds)
    }

    /// The summary lines and the confusion table.
    public var text: String {
        "\(checkpoint): \(modelName) on \(dataset) test split, \(result.count) images, " + String(format: "%.1f s", seconds) + "\n"
            + String(format: "top-1 %.2f %%   top-5 %.2f %%   loss %.4f", 100 * result.top1, 100 * result.top5, result.loss) + "\n\n"
            + confusionTable(result, classNames: classNames)
    }
}

/// The confusion matrix as a text table: one row per true class (with its recall), one column
/// per predicted class, headed by class-name abbreviations with a key below.
public func confusionTable(_ result: EvaluationResult, classNames: [String]) -> String {
    let confusion = result.confusion, perClassAccuracy = result.perClassAccuracy
    let k = confusion.count
    let width = max(5, String(confusion.flatMap { $0 }.max() ?? 0).count + 1)
    let nameWidth = min(14, classNames.map(\.count).max() ?? 4)
    func cut(_ s: String, _ n: Int) -> String { s.count > n ? String(s.prefix(n - 1)) + "…" : s }
    func pad(_ s: String, _ n: Int, left: Bool = true) -> String {
        let c = s.count
        return c >= n ? s : (left ? String(repeating: " ", count: n - c) + s : s + String(repeating: " ", count: n - c))
    }
    var lines = ["confusion matrix (rows: true class, columns: predicted class)"]
    lines.append(pad("", nameWidth + 5, left: false) + (0..<k).map { pad("[\($0)]", width) }.joined() + pad("recall", 9))
    for (i, row) in confusion.enumerated() {
        let name = i < classNames.count ? cut(classNames[i], nameWidth) : "\(i)"
        lines.append(pad("[\(i)]", 5, left: false) + pad(name, nameWidth, left: false)
                     + row.map { pad(String($0), width) }.joined() + pad(String(format: "%.1f%%", 100 * perClassAccuracy[i]), 9))
    }
    return lines.joined(separator: "\n")
}
