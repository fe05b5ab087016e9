import BitViTRuntime
import BitViTTrain
import Foundation

/// One trained run of a comparison as the report shows it.
public struct ComparisonRow: Sendable {
    public var name: String
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

    public init(name: String, label: String, tables: [String], cost: ModelCost, testTop1: Double?, lastTestTop1: Double?,
                bestValidationTop1: Double?, bestEpoch: Int?, epochs: Int, trainingSeconds: Double, wallSeconds: Double?,
                records: [MetricsRecord]) {
        self.name = name
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
    }
}

/// Markdown tables and text of a comparison report.
public enum ComparisonTable {
    /// One Markdown table: method, bits, parameters, deployed size, OPs, test top-1 of the
    /// checkpoint selected on validation and of the last weights, the best validation top-1 (and
    /// its epoch), training and wall time.
    public static func markdown(_ rows: [ComparisonRow]) -> String {
        var lines = [
            "| method | W/A | params | size (MB) | OPs (×10⁶) | test top-1 (%) | test top-1, last (%) | best val. top-1 (%) | epochs | training time | wall time |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for r in rows {
            let validation = r.bestValidationTop1.map { percent($0) + (r.bestEpoch.map { " (ep. \($0))" } ?? "") } ?? "—"
            lines.append("| \(r.label) | \(r.cost.precision) | \(grouped(r.cost.parameters)) | "
                         + String(format: "%.3f", Double(r.cost.sizeBytes) / 1e6) + " | " + String(format: "%.2f", r.cost.ops / 1e6)
                         + " | \(r.testTop1.map(percent) ?? "—") | \(r.lastTestTop1.map(percent) ?? "—") | \(validation) | "
                         + "\(r.epochs) | \(duration(r.trainingSeconds)) | \(r.wallSeconds.map(duration) ?? "—") |")
        }
        return lines.joined(separator: "\n") + "\n"
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
