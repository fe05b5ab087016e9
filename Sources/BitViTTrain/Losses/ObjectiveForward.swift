import BitViTModels
import BitViTQuant

extension TrainingObjective {
    /// Where the objective needs attention queries and keys recorded: the tap of the first term
    /// that asks for them (nil when no term does).
    public var queryKeyTap: QueryKeyTap? {
        terms.lazy.compactMap { $0.term.queryKeyTap }.first
    }

    /// The forward passes of one training step: the student on `images` (recording its queries
    /// and keys when a term needs them) and the frozen teacher on the same images.
    public func forward(student: any ImageClassifier, teacher: Teacher?, images: Tensor) throws -> ObjectiveForward {
        guard let tap = queryKeyTap else {
            return ObjectiveForward(student: student(images), teacherLogits: teacher?.logits(images))
        }
        guard let recorder = student as? any QueryKeyReporting else {
            throw BitViTError.invalidArgument("a loss term needs attention queries and keys, which model \(type(of: student)) does not report")
        }
        let (output, pairs) = recorder.forwardRecordingQueriesKeys(images, tap: tap)
        let teacherPass = try teacher.map { try $0.logitsAndQueriesKeys(images) }
        return ObjectiveForward(student: output, teacherLogits: teacherPass?.logits, studentQueriesKeys: pairs,
                                teacherQueriesKeys: teacherPass?.pairs)
    }
}

/// What `TrainingObjective.forward` computed for one batch.
public struct ObjectiveForward {
    public var student: ClassifierOutput
    public var teacherLogits: Tensor?
    public var studentQueriesKeys: [QueryKeyPair]?
    public var teacherQueriesKeys: [QueryKeyPair]?
}
