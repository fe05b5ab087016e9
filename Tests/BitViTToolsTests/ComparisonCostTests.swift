import BitViTExport
import BitViTModels
import BitViTRuntime
import BitViTTools
import BitViTTrain
import Foundation
import Testing

/// The committed comparison reports are what their plans give: the size and OPs columns come
/// from `ModelCost` (every run, built from its recipe and overrides, costs what its report row
/// says), and a plan that keeps records has the report its records give, word for word.
@Suite("Comparison costs")
struct ComparisonCostTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test("Report columns W/A, params, size and OPs", arguments: ["fashion-mnist", "fashion-mnist-12ep"])
    func reportColumns(_ name: String) throws {
        var plan = try ComparisonPlan.load(Self.root.appendingPathComponent("comparisons/\(name).yaml"))
        let report = try String(contentsOf: Self.root.appendingPathComponent(plan.report), encoding: .utf8)
        var rows: [String: [String]] = [:]
        for line in report.split(separator: "\n") where line.hasPrefix("| ") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            if cells.count >= 10 { rows[cells[0]] = cells }
        }
        for i in plan.runs.indices { plan.runs[i].recipe = Self.root.appendingPathComponent(plan.runs[i].recipe).path }
        let runner = ComparisonRunner(plan: plan)
        for run in plan.runs {
            let cells = try #require(rows[run.label], "no report row for \(run.label)")
            let model = try ModelZoo.make(try runner.config(for: run).model)
            let row = ComparisonRow(name: run.name, label: run.label, tables: [], cost: try ModelCost(model: model), testTop1: nil,
                                    lastTestTop1: nil, bestValidationTop1: nil, bestEpoch: nil, epochs: 0, trainingSeconds: 0,
                                    wallSeconds: nil, records: [])
            let computed = ComparisonTable.markdown([row]).split(separator: "\n")[2].split(separator: "|")
                .map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(Array(computed[0..<5]) == Array(cells[0..<5]), "\(name) \(run.name)")
        }
    }

    @Test("Reports regenerate from the committed records", arguments: ["fashion-mnist-12ep"])
    func reportFromRecords(_ name: String) throws {
        let original = try ComparisonPlan.load(Self.root.appendingPathComponent("comparisons/\(name).yaml"))
        let committed = try String(contentsOf: Self.root.appendingPathComponent(original.report), encoding: .utf8)
        // The runner reads the recipes and records from the repository, whatever the working directory.
        var plan = original
        for i in plan.runs.indices { plan.runs[i].recipe = Self.root.appendingPathComponent(plan.runs[i].recipe).path }
        plan.records = Self.root.appendingPathComponent(try #require(plan.records)).path
        // No run directories: the rows come from the records alone (and none is written).
        plan.output = FileManager.default.temporaryDirectory.appendingPathComponent("bitvit-no-runs-\(UUID().uuidString)").path
        var runner = ComparisonRunner(plan: plan)
        runner.log = { _ in }
        let rows = try runner.rows()
        #expect(!rows.isEmpty)
        let text = ComparisonReport(plan: original, rows: rows, command: "bitvit compare comparisons/\(name).yaml").text
        #expect(text == committed, "docs differ from `bitvit compare comparisons/\(name).yaml --report-only`")
    }
}
