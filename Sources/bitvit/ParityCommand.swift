import ArgumentParser
import BitViTDeploy
import BitViTTrain
import Foundation

struct ParityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parity",
        abstract: "Compare the inference engine with the training graph (evaluation mode) over a test set.",
        discussion: """
            Exports the checkpoint in memory (or loads --model), runs the test split through the \
            model and through the engine with bit kernels and with float kernels on the same batches, \
            and reports top-1 agreement and logit errors.
            """)

    @Argument(help: "Checkpoint (.safetensors) written by bitvit train.") var checkpoint: String
    @Option(help: "Data set (fashion-mnist, mnist, cifar10, image-folder; default: the recipe's).") var data: String?
    @Option(help: "Data directory (default: the recipe's / the data set's standard location).") var root: String?
    @Option(help: "A .bitvit file exported from the checkpoint (default: export in memory).") var model: String?
    @Option(parsing: .unconditional, help: "Images per batch (default: data.eval_batch_size).") var batchSize: Int?
    @Option(parsing: .unconditional, help: "Stop after this many images.") var limit: Int?
    @Option(parsing: .unconditional, help: "int8 GEMMs per Q-ViT linear layer (precision of the folded weights, 1…4).") var int8Digits = 3
    @Option(parsing: .unconditional, help: "Worker threads.") var threads: Int?
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        try checkOption("--batch-size", batchSize, 1...TrainConfig.maxBatchSize)
        try checkOption("--limit", limit, 1...Int.max)
        try checkOption("--int8-digits", int8Digits, 1...4)
        try checkThreads(threads)
    }

    struct Report: Encodable {
        var checkpoint: String
        var model_name: String
        var dataset: String
        var family: String
        var kernels: LogitComparison
        var float_kernels: LogitComparison
        var seconds_training_graph: Double
        var seconds_engine: Double
        var seconds_engine_float: Double
    }

    func run() throws {
        let report = try measure()
        if json { try printJSON(report); return }
        print(report.text)
    }

    /// Exports (or loads) the model and compares both engines with the training graph over the test split.
    func measure() throws -> Report {
        if let threads { Parallel.threadCount = threads }
        let loaded = try Checkpoint.load(URL(fileURLWithPath: checkpoint))
        guard var config = loaded.config else { throw BitViTError.malformed(file: checkpoint, reason: "has no stored recipe") }
        if let data { config.data.dataset = data; config.data.root = nil }
        if let root { config.data.root = root }
        if let batchSize { config.data.evalBatchSize = batchSize }
        let network = try loaded.makeModel()
        network.eval()
        let file: ModelFile
        if let model {
            file = try ModelFile(contentsOf: URL(fileURLWithPath: model))
        } else {
            let (metadata, tensors) = try ModelExporter.export(network, spec: loaded.modelSpec,
                                                               preprocessing: try ExportCommand.preprocessing(loaded),
                                                               classNames: try ExportCommand.classNames(loaded))
            file = try ModelFile(bytes: try ModelFileWriter.encode(metadata: metadata, tensors: tensors), path: "\(checkpoint) (exported)")
        }
        let engine = try InferenceEngine(file, int8Digits: int8Digits), floatEngine = try InferenceEngine(file, floatKernels: true)
        let source = try TrainingData.evaluationData(config).source
        var kernels = LogitComparison(), floats = LogitComparison()
        var times = (graph: 0.0, engine: 0.0, float: 0.0)
        let stream = try source.batches(epoch: 0, from: 0)
        while let batch = try stream.next(), kernels.images < (limit ?? .max) {
            let b = batch.count, k = engine.classes
            var start = Date()
            let reference = withNoGrad { network(batch.images).logits }
            times.graph += Date().timeIntervalSince(start)
            start = Date()
            let fast = engine.logits(UnsafePointer(batch.images.data), batch: b)
            times.engine += Date().timeIntervalSince(start)
            start = Date()
            let slow = floatEngine.logits(UnsafePointer(batch.images.data), batch: b)
            times.float += Date().timeIntervalSince(start)
            kernels.add(candidate: fast, reference: reference.data, batch: b, classes: k, labels: batch.labels)
            floats.add(candidate: slow, reference: reference.data, batch: b, classes: k, labels: batch.labels)
        }
        return Report(checkpoint: checkpoint, model_name: loaded.modelSpec.name, dataset: config.data.dataset,
                      family: file.metadata.family.rawValue, kernels: kernels, float_kernels: floats,
                      seconds_training_graph: times.graph, seconds_engine: times.engine, seconds_engine_float: times.float)
    }
}

extension ParityCommand.Report {
    /// The human-readable report: the graph's top-1, then agreement and logit errors of both engines.
    var text: String {
        var lines = ["\(checkpoint): \(family) '\(model_name)' on \(dataset) test split, \(kernels.images) images",
                     String(format: "training graph (eval): top-1 %.2f %%  (%.1f s)",
                            100 * Double(kernels.referenceCorrect) / Double(max(kernels.images, 1)), seconds_training_graph)]
        for (name, c, t) in [("engine, bit kernels", kernels, seconds_engine), ("engine, float kernels", float_kernels, seconds_engine_float)] {
            lines.append(name + String(format: ": top-1 %.2f %%, agreement %.2f %% (%d/%d), max |Δlogit| %.3g (%.2g of max |logit| %.3g), "
                                       + "mean %.3g, %d images beyond %.0e  (%.1f s)",
                                       100 * Double(c.correct) / Double(max(c.images, 1)), 100 * c.agreement, c.agreements, c.images,
                                       c.maxAbsoluteError, c.relativeError, c.maxReference, c.meanAbsoluteError, c.imagesBeyondTolerance,
                                       c.tolerance, t))
        }
        return lines.joined(separator: "\n")
    }
}
