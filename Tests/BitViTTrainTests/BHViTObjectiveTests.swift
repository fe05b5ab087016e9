import BitViTTestSupport
import BitViTTrain
import Foundation
import Testing

/// BHViT's loss (docs/reference/bhvit.md §7–8): the oscillation regularizer L_re against
/// every golden case and its schedules in the recipe's objective.
@Suite struct BHViTObjectiveTests {
    static let golden = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/golden")

    @Test func regularizerGoldenCases() throws {
        let cases = try GoldenOp.load("bhvit_lre", in: Self.golden).cases
        #expect(!cases.isEmpty)
        for c in cases {
            let n = Int(try #require(c.params["n_tensors"]))
            let weights = try (0..<n).map { i -> Tensor in
                let w = try #require(c.inputs["w\(i)"]).copy()
                w.requiresGrad = true
                return w
            }
            let loss = WeightOscillationLoss.value(of: weights)
            assertClose(loss, try #require(c.outputs["loss"]), "\(c.id) loss")
            loss.backward(try #require(c.gradOutput["loss"]))
            for (i, w) in weights.enumerated() {
                assertClose(try #require(w.grad), try #require(c.grads["w\(i)"]), "\(c.id) dw\(i)")
            }
        }
    }

    @Test func regularizerGradientMatchesFiniteDifferences() {
        // Away from the kinks at |w| = 0 and 1 the regularizer is piecewise linear.
        let a = randomTensor([4, 5], seed: 1).map { $0 + ($0 >= 0 ? 0.05 : -0.05) }
        let b = randomTensor([3, 2, 2], seed: 2, scale: 2).map { Swift.abs(Swift.abs($0) - 1) < 0.05 ? $0 * 1.2 : $0 }
        checkGradients("L_re", inputs: [a, b], step: 1e-3) { WeightOscillationLoss.value(of: $0) }
    }

    @Test func regularizerAtInitializationAndAtUnitWeights() throws {
        let model = try BHViT(.small)
        let atInit = WeightOscillationLoss(model: model).weights
        #expect(atInit.count == 107)
        // PyTorch-default weights are tiny, so ||w| − 1| ≈ 1 (0.971 measured on the official code).
        let value = WeightOscillationLoss.value(of: atInit).item()
        #expect(value > 0.95 && value < 0.99, "L_re at init = \(value)")
        let unit = [Tensor(shape: [2, 3], scalars: [1, -1, 1, 1, -1, -1]), Tensor(shape: [4], repeating: -1)]
        #expect(WeightOscillationLoss.value(of: unit).item() == 0)
    }

    @Test func distributionLossOracles() {
        // Constant student logits against a uniform teacher: log(classes).
        let student = Tensor(shape: [2, 5], repeating: 0.3), teacher = Tensor(shape: [2, 5], repeating: -1)
        let uniform = Tensor.crossEntropy(logits: student, targetProbabilities: teacher.softmax())
        #expect(Swift.abs(uniform.item() - Float(log(5.0))) < 1e-6)
        // At softmax(student) = softmax(teacher) the gradient vanishes (the minimum).
        let logits = randomTensor([3, 4], seed: 7)
        logits.requiresGrad = true
        Tensor.crossEntropy(logits: logits, targetProbabilities: (logits.detached() + 2).softmax()).backward()
        #expect(logits.grad!.scalars.allSatisfy { Swift.abs($0) < 1e-6 })
    }

    // MARK: Schedules

    private func objective(regularizer: String?, alpha: Double, epochs: Int = 10) throws -> (TrainingObjective, BHViT) {
        var config = TrainConfig()
        config.model = ModelSpec(name: "bhvit-tiny-cifar", classes: 10)
        config.loss.distillation.type = .distribution
        config.loss.distillation.alpha = alpha
        config.loss.distillation.teacher = "unused"
        if let regularizer { config.loss.options = ["regularizer": regularizer] }
        config.training.epochs = epochs
        let model = try BHViT(.tinyCIFAR)
        return (try config.makeObjective(for: model), model)
    }

    /// Weight of each term by name at `epoch` of 10.
    private func weights(_ objective: TrainingObjective, epoch: Int) -> [String: Double] {
        let p = TrainingProgress(epoch: epoch, epochs: 10, iteration: 0, iterationsPerEpoch: 5)
        var out: [String: Double] = [:]
        for t in objective.terms { out[t.term.name, default: 0] += t.weight(p) }
        return out
    }

    @Test func paperScheduleTurnsTheRegularizerOnForTheLastTenthOfTheRun() throws {
        let (objective, model) = try self.objective(regularizer: nil, alpha: 0.8)   // paper is the default
        let early = weights(objective, epoch: 8), late = weights(objective, epoch: 9)
        #expect(Swift.abs(early["ce"]! - 0.2) < 1e-12 && early["distill"] == 0.8 && early["oscillation"] == 0)
        // (1 − λ − β)·L_cls + λ·L_dis + β·L_re
        #expect(Swift.abs(late["ce"]! - 0.1) < 1e-12 && late["distill"] == 0.8 && late["oscillation"] == 0.1)
        let term = try #require(objective.terms.first { $0.term is WeightOscillationLoss }?.term as? WeightOscillationLoss)
        #expect(term.weights.count == model.oscillationRegularizedWeights.count)
        #expect(term.weights.count == 1 * 5 + 4 * 6, "one MSGDC block, four MSMHA blocks")
    }

    @Test func paperScheduleCountsStepsInShortRuns() throws {
        // Two epochs of 10 steps: the last 10 % are steps 18 and 19 of epoch 1.
        let (objective, _) = try self.objective(regularizer: "paper", alpha: 0.5, epochs: 2)
        let term = try #require(objective.terms.first { $0.term is WeightOscillationLoss })
        let on = (0..<2).flatMap { e in (0..<10).map { i in
            term.weight(TrainingProgress(epoch: e, epochs: 2, iteration: i, iterationsPerEpoch: 10)) > 0 } }
        #expect(on == Array(repeating: false, count: 18) + [true, true])
    }

    @Test func codeScheduleIsNinetyTenEveryEpoch() throws {
        let (objective, _) = try self.objective(regularizer: "code", alpha: 1)
        for epoch in [0, 5, 9] {
            let w = weights(objective, epoch: epoch)
            #expect(Swift.abs(w["distill"]! - 0.9) < 1e-12 && w["oscillation"] == 0.1 && w["ce"] == 0)
        }
    }

    @Test func regularizerCanBeSwitchedOff() throws {
        let (objective, _) = try self.objective(regularizer: "off", alpha: 0.8)
        let w = weights(objective, epoch: 9)
        #expect(Swift.abs(w["ce"]! - 0.2) < 1e-12 && w["distill"] == 0.8 && w["oscillation"] == nil)
    }

    @Test func invalidOptionsAreReported() {
        #expect(throws: BitViTError.self) { try self.objective(regularizer: "paper", alpha: 1) }   // 1 − λ − β < 0
        #expect(throws: BitViTError.self) { try self.objective(regularizer: "sometimes", alpha: 0.8) }
        var config = TrainConfig()
        config.loss.options = ["regulariser": "code"]
        #expect(throws: BitViTError.self) { try config.makeObjective(for: BHViT(.tinyCIFAR)) }
    }

    @Test func regularizedObjectiveTrainsTheLatentWeights() throws {
        let (objective, model) = try self.objective(regularizer: "code", alpha: 1)
        model.train()
        var rng = RandomGenerator(seed: 1)
        let images = Tensor.randn([2, 3, 32, 32], using: &rng)
        let output = model(images)
        let batch = Batch(images: images, labels: [1, 2], targets: nil, indices: [0, 1])
        let context = LossContext(batch: batch, progress: TrainingProgress(epoch: 0, epochs: 10, iteration: 0, iterationsPerEpoch: 1),
                                  student: model, studentOutput: output, teacherLogits: randomTensor([2, 10], seed: 3))
        let evaluation = try objective.evaluate(context)
        #expect(evaluation.parts.map(\.name) == ["distill", "oscillation"])
        evaluation.total.backward()
        let weight = model.oscillationRegularizedWeights[0].tensor
        #expect(weight.grad != nil)
    }
}
