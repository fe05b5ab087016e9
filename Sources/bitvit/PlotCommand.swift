import ArgumentParser
import BitViTTrain
import Foundation

struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Draw a run's loss and accuracy curves (train and validation) and, when it has diagnostics.jsonl, its quantizer diagnostics, as SVG and PNG.")

    @Argument(help: "Run directory holding metrics.jsonl (or the metrics file itself).") var runDirectory: String
    @Option(help: "Output directory (default: the run directory).") var output: String?
    @Option(help: "Figure title (default: the run directory's name).") var title: String?

    func run() throws {
        var url = URL(fileURLWithPath: runDirectory)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw BitViTError.missing(url.path)
        }
        let metrics = isDirectory.boolValue ? url.appendingPathComponent("metrics.jsonl") : url
        if !isDirectory.boolValue { url.deleteLastPathComponent() }
        let records = try MetricsLog.read(metrics)
        guard records.contains(where: { $0.type == "epoch" }) else {
            throw BitViTError.malformed(file: metrics.path, reason: "holds no epoch record yet; plot after the first epoch")
        }
        let destination = output.map { URL(fileURLWithPath: $0) } ?? url
        let curves = TrainingCurves(records: records, title: title ?? url.lastPathComponent)
        for file in try curves.write(to: destination) { print(file.path) }
        let diagnostics = url.appendingPathComponent(DiagnosticsLog.fileName)
        if FileManager.default.fileExists(atPath: diagnostics.path) {
            let charts = DiagnosticsCharts(records: try DiagnosticsLog.read(diagnostics), title: title ?? url.lastPathComponent)
            for file in try charts.write(to: destination) { print(file.path) }
        }
    }
}
