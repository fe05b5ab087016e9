import Foundation
import Testing
import BitViTTrain

/// Step losses of a run, read from its per-step metrics lines.
private func stepLosses(_ dir: URL) throws -> [Double] {
    try MetricsLog.read(dir.appendingPathComponent("metrics.jsonl")).filter { $0.type == "step" }.map(\.trainLoss)
}

@Suite(.serialized) struct TrainerTests {
    let data = SyntheticBatches(count: 48, batchSize: 8)
    let validation = SyntheticBatches(count: 16, batchSize: 8, seed: 99)

    let test = SyntheticBatches(count: 24, batchSize: 8, seed: 7)

    @Test func trainingLearnsAndWritesCheckpointsAndMetrics() throws {
        let dir = try temporaryDirectory("fit")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = try tinyConfig(epochs: 8, overrides: ["training.log_every=4", "schedule.warmup_epochs=0"])
        let trainer = try Trainer(config: config, trainData: data, validationData: validation, testData: test, runDirectory: dir)
        let summary = try trainer.fit()
        #expect(summary.epochsCompleted == 8 && summary.steps == 48)
        #expect((summary.finalTop1 ?? 0) > 0.5, "the synthetic classes are easy")
        let records = try MetricsLog.read(dir.appendingPathComponent("metrics.jsonl"))
        let epochLines = records.filter { $0.type == "epoch" }
        #expect(epochLines.map(\.epoch) == Array(1...8))
        #expect(epochLines.allSatisfy { $0.valTop1 != nil && $0.valTop5 != nil && $0.trainTop1 != nil })
        #expect(epochLines.first!.trainLoss > epochLines.last!.trainLoss)
        #expect(records.filter { $0.type == "step" }.map(\.step) == Array(stride(from: 4, through: 48, by: 4)))
        // Every line is a JSON object with snake_case keys.
        let text = try String(contentsOf: dir.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        for line in text.split(separator: "\n") {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["train_loss"] is NSNumber && object?["type"] is String && object?["elapsed_seconds"] != nil)
        }
        let last = try Checkpoint.load(dir.appendingPathComponent("last.safetensors"))
        #expect(last.kind == "last" && last.state?.epoch == 8 && last.config == config)
        #expect(last.modelTensors["blocks.1.attn.qkv.weight"] != nil, "timm names")
        #expect(last.optimizerState["exp_avg.blocks.1.attn.qkv.weight"] != nil)
        let best = try Checkpoint.load(dir.appendingPathComponent("best.safetensors"))
        #expect(best.optimizerState.isEmpty && best.state?.bestTop1 == summary.bestTop1)
        let rebuilt = try best.makeModel()
        #expect(rebuilt.parameterCount == trainer.model.parameterCount)
        // The test split is measured once, after training: last weights and best checkpoint.
        let report = try #require(try TestReport.read(dir.appendingPathComponent("test.json")))
        #expect(report == summary.test && report.last.epoch == 8 && report.last.result.count == 24)
        #expect(report.last.result == (try Evaluator.evaluate(trainer.model, on: test)))
        let bestOnTest = try Evaluator.evaluate(rebuilt, on: test)
        #expect(report.best?.epoch == summary.bestEpoch && report.best?.result == bestOnTest)
    }

    /// `best.safetensors` is the epoch of the best *validation* top-1, and the test split is
    /// never seen before the end: validation that disagrees with the test split (its labels
    /// are shifted) still decides the checkpoint.
    @Test func theBestCheckpointIsChosenOnValidation() throws {
        let dir = try temporaryDirectory("select")
        defer { try? FileManager.default.removeItem(at: dir) }
        var misleading = validation
        misleading.labelShift = 1
        let config = try tinyConfig(epochs: 6, overrides: ["schedule.warmup_epochs=0"])
        let observer = LossRecorder()
        let trainer = try Trainer(config: config, trainData: data, validationData: misleading, testData: test, runDirectory: dir)
        trainer.observer = observer
        let summary = try trainer.fit()
        let epochs = try MetricsLog.read(dir.appendingPathComponent("metrics.jsonl")).filter { $0.type == "epoch" }
        let validationTop1 = epochs.map { $0.valTop1! }
        let argmax = validationTop1.indices.first { validationTop1[$0] == validationTop1.max()! }! + 1
        #expect(summary.bestEpoch == argmax && summary.bestTop1 == validationTop1.max())
        let best = try Checkpoint.load(dir.appendingPathComponent("best.safetensors")).makeModel()
        #expect(try Evaluator.evaluate(best, on: misleading).top1 == summary.bestTop1, "selected by its validation accuracy")
        #expect(summary.test?.best?.epoch == argmax)
        #expect(summary.test?.best?.result == (try Evaluator.evaluate(best, on: test)))
        #expect(observer.notes.contains { $0.hasPrefix("test split") && $0.contains("best-on-validation checkpoint (epoch \(argmax))") })
    }

