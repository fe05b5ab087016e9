import BitViTRuntime
import BitViTTrain
import Foundation

/// One trained run of a comparison (one seed of it) as the report shows it.
public struct ComparisonRow: Sendable {
    public var name: String
    /// The training seed the plan gave (nil: the recipe's).
    public var seed: Int?
    public var label: String
    /// The tables that show the row (`main`, `ablation`, …).
    public var tables: [String]
    public var cost: ModelCost
    /// Test top-1 of the checkpoint selected on validation (of the last weights when the run had
    /// no validation), measured once after training (`test.json`).
    public var testTop1: Double?
    /// Test top-1 of the last weights.
    public var lastTestTop1: Double?
    /// The best validation top-1 and its epoch (the selected checkpoint).
    public var bestValidationTop1: Double?
    public var bestEpoch: Int?
    public var epochs: Int
    /// Training seconds (evaluation excluded) from the metrics, and the wall seconds of the
    /// invocations of `bitvit compare` that trained it (data loading, evaluation and checkpoints included; nil
    /// when the run was trained outside the comparison).
    public var trainingSeconds: Double
    public var wallSeconds: Double?
    /// Epoch metrics, for the curves.
    public var records: [MetricsRecord]
    /// The number of test images measured (nil: no test report).
    public var testImages: Int?

    public init(name: String, seed: Int? = nil, label: String, tables: [String], cost: ModelCost, testTop1: Double?,
                lastTestTop1: Double?, bestValidationTop1: Double?, bestEpoch: Int?, epochs: Int, trainingSeconds: Double,
                wallSeconds: Double?, records: [MetricsRecord], testImages: Int? = nil) {
        self.name = name
        self.seed = seed
        self.label = label
        self.tables = tables
        self.cost = cost
        self.testTop1 = testTop1
        self.lastTestTop1 = lastTestTop1
        self.bestValidationTop1 = bestValidationTop1
        self.bestEpoch = bestEpoch
        self.epochs = epochs
        self.trainingSeconds = trainingSeconds
        self.wallSeconds = wallSeconds
        self.records = records
        self.testImages = testImages
    }
}

/// Markdown tables and text of a comparison report.
public enum ComparisonTable {
    /// One Markdown table of single runs (each row its own run; rows of one run name are
    /// summarized together).
    public static func markdown(_ rows: [ComparisonRow]) -> String {
        markdown(ComparisonSummary.summarize(rows))
    }

    /// One Markdown table: method, bits, parameters, deployed size, OPs, seeds, and over the
    /// seeds mean ± sample standard deviation of the test top-1 of the checkpoint selected on
    /// validation and of the last weights, of the best validation top-1 and of the training
    /// time; wall time summed over the seeds. A single seed shows its value alone.
    public static func markdown(_ rows: [ComparisonSummary]) -> String {
        var lines = [
            "| method | W/A | params | size (MB) | OPs (×10⁶) | seeds | test top-1 (%) | test top-1, last (%) | best val. top-1 (%) | epochs | training time | wall time (all seeds) |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for r in rows {
            lines.append("| \(r.label) | \(r.cost.precision) | \(grouped(r.cost.parameters)) | "
                         + String(format: "%.3f", Double(r.cost.sizeBytes) / 1e6) + " | " + String(format: "%.2f", r.cost.ops / 1e6)
                         + " | \(r.rows.count) | \(spread(r.testTop1, percent: true)) | \(spread(r.lastTestTop1, percent: true)) | "
                         + "\(spread(r.bestValidationTop1, percent: true)) | \(r.epochs) | \(durationSpread(r.trainingSeconds)) | "
                         + "\(r.wallSeconds.map(duration) ?? "—") |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Test top-1 (of the checkpoint selected on validation) of every seed, one row per run;
    /// nil when no run has more than one seed.
    public static func perSeedMarkdown(_ rows: [ComparisonSummary]) -> String? {
        var seeds: [Int] = []
        for seed in rows.flatMap({ $0.seeds.compactMap { $0 } }) where !seeds.contains(seed) { seeds.append(seed) }
        guard rows.contains(where: { $0.rows.count > 1 }) else { return nil }
        var lines = ["| method | " + seeds.map { "seed \($0)" }.joined(separator: " | ") + " |",
                     "| --- |" + String(repeating: " ---: |", count: seeds.count)]
        for r in rows {
            let cells = seeds.map { seed -> String in
                guard let row = r.rows.first(where: { $0.seed == seed }), let top1 = row.testTop1 else { return "—" }
                return percent(top1) + (row.bestEpoch.map { " (ep. \($0))" } ?? "")
            }
            lines.append("| \(r.label) | " + cells.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One line per difference: `- A − B: +3.21 points (threshold 2.20): exceeds the spread.`
    public static func differencesMarkdown(_ differences: [MeanDifference]) -> String {
        differences.map { d in
            let verdict: String
            switch d.exceedsSpread {
            case true?: verdict = "**exceeds the spread**"
            case false?: verdict = "within the spread"
            case nil: verdict = "undecided (a single seed has no spread)"
            }
            let threshold = d.threshold.map { ", threshold " + String(format: "%.2f", 100 * $0) } ?? ""
            return "- \(d.label) − \(d.referenceLabel): " + String(format: "%+.2f", 100 * d.delta) + " points\(threshold): \(verdict)."
        }.joined(separator: "\n") + "\n"
    }

    /// `mean ± sd` (`percent`: of fractions, in percent); the value alone for one seed; `—` for none.
    static func spread(_ sample: SeedSample, percent inPercent: Bool) -> String {
        guard sample.n > 0 else { return "—" }
        let scale = inPercent ? 100.0 : 1.0
        let mean = String(format: "%.2f", scale * sample.mean)
        return sample.standardDeviation.map { mean + " ± " + String(format: "%.2f", scale * $0) } ?? mean
    }

    /// `4 min 01 s ± 12 s`, or the duration alone for one seed.
    static func durationSpread(_ sample: SeedSample) -> String {
        guard sample.n > 0 else { return "—" }
        return duration(sample.mean) + (sample.standardDeviation.map { " ± " + duration($0) } ?? "")
    }

    /// `0.4024` → `40.24`.
    static func percent(_ fraction: Double) -> String { String(format: "%.2f", 100 * fraction) }

    /// `3725` → `1 h 02 min`, `185` → `3 min 05 s`, `42.4` → `42 s`.
    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s >= 3600 { return String(format: "%d h %02d min", s / 3600, (s % 3600) / 60) }
        if s >= 60 { return String(format: "%d min %02d s", s / 60, s % 60) }
        return "\(s) s"
    }
}
