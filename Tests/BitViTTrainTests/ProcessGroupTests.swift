import Foundation
import Testing
import BitViTTrain

/// The one-process group and the pieces of data parallelism that run without MPI (the
/// multi-process behaviour is tested under mpirun by BitViTDistributedTests).
@Suite struct ProcessGroupTests {
    @Test func oneProcessLeavesEverythingAsItIs() throws {
        let group = SingleProcessGroup()
        var values = [1.5, -2.0]
        group.sum(&values)
        #expect(values == [1.5, -2.0] && !group.isDistributed && !group.anyTrue(false) && group.anyTrue(true))
        #expect(group.allGather([7, 9]) == [[7, 9]])
        #expect(group.broadcast(Data("x".utf8)) == Data("x".utf8))
        let file = try temporaryDirectory("group").appendingPathComponent("f.bin")
        defer { try? FileManager.default.removeItem(at: file.deletingLastPathComponent()) }
        #expect(try group.broadcastFile(file) == nil)
        try Data([1, 2, 3]).write(to: file)
        #expect(try group.broadcastFile(file) == Data([1, 2, 3]))
    }

    /// Buckets follow the reverse parameter order under the size cap; with one process the
    /// averaged gradients are the gradients, and parameters without one keep none.
    @Test func gradientBucketsAndTheOneProcessAverage() {
        let parameters = [Tensor(shape: [10], repeating: 0), Tensor(shape: [3], repeating: 0), Tensor(shape: [5], repeating: 0)]
        for p in parameters { p.requiresGrad = true }
        let averager = GradientAverager(parameters: parameters, group: SingleProcessGroup(), bucketBytes: 8 * 4)
        #expect(averager.bucketSizes == [8, 10], "[5, 3] then [10] alone (larger than the cap)")
        parameters[0].grad = Tensor(shape: [10], scalars: (0..<10).map(Float.init))
        parameters[2].grad = Tensor(shape: [5], repeating: 2)
        let before = parameters[0].grad!
        averager.beginStep()
        averager.gradientIsReady(parameters[2])
        averager.finishStep()
        #expect(parameters[0].grad!.scalars == (0..<10).map(Float.init) && parameters[0].grad !== before, "a new tensor")
        #expect(parameters[1].grad == nil && parameters[2].grad!.scalars == [Float](repeating: 2, count: 5))
    }

    /// The linear scaling rule counts the global batch; the schedule and optimizer built for
    /// several processes start from it.
    @Test func theLearningRateRuleCountsEveryProcess() throws {
        let config = try tinyConfig(overrides: ["optimizer.lr_batch_reference=16", "data.batch_size=8", "schedule.warmup_epochs=0"])
        #expect(config.effectiveLearningRate == 3e-3 / 2)
        #expect(config.effectiveLearningRate(processes: 4) == 3e-3 * 2)
        let schedule = config.makeSchedule(processes: 4)
        #expect(schedule.learningRate(at: TrainingProgress(epoch: 0, epochs: 2, iteration: 0, iterationsPerEpoch: 4)) == 3e-3 * 2)
    }

    @Test func distributedSettingsAreValidated() throws {
        let config = try tinyConfig(overrides: ["distributed.sync_batch_norm=true", "distributed.bucket_mb=1"])
        #expect(config.distributed.syncBatchNorm && config.distributed.bucketMb == 1)
        #expect(throws: BitViTError.self) { try tinyConfig(overrides: ["distributed.bucket_mb=0"]) }
        #expect(throws: BitViTError.self) { try tinyConfig(overrides: ["distributed.timeout_seconds=-1"]) }
    }

    /// Evaluation tallies of disjoint shards add up to the tally of the whole set.
    @Test func evaluationTalliesOfShardsAddUp() throws {
        let data = SyntheticBatches(count: 24, batchSize: 8)
        let model = try ModelZoo.make(try tinyConfig().model, seed: 1)
        let whole = try Evaluator.tally(model, on: data)
        #expect(try whole.result() == Evaluator.evaluate(model, on: data))
        #expect(whole.reduced(over: SingleProcessGroup()) == whole)
        #expect(throws: BitViTError.self) { try EvaluationTally(classes: 4).result() }
    }
}