    @Test func withoutValidationNothingIsSelectedAndTheLastWeightsAreTested() throws {
        let dir = try temporaryDirectory("novalidation")
        defer { try? FileManager.default.removeItem(at: dir) }
        let trainer = try Trainer(config: try tinyConfig(epochs: 2), trainData: data, validationData: nil, testData: test,
                                  runDirectory: dir)
        let summary = try trainer.fit()
        #expect(summary.bestEpoch == nil && summary.test?.best == nil && summary.test?.last.epoch == 2)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("best.safetensors").path))
    }

    /// Train N steps straight vs. k steps, save, reload into a fresh model and optimizer and
    /// continue: every later loss must be bit-identical.
    @Test(arguments: [5, 6, 13])
    func resumeContinuesExactly(stopAfter k: Int) throws {
        let straightDir = try temporaryDirectory("straight"), resumedDir = try temporaryDirectory("resumed")
        defer { for d in [straightDir, resumedDir] { try? FileManager.default.removeItem(at: d) } }
        let config = try tinyConfig(epochs: 3, overrides: ["training.log_every=1"])

        let straight = try Trainer(config: config, trainData: data, validationData: validation, runDirectory: straightDir)
        _ = try straight.fit()

        let first = try Trainer(config: config, trainData: data, validationData: validation, runDirectory: resumedDir)
        first.stopRequested = { first.state.globalStep == k }
        let partial = try first.fit()
        #expect(partial.interrupted && partial.steps == k)

        let second = try Trainer(config: config, trainData: data, validationData: validation, runDirectory: resumedDir)
        try second.resume(from: resumedDir.appendingPathComponent("last.safetensors"))
        #expect(second.state.globalStep == k)
        _ = try second.fit()

        #expect(try stepLosses(resumedDir) == stepLosses(straightDir))
        let a = try MetricsLog.read(straightDir.appendingPathComponent("metrics.jsonl")).filter { $0.type == "epoch" }
        let b = try MetricsLog.read(resumedDir.appendingPathComponent("metrics.jsonl")).filter { $0.type == "epoch" }
        #expect(a.map(\.trainLoss) == b.map(\.trainLoss) && a.map(\.valLoss) == b.map(\.valLoss))
        for (name, t) in straight.model.stateDict() {
            #expect(t.scalars == second.model.stateDict()[name]!.scalars, "\(name) after both runs")
        }
    }

    /// Exact resumption with repeated augmentation: the epoch's samples, their visits and
    /// their augmentations are functions of (seed, epoch), so a run stopped mid-epoch or at an
    /// epoch boundary continues with bit-identical losses and weights.
    @Test(arguments: [5, 8, 11])
    func resumeWithRepeatedAugmentationContinuesExactly(stopAfter k: Int) throws {
        var rng = RandomGenerator(seed: 21)
        let n = 300
        let dataset = try InMemoryDataset(height: 8, width: 8, channels: 1,
                                          pixels: (0..<(n * 64)).map { _ in UInt8(rng.nextInt(below: 256)) },
                                          labels: (0..<n).map { $0 % 4 }, classNames: ["a", "b", "c", "d"])
        let transform = TransformPipeline([RandomCrop(size: 8, padding: 2), RandomHorizontalFlip()],
                                          normalization: Normalization(mean: [0.5], std: [0.25]))
        let source = LoaderBatchSource(dataset: dataset, transform: transform, batchSize: 32,
                                       sampler: EpochSampler(.repeatedAugmentation(repeats: 3)), dropLast: true, seed: 4)
        #expect(source.sampleCount == 256 && source.batchesPerEpoch == 8)
        let straightDir = try temporaryDirectory("ra-straight"), resumedDir = try temporaryDirectory("ra-resumed")
        defer { for d in [straightDir, resumedDir] { try? FileManager.default.removeItem(at: d) } }
        let config = try tinyConfig(epochs: 2, overrides: ["training.log_every=1"])
        _ = try Trainer(config: config, trainData: source, validationData: nil, runDirectory: straightDir).fit()
        let first = try Trainer(config: config, trainData: source, validationData: nil, runDirectory: resumedDir)
        first.stopRequested = { first.state.globalStep == k }
        #expect(try first.fit().interrupted)
        let second = try Trainer(config: config, trainData: source, validationData: nil, runDirectory: resumedDir)
        try second.resume(from: resumedDir.appendingPathComponent("last.safetensors"))
        let resumedSummary = try second.fit()
        #expect(resumedSummary.steps == 16)
        #expect(try stepLosses(resumedDir) == stepLosses(straightDir))
        let straight = try Checkpoint.load(straightDir.appendingPathComponent("last.safetensors"))
        for (name, t) in straight.modelTensors {
            #expect(t.scalars == second.model.stateDict()[name]!.scalars, "\(name) after both runs")
        }
    }

