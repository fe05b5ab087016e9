import Foundation
import BitViTModels
import BitViTData

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
    /// Training seconds (evaluation excluded) over all sessions of the run, and the mean
    /// training throughput.
    public var trainingSeconds: Double
    public var imagesPerSecond: Double
    /// Wall seconds of this session, evaluation and checkpointing included.
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
    /// Where checkpoints and the metrics file go; nil keeps the run in memory (tests).
    public let runDirectory: URL?
    public var observer: TrainingObserver?
    /// Per-epoch quantizer diagnostics (flip ratios, outside-window fractions, scales), if any.
    public var diagnostics: TrainingDiagnostics?
    /// Polled after every step: returning true saves `last.safetensors` and stops the run.
    public var stopRequested: () -> Bool = { false }
    public private(set) var state = TrainingState()
    /// Learning rate of the most recent step.
    public private(set) var learningRate = 0.0
    /// The most recent validation result of this session.
    public private(set) var lastValidation: EvaluationResult?
    private var prepared = false

    public init(config: TrainConfig, model: any ImageClassifier, optimizer: any Optimizer,
                schedule: any LearningRateSchedule, objective: TrainingObjective, teacher: Teacher? = nil,
                trainData: any BatchSource, validationData: (any BatchSource)? = nil, testData: (any BatchSource)? = nil,
                runDirectory: URL? = nil) {
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
        state.modelRandom = TrainingState.hexWords(randomSource?.generator.stateWords ?? [0, 0, 0, 0])
    }

    /// Builds the model, optimizer, schedule, objective and teacher a configuration describes.
    public convenience init(config: TrainConfig, trainData: any BatchSource, validationData: (any BatchSource)?,
                            testData: (any BatchSource)? = nil, runDirectory: URL?) throws {
        let model = try ModelZoo.make(config.model, seed: UInt64(config.training.seed))
        var teacher: Teacher?
        if config.loss.distillation.type != .none, let path = config.loss.distillation.teacher {
            let checkpoint = try Checkpoint.load(URL(fileURLWithPath: path), modelSpec: config.loss.distillation.teacherModel)
            teacher = Teacher(model: try checkpoint.makeModel())
            guard teacher!.model.classCount == model.classCount else {
                throw BitViTError.invalidArgument("teacher \(path) has \(teacher!.model.classCount) classes, the student \(model.classCount)")
            }
        }
        self.init(config: config, model: model, optimizer: config.makeOptimizer(for: model),
                  schedule: config.makeSchedule(), objective: try config.makeObjective(for: model), teacher: teacher,
                  trainData: trainData, validationData: validationData, testData: testData, runDirectory: runDirectory)
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
    public func resume(from url: URL) throws {
        let checkpoint = try Checkpoint.load(url)
        guard checkpoint.modelSpec == config.model else {
            throw BitViTError.invalidArgument("\(url.path) holds model \(checkpoint.modelSpec.name) with other settings than this run's \(config.model.name)")
        }
        guard let saved = checkpoint.state else {
            throw BitViTError.malformed(file: url.path, reason: "no training state; it is not a resumable checkpoint")
        }
        guard !checkpoint.optimizerState.isEmpty else {
            throw BitViTError.malformed(file: url.path, reason: "a '\(checkpoint.kind)' checkpoint has no optimizer state; resume from last.safetensors")
        }
        try model.load(checkpoint.modelTensors, strict: true)
        try optimizer.loadState(checkpoint.optimizerState)
        if let random = randomSource { random.generator.stateWords = try saved.randomWords() }
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
    }

    /// One optimizer step on `batch` at `progress`. Throws `BitViTError.numerical` (before
    /// touching the weights) when the loss or the gradients are not finite.
    public func step(_ batch: Batch, at progress: TrainingProgress) throws -> StepResult {
        if !prepared {
            try objective.prepare(student: model, teacher: teacher)
            prepared = true
        }
        model.train()
        model.zeroGrad()
        learningRate = schedule.learningRate(at: progress)
        optimizer.learningRate = Float(learningRate)
        let forward = try objective.forward(student: model, teacher: teacher, images: batch.images)
        let output = forward.student
        let context = LossContext(batch: batch, progress: progress, student: model, studentOutput: output,
                                  teacher: teacher, teacherLogits: forward.teacherLogits,
                                  studentQueriesKeys: forward.studentQueriesKeys,
                                  teacherQueriesKeys: forward.teacherQueriesKeys)
        let evaluation = try objective.evaluate(context)
        let loss = evaluation.total.item()
        guard loss.isFinite else {
            let parts = evaluation.parts.map { "\($0.name) \($0.value)" }.joined(separator: ", ")
            throw nonFinite("the loss is \(loss) (\(parts))", at: progress)
        }
        evaluation.total.backward()
        let parameters = model.parameters
        let norm = GradientClipping.globalNorm(parameters)
        guard norm.isFinite else { throw nonFinite("the gradient norm is \(norm)", at: progress) }
        optimizer.gradientScale = config.gradientClipNorm.map { GradientClipping.scale(maxNorm: $0, globalNorm: norm) } ?? 1
        optimizer.step()
        let predictions = Evaluator.predictions(output.logits)
        let correct = zip(predictions, batch.labels).filter { $0 == $1 }.count
        return StepResult(loss: loss, parts: evaluation.parts, correct: correct, gradientNorm: norm,
                          learningRate: learningRate)
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
                accumulate(result, images: batch.count, seconds: seconds)
                diagnostics?.stepDidFinish()
                sessionImages += batch.count
                sessionSeconds += seconds
                if let random = randomSource { state.modelRandom = TrainingState.hexWords(random.generator.stateWords) }

                let totals = state.epochTotals
                let rate = sessionSeconds > 0 ? Double(sessionImages) / sessionSeconds : 0
                let remainingImages = Double((epochs * batches - state.globalStep) * config.data.batchSize)
                observer?.batchDidFinish(BatchProgress(
                    epoch: state.epoch, epochs: epochs, batch: state.iteration, batches: batches,
                    meanLoss: totals.meanLoss, top1: totals.top1, imagesPerSecond: totals.imagesPerSecond,
                    learningRate: learningRate, remainingSeconds: rate > 0 ? remainingImages / rate : .infinity))
                if config.training.logEvery > 0, state.globalStep % config.training.logEvery == 0 {
                    try metrics?.append(MetricsRecord(
                        type: "step", epoch: state.epoch + 1, step: state.globalStep, lr: learningRate,
                        trainLoss: Double(result.loss), trainTop1: Double(result.correct) / Double(batch.count),
                        lossTerms: Dictionary(result.parts.map { ($0.name, Double($0.value)) }, uniquingKeysWith: +),
                        gradNorm: result.gradientNorm, elapsedSeconds: state.elapsedSeconds))
                }
                if stopRequested() {
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
        // A session that trained reports its own throughput; one that resumed a finished run
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
            validation = try Evaluator.evaluate(model, on: validationData) { [observer] done, total in
                observer?.evaluationDidProgress(batch: done, of: total)
            }
        }
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
        let progress: (Int, Int) -> Void = { [observer] done, total in observer?.evaluationDidProgress(batch: done, of: total) }
        let last = TestReport.Entry(checkpoint: "last", epoch: state.epoch,
                                    try Evaluator.evaluate(model, on: testData, progress: progress))
        var best: TestReport.Entry?
        if let epoch = state.bestEpoch {
            if epoch == state.epoch {
                best = TestReport.Entry(checkpoint: "best", epoch: epoch, last.result)
            } else if let url = bestCheckpointURL, FileManager.default.fileExists(atPath: url.path) {
                let selected = try Checkpoint.load(url).makeModel(seed: UInt64(config.training.seed))
                best = TestReport.Entry(checkpoint: "best", epoch: epoch, try Evaluator.evaluate(selected, on: testData, progress: progress))
            }
        }
        let report = TestReport(last: last, best: best)
        if let url = testReportURL { try report.write(to: url) }
        for line in report.lines { observer?.note(line) }
        return report
    }

    /// Writes the resumable checkpoint `last.safetensors` (atomically).
    public func saveLast() throws {
        guard let url = lastCheckpointURL else { return }
        try Checkpoint.save(to: url, kind: "last", model: model, modelSpec: config.model, config: config,
                            state: state, optimizer: optimizer, optimizerName: config.optimizer.name.rawValue)
    }
}
