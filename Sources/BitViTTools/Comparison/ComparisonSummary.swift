import BitViTRuntime
import BitViTTrain
import Foundation

/// One run of a comparison over its seeds, as a report row shows it: mean, standard deviation
/// and count of every measured quantity, the cost once (it does not depend on the seed).
public struct ComparisonSummary: Sendable {
    public var name: String
    public var label: String
    public var tables: [String]
    public var cost: ModelCost
    /// The seeds that finished (nil: the recipe's seed).
    public var seeds: [Int?]
    /// Test top-1 of the checkpoint selected on validation, over the seeds (fractions).
    public var testTop1: SeedSample
    /// Test top-1 of the last weights.
    public var lastTestTop1: SeedSample
    /// Best validation top-1.
    public var bestValidationTop1: SeedSample
    /// Epochs trained (of the first seed; every seed trains the same recipe).
    public var epochs: Int
    /// Training seconds (evaluation excluded).
    public var trainingSeconds: SeedSample
    /// Wall seconds summed over the seeds (nil when none was recorded).
    public var wallSeconds: Double?
    /// Epoch metrics averaged over the seeds, for the curves.
    public var records: [MetricsRecord]
    /// The single rows, one per seed.
    public var rows: [ComparisonRow]

    /// Groups rows by run name, in order of first appearance.
    public static func summarize(_ rows: [ComparisonRow]) -> [ComparisonSummary] {
        var names: [String] = []
        for row in rows where !names.contains(row.name) { names.append(row.name) }
        return names.map { name in ComparisonSummary(rows: rows.filter { $0.name == name }) }
    }

    /// The summary of the seeds of one run (`rows` non-empty, all of the same run).
    public init(rows: [ComparisonRow]) {
        let first = rows[0]
        name = first.name
        label = first.label
        tables = first.tables
        cost = first.cost
        seeds = rows.map(\.seed)
        testTop1 = SeedSample(rows.compactMap(\.testTop1))
        lastTestTop1 = SeedSample(rows.compactMap(\.lastTestTop1))
        bestValidationTop1 = SeedSample(rows.compactMap(\.bestValidationTop1))
        epochs = first.epochs
        trainingSeconds = SeedSample(rows.map(\.trainingSeconds))
        let walls = rows.compactMap(\.wallSeconds)
        wallSeconds = walls.isEmpty ? nil : walls.reduce(0, +)
        records = Self.meanRecords(rows.map(\.records))
        self.rows = rows
    }

    /// Per epoch, the mean over the runs that have it of training loss, training and validation
    /// top-1 and elapsed seconds.
    static func meanRecords(_ runs: [[MetricsRecord]]) -> [MetricsRecord] {
        let epochs = Set(runs.flatMap { $0.map(\.epoch) }).sorted()
        return epochs.compactMap { epoch in
            let records = runs.compactMap { $0.last { $0.epoch == epoch } }
            guard let first = records.first else { return nil }
            func mean(_ values: [Double]) -> Double? { values.isEmpty ? nil : values.reduce(0, +) / Double(values.count) }
            return MetricsRecord(type: first.type, epoch: epoch, step: first.step, lr: first.lr,
                                 trainLoss: mean(records.map(\.trainLoss)) ?? .nan, trainTop1: mean(records.compactMap(\.trainTop1)),
                                 valTop1: mean(records.compactMap(\.valTop1)),
                                 elapsedSeconds: mean(records.map(\.elapsedSeconds)) ?? 0)
        }
    }
}