    @Test func nonFiniteLossStopsWithoutTouchingWeightsOrCheckpoint() throws {
        let dir = try temporaryDirectory("nan")
        defer { try? FileManager.default.removeItem(at: dir) }
        var poisoned = data
        poisoned.poisonBatch = 2
        let config = try tinyConfig(epochs: 2)
        let trainer = try Trainer(config: config, trainData: poisoned, validationData: nil, runDirectory: dir)
        // The poison sits in batch 3 of every epoch, so the very first epoch fails.
        do {
            _ = try trainer.fit()
            Issue.record("a NaN loss did not stop training")
        } catch let error as BitViTError {
            guard case .numerical(let message) = error else { Issue.record("wrong error \(error)"); return }
            #expect(message.contains("epoch 1/2, batch 3/6"))
        }
        #expect(trainer.state.globalStep == 2)
        #expect(trainer.model.parameters.allSatisfy { $0.scalars.allSatisfy(\.isFinite) })
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("last.safetensors").path),
                "nothing is saved from a failed epoch")
    }

    @Test func nonFiniteLossKeepsTheLastGoodCheckpoint() throws {
        let dir = try temporaryDirectory("nan2")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = try tinyConfig(epochs: 2)
        _ = try Trainer(config: config, trainData: data, validationData: nil, runDirectory: dir).fit()
        let before = try Data(contentsOf: dir.appendingPathComponent("last.safetensors"))
        var poisoned = data
        poisoned.poisonBatch = 1
        let again = try Trainer(config: try tinyConfig(epochs: 3), trainData: poisoned, validationData: nil, runDirectory: dir)
        try again.resume(from: dir.appendingPathComponent("last.safetensors"))
        #expect(throws: BitViTError.self) { try again.fit() }
        #expect(try Data(contentsOf: dir.appendingPathComponent("last.safetensors")) == before)
    }

    @Test func resumingRejectsABestCheckpointAndAnotherModel() throws {
        let dir = try temporaryDirectory("reject")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = try tinyConfig(epochs: 1)
        _ = try Trainer(config: config, trainData: data, validationData: validation, runDirectory: dir).fit()
        let t = try Trainer(config: config, trainData: data, validationData: validation, runDirectory: nil)
        #expect(throws: BitViTError.self) { try t.resume(from: dir.appendingPathComponent("best.safetensors")) }
        let other = try Trainer(config: try tinyConfig(epochs: 1, overrides: ["model.depth=1"]), trainData: data,
                                validationData: nil, runDirectory: nil)
        #expect(throws: BitViTError.self) { try other.resume(from: dir.appendingPathComponent("last.safetensors")) }
    }

    @Test func hardDistillationFromAFrozenTeacherCheckpoint() throws {
        let teacherDir = try temporaryDirectory("teacher"), studentDir = try temporaryDirectory("student")
        defer { for d in [teacherDir, studentDir] { try? FileManager.default.removeItem(at: d) } }
        _ = try Trainer(config: try tinyConfig(epochs: 1), trainData: data, validationData: nil, runDirectory: teacherDir).fit()
        let config = try tinyConfig(epochs: 1, overrides: [
            "model.distilled=true", "loss.distillation.type=hard",
            "loss.distillation.teacher=\(teacherDir.appendingPathComponent("last.safetensors").path)", "training.log_every=1",
        ])
        let trainer = try Trainer(config: config, trainData: data, validationData: validation, runDirectory: studentDir)
        let teacher = try #require(trainer.teacher)
        #expect(!teacher.model.isTraining, "the teacher runs in evaluation mode")
        let before = teacher.model.parameters.map(\.scalars)
        _ = try trainer.fit()
        #expect(teacher.model.parameters.map(\.scalars) == before, "the teacher is frozen")
        #expect(teacher.model.parameters.allSatisfy { $0.grad == nil })
        let steps = try MetricsLog.read(studentDir.appendingPathComponent("metrics.jsonl")).filter { $0.type == "step" }
        #expect(steps.count == 6)
        for s in steps {
            let terms = try #require(s.lossTerms)
            #expect(Set(terms.keys) == ["ce", "distill"])
            #expect(abs(s.trainLoss - 0.5 * (terms["ce"]! + terms["distill"]!)) < 1e-5, "0.5·CE + 0.5·CE(dist, teacher)")
        }
    }

    @Test func evaluationCountsTopKAndConfusion() throws {
        let model = try ModelZoo.make(try tinyConfig().model)
        let r = try Evaluator.evaluate(model, on: validation)
        #expect(r.count == 16)
        #expect(r.confusion.flatMap { $0 }.reduce(0, +) == 16)
        #expect(r.confusion.map { $0.reduce(0, +) } == [4, 4, 4, 4])
        let diagonal = (0..<4).map { r.confusion[$0][$0] }.reduce(0, +)
        #expect(abs(r.top1 - Double(diagonal) / 16) < 1e-12)
        #expect(r.top5 == 1, "with 4 classes every label is in the top 5")
    }

    @Test func topKOrdersByScore() {
        let scores: [Float] = [0.1, 0.9, 0.5, 0.9, -1]
        scores.withUnsafeBufferPointer { #expect(Evaluator.topK($0.baseAddress!, count: 5, k: 3) == [1, 3, 2]) }
    }
}
