import Foundation
import BitViTModels
import BitViTData
import BitViTQuant

/// What a finished (or interrupted) run reports.
public struct TrainingSummary: Codable, Sendable {
    public var epochsCompleted: Int
    public var steps: Int
    /// Validation result after the last validated epoch.
    public var finalTop1: Double?
    public var finalTop5: Double?
    /// Best validation top-1 and its (1-based) epoch: the checkpoint `best.safetensors` holds.
    public var bestTop1: Double?
    public var bestEpoch: Int?
    /// The test split measured once after the last epoch (nil without test data or when
    /// interrupted).
    public var test: TestReport?
    /// Training seconds (evaluation excluded) over the run's start and every resume, and the mean
    /// training throughput.
    public var trainingSeconds: Double
    public var imagesPerSecond: Double
    /// Wall seconds of this invocation (start or resume), evaluation and checkpointing included.
    public var sessionWallSeconds: Double
    public var lastCheckpoint: String?
    public var bestCheckpoint: String?
    public var runDirectory: String?
    /// True when the run stopped early on request (Ctrl-C) after saving `last`.
    public var interrupted: Bool
}

/// Trains a classifier: forward, loss terms (with an optional frozen teacher), NaN/Inf checks,
/// backward, gradient clipping via the optimizer's gradient scale, the schedule's learning
/// rate, periodic validation, metrics lines and atomic checkpoints.
///
/// Model selection sees only `validationData`: it decides `best.safetensors`. `testData` is
/// evaluated once, after the last epoch, with the last weights and with the best checkpoint
/// (`test.json`), so no test accuracy is a maximum over epochs.
///
/// Determinism: with the same configuration, seed and thread count, a run resumed from any
/// `last.safetensors` continues with exactly the losses of an uninterrupted run (the
/// checkpoint restores the weights, the optimizer moments, the model's random stream, the data
/// position and the epoch's partial sums; the schedule is a function of the position).
///
/// Data parallelism (`group` with several processes; docs/distributed.md), as PyTorch's DDP:
/// every process builds the same trainer over its own shard of the data (`TrainingData.make`
/// with its rank), rank 0's weights and buffers are broadcast when `fit` starts and its buffers
/// before every training forward, gradients are averaged across the processes
/// (`GradientAverager`) before clipping and the optimizer step, which is then the same
/// everywhere; losses and accuracies are those of the global batch, evaluation is sharded and
/// summed, and only a trainer with a `runDirectory` (rank 0's) writes files. Each process
/// draws dropout and drop-path masks from its own random stream; all of them are saved, so
/// a resume with the same number of processes is exact too.
public final class Trainer {
    public let config: TrainConfig
    public let model: any ImageClassifier
    public let optimizer: any Optimizer
    public let schedule: any LearningRateSchedule
    public let objective: TrainingObjective
    public let teacher: Teacher?
    public let trainData: any BatchSource
    public let validationData: (any BatchSource)?
    /// Evaluated once after training (`TestReport`), never for selection.
    public let testData: (any BatchSource)?
    /// Where checkpoints and the metrics file go; nil keeps the run in memory (tests, and the
    /// processes other than rank 0 of a data-parallel run).
    public let runDirectory: URL?
    /// The processes training this model together (one by default).
    public let group: any ProcessGroup
    public var observer: TrainingObserver?
    /// Per-epoch quantizer diagnostics (flip ratios, outside-window fractions, scales), if any.
    public var diagnostics: TrainingDiagnostics?
    /// Polled after every step: returning true saves `last.safetensors` and stops the run.
    public var stopRequested: () -> Bool = { false }
    public private(set) var state = TrainingState()
    /// Learning rate of the most recent step.
    public private(set) var learningRate = 0.0
    /// The most recent validation result of this invocation.
    public private(set) var lastValidation: EvaluationResult?
    private var prepared = false
    /// Gradient averaging across the processes (built on the first distributed step).
    public private(set) lazy var gradientAverager = GradientAverager(
        parameters: model.parameters, group: group, bucketBytes: max(4, Int(config.distributed.bucketMb * 1e6)),
        overlaps: config.distributed.overlap)
    /// Whether this invocation has taken a distributed step (the first one may initialize
    /// quantizer scales from each process's own batch).
    private var steppedInSession = false

