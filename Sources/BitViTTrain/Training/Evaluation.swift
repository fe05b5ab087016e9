import Foundation
import BitViTModels
import BitViTData

/// Accuracy and loss of a model over a data set, with its confusion matrix.
public struct EvaluationResult: Codable, Equatable, Sendable {
    /// Images evaluated.
    public var count: Int
    /// Mean cross-entropy of the evaluation-mode logits against the labels.
    public var loss: Double
    /// Fractions of images whose label is the top prediction / among the top 5.
    public var top1: Double
    public var top5: Double
    /// `confusion[label][prediction]` counts.
    public var confusion: [[Int]]

    /// Recall of every class (diagonal over row sums).
    public var perClassAccuracy: [Double] {
        confusion.enumerated().map { i, row in
            let n = row.reduce(0, +)
            return n > 0 ? Double(row[i]) / Double(n) : .nan
        }
    }
}

/// The sums an evaluation accumulates, before they become fractions: what processes that
/// evaluated disjoint shards add up (`reduced(over:)`).
public struct EvaluationTally: Equatable, Sendable {
    public var count = 0
    /// Σ cross-entropy over the images.
    public var lossSum = 0.0
    public var top1 = 0
    public var top5 = 0
    /// `confusion[label][prediction]` counts.
    public var confusion: [[Int]]

    public init(classes: Int) {
        confusion = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
    }

    /// The tally over the images of every process of `group` (each evaluated its own shard).
    public func reduced(over group: any ProcessGroup) -> EvaluationTally {
        guard group.isDistributed else { return self }
        // Counts stay exact in double up to 2^53.
        var values = [Double(count), lossSum, Double(top1), Double(top5)] + confusion.joined().map(Double.init)
        group.sum(&values)
        var total = EvaluationTally(classes: confusion.count)
        total.count = Int(values[0])
        total.lossSum = values[1]
        total.top1 = Int(values[2])
        total.top5 = Int(values[3])
        let classes = confusion.count
        for label in 0..<classes {
            for prediction in 0..<classes { total.confusion[label][prediction] = Int(values[4 + label * classes + prediction]) }
        }
        return total
    }

    /// The fractions; throws when no image was evaluated.
    public func result() throws -> EvaluationResult {
        guard count > 0 else { throw BitViTError.invalidArgument("evaluation data is empty") }
        return EvaluationResult(count: count, loss: lossSum / Double(count), top1: Double(top1) / Double(count),
                                top5: Double(top5) / Double(count), confusion: confusion)
    }
}

public enum Evaluator {
    /// Runs `model` in evaluation mode without gradients over every batch of `data` (epoch 0)
    /// and restores its previous mode. Throws `BitViTError.numerical` when an output is not
    /// finite.
    public static func evaluate(_ model: any ImageClassifier, on data: any BatchSource,
                                progress: ((Int, Int) -> Void)? = nil) throws -> EvaluationResult {
        try tally(model, on: data, progress: progress).result()
    }

    /// `evaluate`'s sums, which may cover no image (an empty shard).
    public static func tally(_ model: any ImageClassifier, on data: any BatchSource,
                             progress: ((Int, Int) -> Void)? = nil) throws -> EvaluationTally {
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        let classes = model.classCount
        var tally = EvaluationTally(classes: classes)
        let stream = try data.batches(epoch: 0, from: 0)
        var done = 0
        while let batch = try stream.next() {
            try checkLabels(batch.labels, classes: classes)
            let logits = withNoGrad { model(batch.images).logits }
            if let (i, v) = logits.firstNonFinite {
                throw BitViTError.numerical("the model's output for image \(tally.count + i / classes + 1) is \(v): its weights or the "
                                            + "images hold NaN or infinity, or the network overflows; no accuracy can be reported")
            }
            tally.lossSum += Double(Tensor.crossEntropy(logits: logits, labels: batch.labels).item()) * Double(batch.count)
            for (i, label) in batch.labels.enumerated() {
                let ranked = topK(logits.data + i * classes, count: classes, k: min(5, classes))
                tally.confusion[label][ranked[0]] += 1
                if ranked[0] == label { tally.top1 += 1 }
                if ranked.contains(label) { tally.top5 += 1 }
            }
            tally.count += batch.count
            done += 1
            progress?(done, data.batchesPerEpoch)
        }
        return tally
    }

    /// Row-wise arg-max of `[B, C]` logits (the first maximum on ties, like `torch.argmax`).
    public static func predictions(_ logits: Tensor) -> [Int] {
        let (b, c) = (logits.shape[0], logits.shape[1])
        return (0..<b).map { i in
            let row = logits.data + i * c
            var best = 0
            for j in 1..<c where row[j] > row[best] { best = j }
            return best
        }
    }

    /// Indices of the `k` largest of `count` scores, largest first (lower index first on ties).
    public static func topK(_ scores: UnsafePointer<Float>, count: Int, k: Int) -> [Int] {
        var best: [Int] = []
        for j in 0..<count {
            var pos = best.count
            while pos > 0 && scores[j] > scores[best[pos - 1]] { pos -= 1 }
            if pos < k {
                best.insert(j, at: pos)
                if best.count > k { best.removeLast() }
            }
        }
        return best
    }
}
