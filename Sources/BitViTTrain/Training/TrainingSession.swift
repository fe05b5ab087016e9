import Foundation
import BitViTData

/// A whole run as `bitvit train` and `bitvit demo` do it: thread count, data, trainer,
/// optional resume, the run directory (`config.yaml`, `metrics.jsonl`, checkpoints, curves).
public struct TrainingSession {
    public var config: TrainConfig
    /// The run directory (default `<training.output>/<name>`).
    public var runDirectory: URL
    public var observer: TrainingObserver?
    /// Polled after every step; true saves `last.safetensors` and stops.
    public var stopRequested: () -> Bool = { false }

    public init(config: TrainConfig, runDirectory: URL? = nil, observer: TrainingObserver? = nil) {
        self.config = config
        self.runDirectory = runDirectory
            ?? URL(fileURLWithPath: config.training.output).appendingPathComponent(config.name)
        self.observer = observer
    }

    public var lastCheckpoint: URL { runDirectory.appendingPathComponent("last.safetensors") }

    /// What `run` did.
    public struct Outcome {
        public var summary: TrainingSummary
        public var classNames: [String]
        /// Validation result after the last epoch (nil when interrupted or not validated).
        public var finalEvaluation: EvaluationResult?
        /// The test split after training (`summary.test`, with the confusion matrices).
        public var test: TestReport? { summary.test }
        /// The curve files written at the end.
        public var plots: [URL]
    }

    /// Trains (resuming from `resumeFrom` when given), then plots the curves.
    ///
    /// A fresh run refuses a directory that already holds `last.safetensors`, so a finished or
    /// interrupted run is never overwritten by accident: resume it or choose another directory.
    public func run(resumeFrom: URL? = nil) throws -> Outcome {
        if let threads = config.training.threads { Parallel.threadCount = threads }
        if resumeFrom == nil, FileManager.default.fileExists(atPath: lastCheckpoint.path) {
            throw BitViTError.invalidArgument(
                "\(runDirectory.path) already holds a run; resume it with --resume or pick another --run-dir")
        }
        let data = try TrainingData.make(config)
        let trainer = try Trainer(config: config, trainData: data.train, validationData: data.validation,
                                  testData: data.test, runDirectory: runDirectory)
        trainer.observer = observer
        trainer.stopRequested = stopRequested
        if config.training.diagnosticsBatches > 0, TrainingDiagnostics.applies(to: trainer.model) {
            trainer.diagnostics = TrainingDiagnostics(
                model: trainer.model, probeData: data.diagnosticProbe(config), probeBatches: config.training.diagnosticsBatches,
                url: runDirectory.appendingPathComponent(DiagnosticsLog.fileName))
        }
        do { try FileManager.default.createDirectory(at: runDirectory, withIntermediateDirectories: true) } catch {
            throw BitViTError.io("cannot create the run directory \(runDirectory.path): \(ReadableError.reason(error))")
        }
        let stale = AtomicFile.removeStaleTemporaries(in: runDirectory)
        if !stale.isEmpty {
            observer?.note("removed \(stale.count) temporary file(s) of interrupted writes: \(stale.joined(separator: ", "))")
        }
        try AtomicFile.write(try config.yaml(), to: runDirectory.appendingPathComponent("config.yaml"))
        if let resumeFrom {
            try trainer.resume(from: resumeFrom)
        } else if let initial = config.training.initCheckpoint {
            try trainer.initializeWeights(from: URL(fileURLWithPath: initial))
        }
        let validation = data.validation.map { "\($0.sampleCount) validation images (\(config.data.validation.source == "train" ? "carved from the training split" : "the data set's validation split"))" }
            ?? "no validation images"
        let visited = data.train.sampleCount == data.train.dataset.count ? ""
            : " (\(data.train.sampleCount) visits per epoch, repeated augmentation × \(config.data.repeatedAugmentation))"
        observer?.note("training \(config.model.name) (\(trainer.model.parameterCount) parameters) on \(config.data.dataset): "
                       + "\(data.train.dataset.count) training images\(visited), \(validation), "
                       + "\(data.test.sampleCount) test images (evaluated after training), "
                       + "\(config.training.epochs) epochs × \(data.train.batchesPerEpoch) batches of \(config.data.batchSize), "
                       + "\(Parallel.threadCount) threads; run directory \(runDirectory.path)")
        for line in MethodProcedure.check(config).lines { observer?.note(line) }
        let summary = try trainer.fit()
        var plots: [URL] = []
        if let records = try? MetricsLog.read(runDirectory.appendingPathComponent("metrics.jsonl")), !records.isEmpty {
            plots = try TrainingCurves(records: records, title: config.name).write(to: runDirectory)
        }
        let diagnosticsURL = runDirectory.appendingPathComponent(DiagnosticsLog.fileName)
        if let records = try? DiagnosticsLog.read(diagnosticsURL), !records.isEmpty {
            plots += try DiagnosticsCharts(records: records, title: config.name).write(to: runDirectory)
        }
        return Outcome(summary: summary, classNames: data.classNames,
                       finalEvaluation: summary.interrupted ? nil : trainer.lastValidation, plots: plots)
    }
}