    public init(config: TrainConfig, model: any ImageClassifier, optimizer: any Optimizer,
                schedule: any LearningRateSchedule, objective: TrainingObjective, teacher: Teacher? = nil,
                trainData: any BatchSource, validationData: (any BatchSource)? = nil, testData: (any BatchSource)? = nil,
                runDirectory: URL? = nil, group: any ProcessGroup = SingleProcessGroup()) {
        self.config = config
        self.model = model
        self.optimizer = optimizer
        self.schedule = schedule
        self.objective = objective
        self.teacher = teacher
        self.trainData = trainData
        self.validationData = validationData
        self.testData = testData
        self.runDirectory = runDirectory
        self.group = group
        if group.rank > 0, let random = randomSource {
            // Every process draws its own dropout and drop-path masks.
            random.generator = RandomGenerator(seed: UInt64(config.training.seed) &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(group.rank))
        }
        state.modelRandom = TrainingState.hexWords(randomSource?.generator.stateWords ?? [0, 0, 0, 0])
        if group.isDistributed {
            state.worldSize = group.worldSize
            if config.distributed.syncBatchNorm {
                let sum: CrossProcessSum = { [group] values in group.sum(&values) }
                for (_, module) in model.namedModules() { (module as? BatchNorm)?.statisticsSum = sum }
            }
        }
    }

    /// Builds the model, optimizer, schedule, objective and teacher a configuration describes.
    public convenience init(config: TrainConfig, trainData: any BatchSource, validationData: (any BatchSource)?,
                            testData: (any BatchSource)? = nil, runDirectory: URL?,
                            group: any ProcessGroup = SingleProcessGroup()) throws {
        let model = try ModelZoo.make(config.model, seed: UInt64(config.training.seed))
        let teacher = try WeightsFile.teacher(for: config, classes: model.classCount)
        self.init(config: config, model: model, optimizer: config.makeOptimizer(for: model, processes: group.worldSize),
                  schedule: config.makeSchedule(processes: group.worldSize), objective: try config.makeObjective(for: model),
                  teacher: teacher, trainData: trainData, validationData: validationData, testData: testData,
                  runDirectory: runDirectory, group: group)
    }

    public var lastCheckpointURL: URL? { runDirectory?.appendingPathComponent("last.safetensors") }
    public var bestCheckpointURL: URL? { runDirectory?.appendingPathComponent("best.safetensors") }
    public var metricsURL: URL? { runDirectory?.appendingPathComponent("metrics.jsonl") }
    public var testReportURL: URL? { runDirectory?.appendingPathComponent(TestReport.fileName) }

    private var randomSource: RandomSource? { (model as? RandomSourceOwner)?.random }

    // MARK: Resuming

    /// Restores a `last.safetensors` written by a run of the same model: weights, optimizer
    /// state, random stream, position and partial epoch sums. Metrics lines written after
    /// the checkpoint are dropped, since the resumed run writes them again.
    ///
    /// In a data-parallel run rank 0 reads the file and every process restores from its bytes;
    /// the run that wrote it must have had the same number of processes.
    public func resume(from url: URL) throws {
        let checkpoint: Checkpoint
        if group.isDistributed {
            guard let bytes = try group.broadcastFile(url) else { throw BitViTError.missing(url.path) }
            checkpoint = try Checkpoint.decode(bytes, name: url.path)
        } else {
            checkpoint = try Checkpoint.load(url)
        }
        guard checkpoint.modelSpec == config.model else {
            throw BitViTError.invalidArgument("\(url.path) holds model \(checkpoint.modelSpec.name) with other settings than this run's \(config.model.name)")
        }
        guard let saved = checkpoint.state else {
            throw BitViTError.malformed(file: url.path, reason: "no training state; it is not a resumable checkpoint")
        }
        guard !checkpoint.optimizerState.isEmpty else {
            throw BitViTError.malformed(file: url.path, reason: "a '\(checkpoint.kind)' checkpoint has no optimizer state; resume from last.safetensors")
        }
        let savedProcesses = saved.worldSize ?? 1
        guard savedProcesses == group.worldSize else {
            let launch = savedProcesses == 1 ? "without mpirun" : "with mpirun -np \(savedProcesses)"
            throw BitViTError.invalidArgument(
                "\(url.path) was saved by a run of \(savedProcesses) process\(savedProcesses == 1 ? "" : "es") and this run has \(group.worldSize); "
                    + "an exact resume needs the same number (the data shards and batch positions depend on it): resume \(launch), "
                    + "or start a new run from its weights with training.init_checkpoint")
        }
        try model.load(checkpoint.modelTensors, strict: true)
        try optimizer.loadState(checkpoint.optimizerState)
        if let random = randomSource { random.generator.stateWords = try saved.randomWords(rank: group.rank) }
        state = saved
        if let metricsURL, FileManager.default.fileExists(atPath: metricsURL.path) {
            let kept = try MetricsLog.read(metricsURL).filter {
                $0.step <= saved.globalStep && ($0.type != "epoch" || $0.epoch <= saved.epoch)
            }
            try AtomicFile.write(try kept.map { try jsonString($0) + "\n" }.joined(), to: metricsURL)
        }
        if let url = runDirectory?.appendingPathComponent(DiagnosticsLog.fileName) {
            try DiagnosticsLog.truncate(url, afterEpoch: saved.epoch)
        }
        // The test report belongs to the end of a run; the resumed run writes its own.
        if let url = testReportURL, FileManager.default.fileExists(atPath: url.path) {
            try FileManager.default.removeItem(at: url)
        }
        observer?.note("resumed from \(url.path) at epoch \(saved.epoch + 1), batch \(saved.iteration), step \(saved.globalStep)")
    }

