import Foundation

/// The classifier's answer for one image: its logits, and the classes ranked by probability.
public struct Classification: Equatable, Sendable {
    /// One logit per class, in label order.
    public var logits: [Float]
    /// Class names in label order (the model file's).
    public var classNames: [String]

    /// `logits` and `classNames` have the model's class count (at least 1) of entries.
    init(logits: [Float], classNames: [String]) {
        self.logits = logits
        self.classNames = classNames
    }

    /// The softmax of the logits, in label order (sums to 1).
    public var probabilities: [Double] {
        let largest = logits.max() ?? 0
        let exps = logits.map { Double(exp($0 - largest)) }
        let total = exps.reduce(0, +)
        return exps.map { $0 / total }
    }

    /// The `k` most probable classes, most probable first (equal logits: lower label first);
    /// all classes when `k` exceeds their count, none when `k ≤ 0`.
    public func topK(_ k: Int) -> [Prediction] {
        let p = probabilities
        let ranked = logits.indices.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
        return ranked.prefix(max(0, k)).map { Prediction(label: $0, name: classNames[$0], probability: p[$0], logit: logits[$0]) }
    }

    /// The most probable class.
    public var best: Prediction { topK(1)[0] }
}

/// One class of a ``Classification``'s ranking.
public struct Prediction: Equatable, Sendable, Encodable {
    /// The class index (0-based, the model's label order).
    public var label: Int
    /// The class name the model file stores for `label`.
    public var name: String
    /// Softmax probability over all classes, 0…1.
    public var probability: Double
    public var logit: Float

    public init(label: Int, name: String, probability: Double, logit: Float) {
        self.label = label
        self.name = name
        self.probability = probability
        self.logit = logit
    }
}
