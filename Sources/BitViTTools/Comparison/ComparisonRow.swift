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
    /// Test top-1 after the last epoch, the best over the validated epochs and that epoch.
    public var finalTop1: Double?
    public var bestTop1: Double?
    public var bestEpoch: Int?
    public var epochs: Int
    /// Training seconds (evaluation excluded) from the metrics, and the wall seconds of the
    /// sessions `bitvit compare` ran (data loading, evaluation and checkpoints included; nil
    /// when the run was trained outside the comparison).
    public var trainingSeconds: Double
    public var wallSeconds: Double?
    /// Epoch metrics, for the curves.
    public var records: [MetricsRecord]

    public init(name: String, label: String, tables: [String], cost: ModelCost, finalTop1: Double?, bestTop1: Double?,
                bestEpoch: Int?, epochs: Int, trainingSeconds: Double, wallSeconds: Double?, records: [MetricsRecord]) {
        self.name = name
        self.label = label
        self.tables = tables
        self.cost = cost
        self.finalTop1 = finalTop1
        self.bestTop1 = bestTop1
        self.bestEpoch = bestEpoch
        self.epochs = epochs
        self.trainingSeconds = trainingSeconds
        self.wallSeconds = wallSeconds
        self.records = records
    }
}

/// Markdown tables and text of a comparison report.
public enum ComparisonTable {
    /// One Markdown table: method, bits, parameters, deployed size, OPs, final and best
    /// top-1, training and wall time.
    public static func markdown(_ rows: [ComparisonRow]) -> String {
        var lines = [
            "| method | W/A | params | size (MB) | OPs (×10⁶) | top-1 (%) | best top-1 (%) | epochs | training time | wall time |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for r in rows {
            let best = r.bestTop1.map { percent($0) + (r.bestEpoch.map { " (ep. \($0))" } ?? "") } ?? "—"
            lines.append("| \(r.label) | \(r.cost.precision) | \(grouped(r.cost.parameters)) | "
                         + String(format: "%.3f", Double(r.cost.sizeBytes) / 1e6) + " | " + String(format: "%.2f", r.cost.ops / 1e6)
                         + " | \(r.finalTop1.map(percent) ?? "—") | \(best) | \(r.epochs) | \(duration(r.trainingSeconds)) | "
                         + "\(r.wallSeconds.map(duration) ?? "—") |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `0.4024` → `40.24`.
    static func percent(_ fraction: Double) -> String { String(format: "%.2f", 100 * fraction) }

    /// `1205898` → `1,205,898`.
    static func grouped(_ n: Int) -> String {
        let digits = String(abs(n))
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
            out.append(ch)
        }
        return (n < 0 ? "-" : "") + out
    }

    /// `3725` → `1 h 02 min`, `185` → `3 min 05 s`, `42.4` → `42 s`.
    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s >= 3600 { return String(format: "%d h %02d min", s / 3600, (s % 3600) / 60) }
        if s >= 60 { return String(format: "%d min %02d s", s / 60, s % 60) }
        return "\(s) s"
    }
}