    // MARK: One step

    /// The outcome of one optimizer step.
    public struct StepResult {
        public var loss: Float
        public var parts: [(name: String, value: Float)]
        /// Training-mode predictions that matched the labels.
        public var correct: Int
        public var gradientNorm: Double
        public var learningRate: Double
        /// Images of the step over all processes (the global batch).
        public var images: Int
    }

    /// One optimizer step on `batch` at `progress`. Throws `BitViTError.numerical` (before
    /// touching the weights) when the loss or the gradients are not finite. In a data-parallel
    /// run `batch` is this process's part of the global batch, and the loss, its terms and the
    /// accuracy returned are those of the global batch.
    public func step(_ batch: Batch, at progress: TrainingProgress) throws -> StepResult {
        if !prepared {
            try objective.prepare(student: model, teacher: teacher)
            prepared = true
        }
        model.train()
        model.zeroGrad()
        var initializesScales = false
        if group.isDistributed {
            group.broadcast(model.namedBuffers().map(\.tensor))
            initializesScales = !steppedInSession && model.quantizers().contains { $0.quantizer.initializesOnNextCall }
        }
        learningRate = schedule.learningRate(at: progress)
        optimizer.learningRate = Float(learningRate)
        let forward = try objective.forward(student: model, teacher: teacher, images: batch.images)
        let output = forward.student
        let context = LossContext(batch: batch, progress: progress, student: model, studentOutput: output,
                                  teacher: teacher, teacherLogits: forward.teacherLogits,
                                  studentQueriesKeys: forward.studentQueriesKeys,
                                  teacherQueriesKeys: forward.teacherQueriesKeys)
        let evaluation = try objective.evaluate(context)
        var loss = evaluation.total.item()
        var parts = evaluation.parts
        var correct = zip(Evaluator.predictions(output.logits), batch.labels).filter { $0 == $1 }.count
        var images = batch.count
        if group.isDistributed {
            // The global batch's loss, terms and accuracy: a non-finite loss on any process
            // stops every process here.
            var sums = [Double(loss) * Double(images)] + parts.map { Double($0.value) * Double(images) }
                + [Double(correct), Double(images)]
            group.sum(&sums)
            images = Int(sums[sums.count - 1])
            correct = Int(sums[sums.count - 2])
            loss = Float(sums[0] / Double(images))
            parts = parts.enumerated().map { ($0.element.name, Float(sums[1 + $0.offset] / Double(images))) }
        }
        guard loss.isFinite else {
            let parts = parts.map { "\($0.name) \($0.value)" }.joined(separator: ", ")
            throw nonFinite("the loss is \(loss) (\(parts))", at: progress)
        }
        if group.isDistributed {
            let averager = gradientAverager
            averager.beginStep()
            evaluation.total.backward(onLeafGradient: averager.overlaps ? averager.gradientIsReady : nil)
            averager.finishStep()
        } else {
            evaluation.total.backward()
        }
        let parameters = model.parameters
        let norm = GradientClipping.globalNorm(parameters)
        guard norm.isFinite else { throw nonFinite("the gradient norm is \(norm)", at: progress) }
        optimizer.gradientScale = config.gradientClipNorm.map { GradientClipping.scale(maxNorm: $0, globalNorm: norm) } ?? 1
        optimizer.step()
        if group.isDistributed {
            if initializesScales {
                // Quantizer scales initialized from each process's own first batch: rank 0's win.
                group.broadcast(model.parameters + model.namedBuffers().map(\.tensor))
            }
            steppedInSession = true
        }
        return StepResult(loss: loss, parts: parts, correct: correct, gradientNorm: norm,
                          learningRate: learningRate, images: images)
    }

