import Foundation
import BitViTData

/// A whole run as `bitvit train` and `bitvit demo` do it: thread count, data, trainer,
/// optional resume, the run directory (`config.yaml`, `metrics.jsonl`, checkpoints, curves).
///
/// In a data-parallel run every process runs the same `TrainingSession` with the shared `group`; each
/// trains on its shard, and rank 0 alone reports to the observer, reads the checkpoints it
/// resumes or initializes from, and writes the run directory.
public struct TrainingSession {
    public var config: TrainConfig
    /// The run directory (default `<training.output>/<name>`).
    public var runDirectory: URL
    public var observer: TrainingObserver?
    /// Polled after every step; true saves `last.safetensors` and stops (on any process of a
    /// data-parallel run: all stop at the same step).
    public var stopRequested: () -> Bool = { false }
    /// Also stop (saving `last.safetensors`) once this many optimizer steps are done in all.
    public var stopAtStep: Int?
    /// The processes training together (one by default).
    public var group: any ProcessGroup = SingleProcessGroup()

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
        let isRoot = group.rank == 0
        if isRoot, resumeFrom == nil, FileManager.default.fileExists(atPath: lastCheckpoint.path) {
            throw BitViTError.invalidArgument(
                "\(runDirectory.path) already holds a run; resume it with --resume or pick another --run-dir")
        }
        try WeightsFile.checkPresent(for: config, initializing: resumeFrom == nil && isRoot)
        let data = try TrainingData.make(config, rank: group.rank, worldSize: group.worldSize)
        let trainer = try Trainer(config: config, trainData: data.train, validationData: data.validation,
                                  testData: data.test, runDirectory: isRoot ? runDirectory : nil, group: group)
        trainer.observer = isRoot ? observer : nil
        let stopRequested = self.stopRequested, stopAtStep = self.stopAtStep
        trainer.stopRequested = { [unowned trainer] in
            stopRequested() || stopAtStep.map { trainer.state.globalStep >= $0 } ?? false
        }
        if isRoot, config.training.diagnosticsBatches > 0, TrainingDiagnostics.applies(to: trainer.model) {
            trainer.diagnostics = TrainingDiagnostics(
                model: trainer.model, probeData: data.diagnosticProbe(config), probeBatches: config.training.diagnosticsBatches,
                url: runDirectory.appendingPathComponent(DiagnosticsLog.fileName))
        }
        if isRoot {
            do { try FileManager.default.createDirectory(at: runDirectory, withIntermediateDirectories: true) } catch {
                throw BitViTError.io("cannot create the run directory \(runDirectory.path): \(ReadableError.reason(error))")
            }
            let stale = AtomicFile.removeStaleTemporaries(in: runDirectory)
            if !stale.isEmpty {
                observer?.note("removed \(stale.count) temporary file(s) of interrupted writes: \(stale.joined(separator: ", "))")
            }
            try AtomicFile.write(try config.yaml(), to: runDirectory.appendingPathComponent("config.yaml"))
        }
        if let resumeFrom {
            try trainer.resume(from: resumeFrom)
        } else if let initial = config.training.initCheckpoint, isRoot {
            // The other processes receive these weights when training starts.
            try trainer.initializeWeights(from: URL(fileURLWithPath: initial))
        }
        for line in trainer.teacher?.report ?? [] { trainer.observer?.note(line) }
        let validation = data.validation.map { "\($0.dataset.count) validation images (\(config.data.validation.source == "train" ? "carved from the training split" : "the data set's validation split"))" }
            ?? "no validation images"
        let processes = group.worldSize
        let visits = data.train.sampleCount * processes
        let visited = visits == data.train.dataset.count ? ""
            : " (\(visits) visits per epoch\(config.data.repeatedAugmentation > 0 ? ", repeated augmentation × \(config.data.repeatedAugmentation)" : ", padded to a multiple of \(processes) processes"))"
        let batches = processes == 1 ? "batches of \(config.data.batchSize)"
            : "batches of \(config.data.batchSize) per process (global batch \(config.data.batchSize * processes))"
        let workers = processes == 1 ? "\(Parallel.threadCount) threads" : "\(processes) processes × \(Parallel.threadCount) threads"
        let evaluated = data.test.dataset.count
        trainer.observer?.note("training \(config.model.name) (\(trainer.model.parameterCount) parameters) on \(config.data.dataset): "
                               + "\(data.train.dataset.count) training images\(visited), \(validation), "
                               + "\(evaluated) test images (evaluated after training), "
                               + "\(config.training.epochs) epochs × \(data.train.batchesPerEpoch) \(batches), "
                               + "\(workers); run directory \(runDirectory.path)")
        if isRoot { for line in MethodProcedure.check(config).lines { observer?.note(line) } }
        let summary = try trainer.fit()
        guard isRoot else {
            return Outcome(summary: summary, classNames: data.classNames,
                           finalEvaluation: summary.interrupted ? nil : trainer.lastValidation, plots: [])
        }
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
