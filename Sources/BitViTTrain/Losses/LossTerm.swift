import BitViTModels
import BitViTQuant
import BitViTData

/// Everything a loss term may look at for one training batch.
public struct LossContext {
    /// The (augmented) batch the student saw.
    public var batch: Batch
    /// Where training is (epoch-dependent coefficients read this).
    public var progress: TrainingProgress
    /// The model being trained, in training mode.
    public var student: any ImageClassifier
    /// The student's output for `batch` (with the distillation head's logits when it has one).
    public var studentOutput: ClassifierOutput
    /// The teacher, in evaluation mode, when the run distills.
    public var teacher: Teacher?
    /// The teacher's logits `[B, classes]` for the same batch, computed without gradients.
    public var teacherLogits: Tensor?
    /// Per-block queries and keys of the student's forward pass (in the autograd graph) and of
    /// the teacher's, recorded when a term asks for them (`LossTerm.queryKeyTap`).
    public var studentQueriesKeys: [QueryKeyPair]?
    public var teacherQueriesKeys: [QueryKeyPair]?

    public init(batch: Batch, progress: TrainingProgress, student: any ImageClassifier,
                studentOutput: ClassifierOutput, teacher: Teacher? = nil, teacherLogits: Tensor? = nil,
                studentQueriesKeys: [QueryKeyPair]? = nil, teacherQueriesKeys: [QueryKeyPair]? = nil) {
        self.batch = batch
        self.progress = progress
        self.student = student
        self.studentOutput = studentOutput
        self.teacher = teacher
        self.teacherLogits = teacherLogits
        self.studentQueriesKeys = studentQueriesKeys
        self.teacherQueriesKeys = teacherQueriesKeys
    }

    /// The teacher's logits, or a clear error when the objective needs a teacher and none was
    /// configured.
    public func requireTeacherLogits(for term: String) throws -> Tensor {
        guard let teacherLogits else {
            throw BitViTError.invalidArgument("loss term '\(term)' needs a teacher (set loss.distillation.teacher)")
        }
        return teacherLogits
    }
}

/// One component of the training loss (cross-entropy, a distillation loss, a regularizer).
///
/// This is the extension point for model families: a term computes an unweighted scalar from
/// the batch, the student's output and optionally the teacher; `TrainingObjective` weights and
/// sums the terms. Terms that need activations the models do not return (Q-ViT's q/k Gram
/// matrices, docs/reference/qvit.md §6.2) switch their models into a capturing mode in `prepare` and read the
/// captured tensors in `loss`; terms on attention queries and keys declare `queryKeyTap` and
/// read `LossContext.studentQueriesKeys`/`teacherQueriesKeys`.
public protocol LossTerm: AnyObject {
    /// Short name used in logs and the metrics file, e.g. `ce`, `distill`, `oscillation`.
    var name: String { get }
    /// Where the term needs the student's attention queries and keys recorded (nil: it does
    /// not need them). The trainer then runs student and teacher with
    /// `forwardRecordingQueriesKeys` and fills the context's pairs.
    var queryKeyTap: QueryKeyTap? { get }
    /// Called once before training with the student and the teacher (if any).
    func prepare(student: any ImageClassifier, teacher: Teacher?) throws
    /// The unweighted scalar loss for one batch (a rank-0 tensor connected to the student's
    /// parameters).
    func loss(_ context: LossContext) throws -> Tensor
}

extension LossTerm {
    public func prepare(student: any ImageClassifier, teacher: Teacher?) throws {}
    public var queryKeyTap: QueryKeyTap? { nil }
}

/// A loss term with a coefficient that may depend on training progress.
public struct WeightedLossTerm {
    public var term: any LossTerm
    /// The coefficient at a training position; a term whose coefficient is 0 is not evaluated.
    public var weight: (TrainingProgress) -> Double

    /// A term with a fixed coefficient.
    public init(_ term: any LossTerm, weight: Double = 1) {
        self.term = term
        self.weight = { _ in weight }
    }

    /// A term whose coefficient follows training progress, e.g. BHViT's oscillation
    /// regularizer, active only when `epoch ≥ 0.9·epochs` (docs/reference/bhvit.md §8).
    public init(_ term: any LossTerm, weight: @escaping (TrainingProgress) -> Double) {
        self.term = term
        self.weight = weight
    }
}

/// A model family that adds loss terms of its own to every run that trains it. The trainer
/// asks the model (`model as? LossTermProvider`) and appends the returned terms to the
/// objective built from the recipe.
public protocol LossTermProvider {
    /// Extra terms for a run; `options` are the recipe's `loss.options` (family-specific
    /// settings such as a coefficient), `epochs` the run length.
    func auxiliaryLossTerms(options: [String: String], epochs: Int) throws -> [WeightedLossTerm]
    /// The recipe's terms (cross-entropy, distillation) reweighted for the family's objective,
    /// before the auxiliary terms are appended; e.g. BHViT's paper form lowers the label term
    /// while its regularizer is active. The default keeps them.
    func reweightedRecipeTerms(_ terms: [WeightedLossTerm], options: [String: String], epochs: Int) throws -> [WeightedLossTerm]
}

extension LossTermProvider {
    public func reweightedRecipeTerms(_ terms: [WeightedLossTerm], options: [String: String],
                                      epochs: Int) throws -> [WeightedLossTerm] { terms }
}

/// The training loss: a weighted sum of terms.
public struct TrainingObjective {
    public var terms: [WeightedLossTerm]

    public init(terms: [WeightedLossTerm]) { self.terms = terms }

    /// The loss of one batch and each term's unweighted value.
    public struct Evaluation {
        /// `Σ wᵢ·Lᵢ`, a rank-0 tensor to back-propagate.
        public var total: Tensor
        /// Unweighted term values by name, in term order.
        public var parts: [(name: String, value: Float)]
    }

    /// Runs `prepare` on every term.
    public func prepare(student: any ImageClassifier, teacher: Teacher?) throws {
        for t in terms { try t.term.prepare(student: student, teacher: teacher) }
    }

    public func evaluate(_ context: LossContext) throws -> Evaluation {
        var total: Tensor?
        var parts: [(String, Float)] = []
        for t in terms {
            let w = t.weight(context.progress)
            guard w != 0 else { continue }
            let value = try t.term.loss(context)
            guard value.count == 1 else {
                throw BitViTError.shapeMismatch("loss term '\(t.term.name)' returned shape \(value.shape), expected a scalar")
            }
            parts.append((t.term.name, value.item()))
            let weighted = w == 1 ? value : value * Float(w)
            total = total.map { $0 + weighted } ?? weighted
        }
        guard let total else { throw BitViTError.invalidArgument("the training objective has no active loss term") }
        return Evaluation(total: total.reshaped([]), parts: parts)
    }
}
