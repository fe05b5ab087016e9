import Foundation

/// Mean, sample standard deviation and count of one measure over the seeds of a run.
public struct SeedSample: Equatable, Sendable {
    public var values: [Double]

    public init(_ values: [Double]) { self.values = values }

    public var n: Int { values.count }
    public var mean: Double { values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count) }
    /// The sample standard deviation (divisor n − 1); nil for fewer than two values.
    public var standardDeviation: Double? {
        guard n >= 2 else { return nil }
        let m = mean
        return (values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(n - 1)).squareRoot()
    }
    /// The standard error of the mean, sd/√n; nil for fewer than two values.
    public var standardError: Double? { standardDeviation.map { $0 / Double(n).squareRoot() } }
}

/// The difference of the mean of two runs over their seeds, and whether it exceeds their spread.
///
/// The rule: a difference of means exceeds the spread when |Δ| > 2·√(sd₁²/n₁ + sd₂²/n₂), i.e.
/// more than two standard errors of the difference (sample standard deviations over the seeds).
/// With three seeds per run this is a screen, not a significance test at 5 % (Welch's t with
/// about 2–4 degrees of freedom needs 2.8–4.3 standard errors); it says which differences the
/// seed-to-seed variation alone could plausibly produce. Undecided when a run has fewer than two
/// seeds (no spread to compare with).
public struct MeanDifference: Equatable, Sendable {
    /// What is compared and with what (run names and labels).
    public var run: String, label: String
    public var reference: String, referenceLabel: String
    /// mean(run) − mean(reference), same units as the samples.
    public var delta: Double
    /// 2·√(sd₁²/n₁ + sd₂²/n₂); nil when either side has fewer than two seeds.
    public var threshold: Double?

    public static let rule = "a difference of means exceeds the spread when |Δ| > 2·√(sd₁²/n₁ + sd₂²/n₂) "
        + "(two standard errors of the difference, sample standard deviations over the seeds); with three seeds "
        + "this is a screen, not a 5 % significance test"

    public init(run: String, label: String, _ a: SeedSample, reference: String, referenceLabel: String, _ b: SeedSample) {
        self.run = run
        self.label = label
        self.reference = reference
        self.referenceLabel = referenceLabel
        delta = a.mean - b.mean
        if let sa = a.standardDeviation, let sb = b.standardDeviation {
            threshold = 2 * (sa * sa / Double(a.n) + sb * sb / Double(b.n)).squareRoot()
        } else {
            threshold = nil
        }
    }

    /// true: exceeds the spread; false: within it; nil: undecided (a side has one seed).
    public var exceedsSpread: Bool? { threshold.map { abs(delta) > $0 } }
}