    private func nonFinite(_ what: String, at p: TrainingProgress) -> BitViTError {
        var message = "training stopped: \(what) at epoch \(p.epoch + 1)/\(p.epochs), batch \(p.iteration + 1)/\(p.iterationsPerEpoch) (step \(p.globalStep + 1)); nothing was saved from this step."
        if let url = lastCheckpointURL, FileManager.default.fileExists(atPath: url.path) {
            message += " The last good checkpoint is \(url.path)."
        }
        message += " Try a lower optimizer.lr, gradient clipping (optimizer.clip_grad_norm) or warmup."
        return .numerical(message)
    }

    // MARK: The loop

    /// Trains from the current state to `config.training.epochs`, validating, logging and
    /// checkpointing as configured.
    public func fit() throws -> TrainingSummary {
        let sessionStart = DispatchTime.now().uptimeNanoseconds
        let epochs = config.training.epochs
        let batches = trainData.batchesPerEpoch
        guard batches > 0 else { throw BitViTError.invalidArgument("the training data yields no batch") }
        let metrics = metricsURL.map(MetricsLog.init)
        var sessionImages = 0, sessionSeconds = 0.0
        var interrupted = false
        // DDP's start: every process continues from rank 0's weights and buffers.
        if group.isDistributed { group.broadcast(model.parameters + model.namedBuffers().map(\.tensor)) }

        epochLoop: while state.epoch < epochs {
            let stream = try trainData.batches(epoch: state.epoch, from: state.iteration)
            diagnostics?.epochWillStart(resumedMidEpoch: state.iteration > 0)
            var tick = DispatchTime.now().uptimeNanoseconds
            var lastNorm = 0.0
            while state.iteration < batches, let batch = try stream.next() {
                let progress = TrainingProgress(epoch: state.epoch, epochs: epochs, iteration: state.iteration,
                                                iterationsPerEpoch: batches)
                let result = try step(batch, at: progress)
                let now = DispatchTime.now().uptimeNanoseconds
                let seconds = Double(now - tick) / 1e9
                tick = now
                lastNorm = result.gradientNorm
                accumulate(result, images: result.images, seconds: seconds)
                diagnostics?.stepDidFinish()
                sessionImages += result.images
                sessionSeconds += seconds
                if let random = randomSource { state.modelRandom = TrainingState.hexWords(random.generator.stateWords) }

                let totals = state.epochTotals
                let rate = sessionSeconds > 0 ? Double(sessionImages) / sessionSeconds : 0
                let remainingImages = Double((epochs * batches - state.globalStep) * config.data.batchSize * group.worldSize)
                observer?.batchDidFinish(BatchProgress(
                    epoch: state.epoch, epochs: epochs, batch: state.iteration, batches: batches,
                    meanLoss: totals.meanLoss, top1: totals.top1, imagesPerSecond: totals.imagesPerSecond,
                    learningRate: learningRate, remainingSeconds: rate > 0 ? remainingImages / rate : .infinity))
                if config.training.logEvery > 0, state.globalStep % config.training.logEvery == 0 {
                    try metrics?.append(MetricsRecord(
                        type: "step", epoch: state.epoch + 1, step: state.globalStep, lr: learningRate,
                        trainLoss: Double(result.loss), trainTop1: Double(result.correct) / Double(result.images),
                        lossTerms: Dictionary(result.parts.map { ($0.name, Double($0.value)) }, uniquingKeysWith: +),
                        gradNorm: result.gradientNorm, elapsedSeconds: state.elapsedSeconds))
                }
                if group.isDistributed ? group.anyTrue(stopRequested()) : stopRequested() {
                    try saveLast()
                    observer?.note("stopped at epoch \(state.epoch + 1), batch \(state.iteration); resume with --resume")
                    interrupted = true
                    break epochLoop
                }
                if config.training.checkpointEvery > 0, state.globalStep % config.training.checkpointEvery == 0 {
                    try saveLast()
                }
            }
            guard state.iteration == batches else {
                throw BitViTError.invalidArgument("the training data ended after \(state.iteration) of \(batches) batches in epoch \(state.epoch + 1)")
            }
            lastValidation = try finishEpoch(metrics: metrics, gradientNorm: lastNorm) ?? lastValidation
        }
        var test: TestReport?
        if !interrupted && state.epoch == epochs, testData != nil { test = try evaluateTest() }
        let sessionWall = Double(DispatchTime.now().uptimeNanoseconds - sessionStart) / 1e9
        // An invocation that trained reports its own throughput; one that resumed a finished run
        // (or stopped before its first step) reports the run's, from the saved state.
        var rate = sessionSeconds > 0 ? Double(sessionImages) / sessionSeconds : 0
        if sessionImages == 0, let images = state.trainedImages, state.elapsedSeconds > 0 {
            rate = Double(images) / state.elapsedSeconds
        }
        return TrainingSummary(
            epochsCompleted: state.epoch, steps: state.globalStep, finalTop1: lastValidation?.top1 ?? state.lastTop1,
            finalTop5: lastValidation?.top5 ?? state.lastTop5, bestTop1: state.bestTop1, bestEpoch: state.bestEpoch, test: test,
            trainingSeconds: state.elapsedSeconds,
            imagesPerSecond: rate,
            sessionWallSeconds: sessionWall, lastCheckpoint: lastCheckpointURL?.path,
            bestCheckpoint: state.bestEpoch != nil ? bestCheckpointURL?.path : nil,
            runDirectory: runDirectory?.path, interrupted: interrupted)
    }

