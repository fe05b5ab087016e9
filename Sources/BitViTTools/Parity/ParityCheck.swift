import BitViTCore
import BitViTData
import BitViTExport
import BitViTRuntime
import BitViTTrain
import Foundation

/// The inference engine against the training graph in evaluation mode over a test set
/// (`bitvit parity`): the checkpoint is exported in memory (or a `.bitvit` file exported from it
/// is loaded), the test split runs through the model and through the engine with bit kernels
/// and with float kernels on the same batches, and top-1 agreement and logit errors are counted.
public struct ParityCheck {
    /// The checkpoint (.safetensors) written by `bitvit train`.
    public var checkpoint: String
    /// Another data set than the recipe's (its standard location unless `root` is set).
    public var dataset: DatasetKind?
    /// Another data directory than the recipe's.
    public var root: String?
    /// A `.bitvit` file exported from the checkpoint (nil: export in memory).
    public var model: String?
    /// Images per batch (nil: the recipe's `data.eval_batch_size`).
    public var batchSize: Int?
    /// Stop after the batch that reaches this many images.
    public var limit: Int?
    /// int8 GEMMs per Q-ViT linear layer (precision of the folded weights, 1…4).
    public var int8Digits: Int

    public init(checkpoint: String, dataset: DatasetKind? = nil, root: String? = nil, model: String? = nil,
                batchSize: Int? = nil, limit: Int? = nil, int8Digits: Int = 3) {
        self.checkpoint = checkpoint
        self.dataset = dataset
        self.root = root
        self.model = model
        self.batchSize = batchSize
        self.limit = limit
        self.int8Digits = int8Digits
    }

    public struct Report: Encodable {
        public var checkpoint: String
        public var model_name: String
        public var dataset: String
        public var family: String
        public var kernels: LogitComparison
        public var float_kernels: LogitComparison
        public var seconds_training_graph: Double
        public var seconds_engine: Double
        public var seconds_engine_float: Double
    }

    /// Exports (or loads) the model and compares both engines with the training graph over the test split.
    public func run() throws -> Report {
        let loaded = try Checkpoint.load(URL(fileURLWithPath: checkpoint))
        guard var config = loaded.config else { throw BitViTError.malformed(file: checkpoint, reason: "has no stored recipe naming a test set; import it with --recipe") }
        if let dataset { config.data.dataset = dataset; config.data.root = nil }
        if let root { config.data.root = root }
        if let batchSize { config.data.evalBatchSize = batchSize }
        let network = try loaded.makeModel()
        network.eval()
        let file: ModelFile
        if let model {
            file = try ModelFile(contentsOf: URL(fileURLWithPath: model))
        } else {
            let (metadata, tensors) = try ModelExporter.export(network, spec: loaded.modelSpec,
                                                               preprocessing: try CheckpointExport.preprocessing(loaded),
                                                               classNames: try CheckpointExport.classNames(loaded))
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
        return Report(checkpoint: checkpoint, model_name: loaded.modelSpec.name, dataset: config.data.dataset.rawValue,
                      family: file.metadata.family.rawValue, kernels: kernels, float_kernels: floats,
                      seconds_training_graph: times.graph, seconds_engine: times.engine, seconds_engine_float: times.float)
    }
}

extension ParityCheck.Report {
    /// The human-readable report: the graph's top-1, then agreement and logit errors of both engines.
    public var text: String {
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
