import Foundation
import BitViTModels

extension TrainConfig {
    /// The optimizer the recipe names, over `model`'s parameters split by timm's weight-decay
    /// rule, for a run of `processes` processes (the learning-rate scaling rule counts the
    /// global batch).
    public func makeOptimizer(for model: Module, processes: Int = 1) -> any Optimizer {
        let o = optimizer
        let groups = ParameterGroup.timmGroups(for: model, weightDecay: Float(o.weightDecay), decayScalars: o.decayScalars)
        let lr = Float(effectiveLearningRate(processes: processes))
        let (b1, b2, eps) = (Float(o.betas[0]), Float(o.betas[1]), Float(o.eps))
        switch o.name {
        case .sgd: return SGD(groups: groups, learningRate: lr, momentum: Float(o.momentum), nesterov: o.nesterov)
        case .adam: return Adam(groups: groups, learningRate: lr, beta1: b1, beta2: b2, eps: eps)
        case .adamw: return AdamW(groups: groups, learningRate: lr, beta1: b1, beta2: b2, eps: eps)
        case .lamb: return LAMB(groups: groups, learningRate: lr, beta1: b1, beta2: b2, eps: eps, trustRatioPolicy: .all)
        case .fusedlamb:
            return LAMB(groups: groups, learningRate: lr, beta1: b1, beta2: b2, eps: eps, trustRatioPolicy: .decayedGroupsOnly)
        }
    }

    /// The clipping threshold in force: the recipe's, or apex FusedLAMB's built-in 1.0.
    public var gradientClipNorm: Double? {
        optimizer.clipGradNorm ?? (optimizer.name == .fusedlamb ? 1.0 : nil)
    }

    /// The learning-rate schedule the recipe names, for a run of `processes` processes.
    public func makeSchedule(processes: Int = 1) -> any LearningRateSchedule {
        let s = schedule, lr = effectiveLearningRate(processes: processes)
        switch s.name {
        case .constant:
            return ConstantSchedule(learningRate: lr, warmupEpochs: s.warmupEpochs, warmupLR: s.warmupLr, stepping: s.stepping)
        case .cosine:
            return CosineSchedule(baseLR: lr, minLR: s.minLr, warmupEpochs: s.warmupEpochs, warmupLR: s.warmupLr,
                                  stepping: s.stepping)
        }
    }

    /// The loss terms the recipe describes, plus those the model family contributes.
    ///
    /// Without distillation: label cross-entropy (of both heads when the model has a
    /// distillation head). With it (DeiT's `DistillationLoss`):
    /// `(1 − α)·CE(z_cls, y) + α·D`, `D` the hard, soft or distribution term on the distillation
    /// head (or the class head when the model has none); a term with weight 0 is skipped.
    /// `loss.dgd.weight > 0` adds Q-ViT's distribution-guided distillation.
    public func makeObjective(for model: any ImageClassifier) throws -> TrainingObjective {
        let d = loss.distillation
        let ce = ClassificationLoss(labelSmoothing: Float(loss.labelSmoothing))
        var terms: [WeightedLossTerm] = []
        switch d.type {
        case .none:
            // Without a teacher, a distillation head learns from the labels too (see
            // `ClassificationLoss.supervisesDistillationHead`).
            terms = [WeightedLossTerm(ClassificationLoss(labelSmoothing: Float(loss.labelSmoothing),
                                                         supervisesDistillationHead: true))]
        case .hard:
            terms = [WeightedLossTerm(ce, weight: 1 - d.alpha), WeightedLossTerm(HardDistillationLoss(), weight: d.alpha)]
        case .soft:
            terms = [WeightedLossTerm(ce, weight: 1 - d.alpha),
                     WeightedLossTerm(SoftDistillationLoss(temperature: Float(d.tau), reduction: d.reduction), weight: d.alpha)]
        case .distribution:
            terms = [WeightedLossTerm(ce, weight: 1 - d.alpha), WeightedLossTerm(TeacherCrossEntropyLoss(), weight: d.alpha)]
        }
        if loss.dgd.weight > 0 {
            terms.append(WeightedLossTerm(DistributionGuidedDistillationLoss(loss.dgd), weight: loss.dgd.weight))
        }
        if let provider = model as? LossTermProvider {
            terms = try provider.reweightedRecipeTerms(terms, options: loss.options, epochs: training.epochs)
            terms += try provider.auxiliaryLossTerms(options: loss.options, epochs: training.epochs)
        }
        return TrainingObjective(terms: terms)
    }
}