    private func accumulate(_ r: StepResult, images: Int, seconds: Double) {
        // Counted from the first step of a run; unknown (nil) after resuming an older checkpoint.
        state.trainedImages = state.trainedImages.map { $0 + images } ?? (state.globalStep == 0 ? images : nil)
        state.iteration += 1
        state.globalStep += 1
        state.elapsedSeconds += seconds
        state.epochTotals.batches += 1
        state.epochTotals.images += images
        state.epochTotals.seconds += seconds
        state.epochTotals.correct += r.correct
        state.epochTotals.weightedLoss += Double(r.loss) * Double(images)
        for (name, value) in r.parts { state.epochTotals.weightedTerms[name, default: 0] += Double(value) * Double(images) }
    }

    /// Validates if due, writes the epoch's metrics line, advances the state to the next epoch
    /// and saves `best` (on a new best top-1) and `last`.
    private func finishEpoch(metrics: MetricsLog?, gradientNorm: Double) throws -> EvaluationResult? {
        let epochs = config.training.epochs
        let finished = state.epoch + 1
        var validation: EvaluationResult?
        try diagnostics?.epochDidFinish(epoch: finished, step: state.globalStep)
        if let validationData, finished % config.training.evalEvery == 0 || finished == epochs {
            validation = try evaluate(model, on: validationData)
        }
        if group.isDistributed { try checkReplicasAgree(after: finished) }
        let totals = state.epochTotals
        let record = MetricsRecord(
            type: "epoch", epoch: finished, step: state.globalStep, lr: learningRate, trainLoss: totals.meanLoss,
            trainTop1: totals.top1, lossTerms: totals.meanTerms, valLoss: validation?.loss, valTop1: validation?.top1,
            valTop5: validation?.top5, gradNorm: gradientNorm, imagesPerSecond: totals.imagesPerSecond,
            epochSeconds: totals.seconds, elapsedSeconds: state.elapsedSeconds)
        try metrics?.append(record)
        if let validation {
            state.lastTop1 = validation.top1
            state.lastTop5 = validation.top5
        }
        var newBest = false
        if let top1 = validation?.top1, top1 > (state.bestTop1 ?? -1) {
            state.bestTop1 = top1
            state.bestEpoch = finished
            newBest = true
        }
        state.epoch = finished
        state.iteration = 0
        state.epochTotals = EpochTotals()
        if newBest, let url = bestCheckpointURL {
            try Checkpoint.save(to: url, kind: "best", model: model, modelSpec: config.model, config: config, state: state)
        }
        try saveLast()
        observer?.epochDidFinish(record, epochs: epochs, newBest: newBest)
        return validation
    }

