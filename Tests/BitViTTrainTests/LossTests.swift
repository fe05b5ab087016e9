import Foundation
import Testing
import BitViTTestSupport
import BitViTTrain

/// A batch of `labels.count` dummy images (the loss terms read only labels and outputs).
private func context(student: Tensor, distillation: Tensor? = nil, teacher: Tensor? = nil,
                     labels: [Int], targets: Tensor? = nil) throws -> LossContext {
    let model = try DeiT(ViTConfig(imageSize: 4, patchSize: 4, inChannels: 1, dim: 4, depth: 1, heads: 1,
                                   classes: student.shape[1]))
    let batch = Batch(images: Tensor.zeros([labels.count, 1, 4, 4]), labels: labels, targets: targets,
                      indices: Array(0..<labels.count))
    return LossContext(batch: batch, progress: TrainingProgress(epoch: 0, epochs: 1, iteration: 0, iterationsPerEpoch: 1),
                       student: model, studentOutput: ClassifierOutput(logits: student, distillationLogits: distillation),
                       teacherLogits: teacher)
}

@Suite struct LossTests {
    @Test func labelSmoothingValue() throws {
        // logits [0, ln 3] → p = [1/4, 3/4]; label 1, ε = 0.2: target [0.1, 0.9].
        let logits = Tensor(shape: [1, 2], scalars: [0, Float(log(3.0))])
        let loss = try ClassificationLoss(labelSmoothing: 0.2).loss(context(student: logits, labels: [1])).item()
        let want = -(0.1 * log(0.25) + 0.9 * log(0.75))
        #expect(abs(Double(loss) - want) < 1e-6)
    }

    @Test func softTargetsOverrideLabels() throws {
        let logits = Tensor(shape: [1, 2], scalars: [0, Float(log(3.0))])
        let targets = Tensor(shape: [1, 2], scalars: [0.5, 0.5])
        let loss = try ClassificationLoss(labelSmoothing: 0.1).loss(context(student: logits, labels: [1], targets: targets)).item()
        #expect(abs(Double(loss) - -(0.5 * log(0.25) + 0.5 * log(0.75))) < 1e-6)
    }

    @Test func softDistillationValueAndReductions() throws {
        // τ = 2: student [0, 2 ln 3]/2 → [1/4, 3/4]; teacher [0, 0] → [1/2, 1/2].
        let s = Tensor(shape: [1, 2], scalars: [0, Float(2 * log(3.0))])
        let t = Tensor(shape: [1, 2], scalars: [0, 0])
        let kl = 0.5 * log(0.5 / 0.25) + 0.5 * log(0.5 / 0.75)
        let numel = SoftDistillationLoss.divergence(student: s, teacher: t, temperature: 2, reduction: .numel).item()
        let batch = SoftDistillationLoss.divergence(student: s, teacher: t, temperature: 2, reduction: .batch).item()
        #expect(abs(Double(numel) - kl * 4 / 2) < 1e-6, "DeiT: τ²·KL / (B·C)")
        #expect(abs(Double(batch) - kl * 4) < 1e-6, "τ²·KL / B")
    }

    @Test func softDistillationGradient() {
        let teacher = randomTensor([3, 5], seed: 2)
        for reduction in SoftDistillationLoss.Reduction.allCases {
            checkGradients("soft distillation \(reduction)", inputs: [randomTensor([3, 5], seed: 1)], step: 1e-2) {
                SoftDistillationLoss.divergence(student: $0[0], teacher: teacher, temperature: 3, reduction: reduction)
            }
        }
    }

    @Test func softDistillationIsZeroForEqualDistributions() {
        let z = randomTensor([2, 4], seed: 5)
        #expect(abs(SoftDistillationLoss.divergence(student: z, teacher: z, temperature: 1, reduction: .batch).item()) < 1e-6)
    }

    @Test func hardDistillationUsesTeacherArgmaxOnDistillationHead() throws {
        let cls = Tensor(shape: [2, 3], scalars: [5, 0, 0, 0, 5, 0])
        let dist = Tensor(shape: [2, 3], scalars: [0, 1, 2, 2, 1, 0])
        let teacher = Tensor(shape: [2, 3], scalars: [0, 0, 9, 1, 3, 2])   // argmax 2, 1
        let loss = try HardDistillationLoss().loss(context(student: cls, distillation: dist, teacher: teacher, labels: [0, 1]))
        let want = Tensor.crossEntropy(logits: dist, labels: [2, 1])
        #expect(abs(loss.item() - want.item()) < 1e-6)
    }

    @Test func deitHardObjectiveIsHalfAndHalf() throws {
        var config = TrainConfig()
        config.loss.distillation.type = .hard
        config.loss.distillation.alpha = 0.5
        config.loss.distillation.teacher = "unused"
        let cls = randomTensor([2, 3], seed: 1), dist = randomTensor([2, 3], seed: 2), teacher = randomTensor([2, 3], seed: 3)
        let ctx = try context(student: cls, distillation: dist, teacher: teacher, labels: [0, 2])
        let objective = try config.makeObjective(for: ctx.student)
        let value = try objective.evaluate(ctx)
        let want = 0.5 * Tensor.crossEntropy(logits: cls, labels: [0, 2]).item()
            + 0.5 * Tensor.crossEntropy(logits: dist, labels: Evaluator.predictions(teacher)).item()
        #expect(abs(value.total.item() - want) < 1e-6)
        #expect(value.parts.map(\.name) == ["ce", "distill"])
    }

    @Test func distributionLossIsCrossEntropyAgainstTeacherSoftmax() throws {
        let s = Tensor(shape: [1, 2], scalars: [0, Float(log(3.0))]), t = Tensor(shape: [1, 2], scalars: [0, 0])
        let loss = try TeacherCrossEntropyLoss().loss(context(student: s, teacher: t, labels: [0])).item()
        #expect(abs(Double(loss) - -(0.5 * log(0.25) + 0.5 * log(0.75))) < 1e-6)
    }

    @Test func distillationWithoutTeacherIsAClearError() throws {
        let ctx = try context(student: randomTensor([1, 3], seed: 1), labels: [0])
        #expect(throws: BitViTError.self) { try HardDistillationLoss().loss(ctx) }
    }

    /// A family-specific term with an epoch-dependent coefficient (the BHViT pattern).
    final class ConstantTerm: LossTerm {
        let name = "extra"
        func loss(_ context: LossContext) throws -> Tensor { Tensor(2) }
    }

    @Test func progressDependentWeightsSwitchTermsOnAndOff() throws {
        let late = WeightedLossTerm(ConstantTerm()) { $0.epoch >= 9 ? 0.1 : 0 }
        let objective = TrainingObjective(terms: [WeightedLossTerm(ClassificationLoss()), late])
        var ctx = try context(student: Tensor(shape: [1, 2], scalars: [0, 0]), labels: [0])
        let early = try objective.evaluate(ctx)
        #expect(early.parts.map(\.name) == ["ce"])
        ctx.progress.epoch = 9
        let last = try objective.evaluate(ctx)
        #expect(last.parts.map(\.name) == ["ce", "extra"])
        #expect(abs(last.total.item() - (Float(log(2.0)) + 0.2)) < 1e-6)
    }
}
