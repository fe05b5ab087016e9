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

public enum Evaluator {
    /// Runs `model` in evaluation mode without gradients over every batch of `data` (epoch 0)
    /// and restores its previous mode. Throws `BitViTError.numerical` when an output is not
    /// finite.
    public static func evaluate(_ model: any ImageClassifier, on data: any BatchSource,
                                progress: ((Int, Int) -> Void)? = nil) throws -> EvaluationResult {
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        let classes = model.classCount
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        var count = 0, top1 = 0, top5 = 0
        var lossSum = 0.0
        let stream = try data.batches(epoch: 0, from: 0)
        var done = 0
        while let batch = try stream.next() {
            try checkLabels(batch.labels, classes: classes)
            let logits = withNoGrad { model(batch.images).logits }
            if let (i, v) = logits.firstNonFinite {
                throw BitViTError.numerical("the model's output for image \(count + i / classes + 1) is \(v): its weights or the "
                                            + "images hold NaN or infinity, or the network overflows; no accuracy can be reported")
            }
            lossSum += Double(Tensor.crossEntropy(logits: logits, labels: batch.labels).item()) * Double(batch.count)
            for (i, label) in batch.labels.enumerated() {
                let ranked = topK(logits.data + i * classes, count: classes, k: min(5, classes))
                confusion[label][ranked[0]] += 1
                if ranked[0] == label { top1 += 1 }
                if ranked.contains(label) { top5 += 1 }
            }
            count += batch.count
            done += 1
            progress?(done, data.batchesPerEpoch)
        }
        guard count > 0 else { throw BitViTError.invalidArgument("evaluation data is empty") }
        return EvaluationResult(count: count, loss: lossSum / Double(count), top1: Double(top1) / Double(count),
                                top5: Double(top5) / Double(count), confusion: confusion)
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