    /// Evaluates `testData` with the current (last) weights and with `best.safetensors` (the
    /// checkpoint selected on validation; the same weights when the best epoch is the last) and
    /// writes `test.json`. Throws when there is no test data.
    @discardableResult
    public func evaluateTest() throws -> TestReport {
        guard let testData else { throw BitViTError.invalidArgument("the trainer has no test data") }
        let last = TestReport.Entry(checkpoint: "last", epoch: state.epoch, try evaluate(model, on: testData))
        var best: TestReport.Entry?
        if let epoch = state.bestEpoch {
            if epoch == state.epoch {
                best = TestReport.Entry(checkpoint: "best", epoch: epoch, last.result)
            } else if let selected = try bestCheckpointModel() {
                best = TestReport.Entry(checkpoint: "best", epoch: epoch, try evaluate(selected, on: testData))
            }
        }
        let report = TestReport(last: last, best: best)
        if let url = testReportURL { try report.write(to: url) }
        for line in report.lines { observer?.note(line) }
        return report
    }

    /// The model `best.safetensors` holds (read by rank 0 in a data-parallel run), nil without one.
    private func bestCheckpointModel() throws -> (any ImageClassifier)? {
        let checkpoint: Checkpoint
        if group.isDistributed {
            guard let bytes = try group.broadcastFile(bestCheckpointURL) else { return nil }
            checkpoint = try Checkpoint.decode(bytes, name: "best.safetensors")
        } else {
            guard let url = bestCheckpointURL, FileManager.default.fileExists(atPath: url.path) else { return nil }
            checkpoint = try Checkpoint.load(url)
        }
        return try checkpoint.makeModel(seed: UInt64(config.training.seed))
    }

    /// Evaluates `model` on `data`: this process's shard, summed over the processes.
    private func evaluate(_ model: any ImageClassifier, on data: any BatchSource) throws -> EvaluationResult {
        let progress: (Int, Int) -> Void = { [observer] done, total in observer?.evaluationDidProgress(batch: done, of: total) }
        guard group.isDistributed else { return try Evaluator.evaluate(model, on: data, progress: progress) }
        // As DDP's forward: rank 0's buffers (BatchNorm running statistics) everywhere.
        group.broadcast(model.namedBuffers().map(\.tensor))
        return try Evaluator.tally(model, on: data, progress: progress).reduced(over: group).result()
    }

    /// Throws on every process when the processes' weights are not bit-identical (buffers may
    /// differ between broadcasts: each process updates BatchNorm statistics with its own batch).
    private func checkReplicasAgree(after epoch: Int) throws {
        let fingerprints = group.allGather([ReplicaFingerprint.of(model.parameters)])
        guard Set(fingerprints.map { $0[0] }).count == 1 else {
            let differing = fingerprints.indices.filter { fingerprints[$0] != fingerprints[0] }
            throw BitViTError.numerical(
                "after epoch \(epoch) the weights of process\(differing.count == 1 ? "" : "es") \(differing.map(String.init).joined(separator: ", ")) differ from rank 0's; the processes no longer train one model")
        }
    }

    /// Writes the resumable checkpoint `last.safetensors` (atomically). In a data-parallel run
    /// every process calls it at the same step (it gathers the random streams) and rank 0 writes.
    public func saveLast() throws {
        if group.isDistributed {
            state.processRandom = group.allGather(randomSource?.generator.stateWords ?? [0, 0, 0, 0]).map(TrainingState.hexWords)
        }
        guard let url = lastCheckpointURL else { return }
        try Checkpoint.save(to: url, kind: "last", model: model, modelSpec: config.model, config: config,
                            state: state, optimizer: optimizer, optimizerName: config.optimizer.name.rawValue)
    }
}
