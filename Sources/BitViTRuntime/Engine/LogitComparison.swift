/// Accumulates how closely one set of logits follows a reference (the engine against the
/// training graph in evaluation mode): top-1 agreement and logit errors.
public struct LogitComparison: Codable, Sendable, Equatable {
    public private(set) var images = 0
    /// Images whose arg-max (first maximum on ties) equals the reference's.
    public private(set) var agreements = 0
    /// Largest |candidate − reference| over all logits.
    public private(set) var maxAbsoluteError: Float = 0
    /// Largest |reference| seen, to relate the error to the logits' scale.
    public private(set) var maxReference: Float = 0
    /// Sum of |candidate − reference| over all logits (for the mean).
    public private(set) var absoluteErrorSum: Double = 0
    public private(set) var logits = 0
    /// Images whose candidate arg-max equals the label (when labels are given).
    public private(set) var correct = 0
    public private(set) var referenceCorrect = 0
    /// Images with some logit off by more than `tolerance` (with hard quantizer thresholds, a
    /// rounding difference can flip one binary decision and move a logit visibly).
    public private(set) var imagesBeyondTolerance = 0
    public let tolerance: Float

    public init(tolerance: Float = 1e-3) { self.tolerance = tolerance }

    /// Adds `batch` images of `classes` logits each (row-major).
    public mutating func add(candidate: [Float], reference: UnsafePointer<Float>, batch: Int, classes: Int, labels: [Int]? = nil) {
        precondition(candidate.count == batch * classes)
        for i in 0..<batch {
            let row = i * classes
            var best = 0, refBest = 0
            var worst: Float = 0
            for j in 0..<classes {
                let a = candidate[row + j], r = reference[row + j]
                let e = abs(a - r)
                worst = max(worst, e.isNaN ? .infinity : e)
                if !(e <= maxAbsoluteError) { maxAbsoluteError = e.isNaN ? .infinity : e }
                maxReference = max(maxReference, abs(r))
                absoluteErrorSum += Double(e)
                if a > candidate[row + best] { best = j }
                if r > reference[row + refBest] { refBest = j }
            }
            images += 1
            logits += classes
            if worst > tolerance { imagesBeyondTolerance += 1 }
            if best == refBest { agreements += 1 }
            if let labels {
                if best == labels[i] { correct += 1 }
                if refBest == labels[i] { referenceCorrect += 1 }
            }
        }
    }

    /// Fraction of images with the same top-1 prediction.
    public var agreement: Double { images > 0 ? Double(agreements) / Double(images) : 0 }
    public var meanAbsoluteError: Double { logits > 0 ? absoluteErrorSum / Double(logits) : 0 }
    /// `maxAbsoluteError / maxReference`.
    public var relativeError: Float { maxReference > 0 ? maxAbsoluteError / maxReference : maxAbsoluteError }
}
