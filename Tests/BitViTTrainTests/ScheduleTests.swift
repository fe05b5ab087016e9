import Foundation
import Testing
import BitViTTrain

@Suite struct ScheduleTests {
    private func at(_ epoch: Int, _ iteration: Int = 0, epochs: Int = 10, perEpoch: Int = 4) -> TrainingProgress {
        TrainingProgress(epoch: epoch, epochs: epochs, iteration: iteration, iterationsPerEpoch: perEpoch)
    }

    @Test func perEpochCosineHasTimmsOneEpochLag() {
        let s = CosineSchedule(baseLR: 1e-3, minLR: 1e-5)
        // Epochs 0 and 1 run at L(0) = base; epoch e ≥ 1 runs at L(e − 1).
        #expect(s.learningRate(at: at(0)) == 1e-3)
        #expect(s.learningRate(at: at(1)) == 1e-3)
        let l1 = 1e-5 + 0.5 * (1e-3 - 1e-5) * (1 + cos(Double.pi * 1 / 10))
        #expect(abs(s.learningRate(at: at(2)) - l1) < 1e-15)
        let l5 = 1e-5 + 0.5 * (1e-3 - 1e-5)   // cos(π/2) = 0
        #expect(abs(s.learningRate(at: at(6, 3)) - l5) < 1e-15, "the rate is constant inside an epoch")
        #expect(s.learningRate(at: at(11)) == 1e-5, "past the end the rate is the minimum")
    }

    @Test func warmupIsLinearFromWarmupLR() {
        let s = CosineSchedule(baseLR: 1e-3, minLR: 0, warmupEpochs: 4, warmupLR: 1e-6)
        let step = (1e-3 - 1e-6) / 4
        for (epoch, t) in [(0, 0), (1, 0), (2, 1), (3, 2), (4, 3)] {
            #expect(abs(s.learningRate(at: at(epoch)) - (1e-6 + Double(t) * step)) < 1e-15, "epoch \(epoch)")
        }
        // After warmup the cosine continues at position t over the whole run (not t − W).
        let l4 = 0.5 * 1e-3 * (1 + cos(Double.pi * 4 / 10))
        #expect(abs(s.learningRate(at: at(5)) - l4) < 1e-15)
    }

    @Test func perIterationSteppingCountsSteps() {
        let s = CosineSchedule(baseLR: 1, minLR: 0, warmupEpochs: 1, warmupLR: 0, stepping: .iteration)
        // 10 epochs × 4 steps = 40 steps, warmup 4 steps.
        #expect(s.learningRate(at: at(0, 0)) == 0)
        #expect(s.learningRate(at: at(0, 2)) == 0.5)
        let k = 13   // epoch 3, iteration 1
        #expect(abs(s.learningRate(at: at(3, 1)) - 0.5 * (1 + cos(Double.pi * Double(k) / 40))) < 1e-15)
    }

    @Test func constantScheduleIgnoresProgress() {
        let s = ConstantSchedule(learningRate: 3e-4)
        #expect(s.learningRate(at: at(0)) == 3e-4)
        #expect(s.learningRate(at: at(9, 3)) == 3e-4)
    }

    @Test func progressFraction() {
        #expect(at(5, 2).globalStep == 22)
        #expect(abs(at(5, 2).fraction - 22.0 / 40) < 1e-12)
    }
}
