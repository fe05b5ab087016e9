import BitViTModels

/// When BHViT's oscillation regularizer L_re is on and how it combines with the recipe's terms
/// (docs/reference/bhvit.md §7, §8). Chosen by `loss.options.regularizer`.
public enum OscillationSchedule: String, Sendable, CaseIterable {
    /// The paper: `(1 − λ − β)·L_cls + λ·L_dis + β·L_re`, with β active only over the last
    /// `1 − start` of the run's steps (the last 10 % by default, i.e. from epoch 0.9·epochs on)
    /// and 0 before. The recipe supplies λ as
    /// `loss.distillation.alpha`; while β is on, the label term's weight drops by β.
    case paper
    /// The official code's `--regularization_loss` path: `(1 − β)·(recipe terms) + β·L_re` in
    /// every epoch, i.e. `0.9·L_dis + 0.1·L_re` with the code's pure distillation
    /// (`distribution`, alpha 1).
    case code
    /// No regularizer (ablation).
    case off
}

/// BHViT's loss options: `regularizer` (`paper`, `code`, `off`; default `paper`),
/// `regularizer_weight` (β, default 0.1) and `regularizer_start` (the paper schedule's start
/// as a fraction of the run, default 0.9).
struct BHViTLossOptions {
    var schedule = OscillationSchedule.paper
    var beta = 0.1
    var start = 0.9

    static let keys: Set<String> = ["regularizer", "regularizer_weight", "regularizer_start"]

    init(_ options: [String: String]) throws {
        if let unknown = Set(options.keys).subtracting(Self.keys).sorted().first {
            throw BitViTError.invalidArgument("unknown BHViT loss option '\(unknown)'; known: \(Self.keys.sorted().joined(separator: ", "))")
        }
        if let v = options["regularizer"] {
            guard let s = OscillationSchedule(rawValue: v) else {
                throw BitViTError.invalidArgument("loss.options.regularizer=\(v): expected paper, code or off")
            }
            schedule = s
        }
        if let v = options["regularizer_weight"] {
            guard let b = Double(v), (0..<1).contains(b) else {
                throw BitViTError.invalidArgument("loss.options.regularizer_weight=\(v): expected a number in [0, 1)")
            }
            beta = b
        }
        if let v = options["regularizer_start"] {
            guard let f = Double(v), (0...1).contains(f) else {
                throw BitViTError.invalidArgument("loss.options.regularizer_start=\(v): expected a fraction in [0, 1]")
            }
            start = f
        }
    }

    /// β at a training position.
    func beta(at p: TrainingProgress) -> Double {
        switch schedule {
        // `epoch ≥ 0.9·epochs` at epoch granularity (docs/reference/bhvit.md §8) is the same switch point as
        // the fraction of steps for whole-epoch starts; the fraction also works for runs of a
        // few epochs, where no whole epoch lies in the last 10 %.
        case .paper: return p.fraction >= start ? beta : 0
        case .code: return beta
        case .off: return 0
        }
    }
}

extension BHViT: LossTermProvider {
    /// The paper schedule lowers the label cross-entropy's weight by β while β is on; the code
    /// schedule scales every recipe term by `1 − β`.
    public func reweightedRecipeTerms(_ terms: [WeightedLossTerm], options: [String: String],
                                      epochs: Int) throws -> [WeightedLossTerm] {
        let o = try BHViTLossOptions(options)
        switch o.schedule {
        case .off:
            return terms
        case .code:
            return terms.map { t in
                let weight = t.weight
                return WeightedLossTerm(t.term) { p in (1 - o.beta) * weight(p) }
            }
        case .paper:
            return try terms.map { t in
                guard t.term is ClassificationLoss else { return t }
                let weight = t.weight
                let last = TrainingProgress(epoch: max(epochs - 1, 0), epochs: max(epochs, 1), iteration: 0, iterationsPerEpoch: 1)
                guard weight(last) - o.beta >= 0 else {
                    throw BitViTError.invalidArgument(
                        "BHViT's paper objective (1 − λ − β)·CE needs λ ≤ 1 − β; lower loss.distillation.alpha to \(1 - o.beta) or use loss.options.regularizer=code")
                }
                return WeightedLossTerm(t.term) { p in weight(p) - o.beta(at: p) }
            }
        }
    }

    /// `β(t)·L_re` over `oscillationRegularizedWeights` (nothing with `regularizer: off`).
    public func auxiliaryLossTerms(options: [String: String], epochs: Int) throws -> [WeightedLossTerm] {
        let o = try BHViTLossOptions(options)
        guard o.schedule != .off, o.beta > 0 else { return [] }
        return [WeightedLossTerm(WeightOscillationLoss(model: self)) { p in o.beta(at: p) }]
    }
}
