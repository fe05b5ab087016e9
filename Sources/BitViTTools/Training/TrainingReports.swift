import BitViTTrain
import Foundation

/// The closing summary of a training run (`bitvit train`).
public func trainingSummary(_ outcome: TrainingSession.Outcome, config: TrainConfig) -> String {
    let s = outcome.summary
    func pct(_ v: Double?) -> String { v.map { String(format: "%.2f %%", 100 * $0) } ?? "–" }
    var lines = [s.interrupted ? "\nInterrupted after \(s.steps) steps." : "\nDone.",
                 "  model            \(config.model.name), \(config.data.dataset)",
                 "  epochs           \(s.epochsCompleted)/\(config.training.epochs) (\(s.steps) steps)"]
    if s.finalTop1 != nil {
        lines.append("  validation top-1 \(pct(s.finalTop1)) last, \(pct(s.bestTop1)) best\(s.bestEpoch.map { " (epoch \($0))" } ?? "")")
    }
    if let t = s.test {
        lines.append("  test top-1       \(pct(t.last.result.top1)) last (top-5 \(pct(t.last.result.top5)))"
                     + (t.best.map { ", \(pct($0.result.top1)) best on validation (epoch \($0.epoch), top-5 \(pct($0.result.top5)))" } ?? ""))
    }
    lines.append(String(format: "  training time    %.1f s (%.0f images/s; this session %.1f s wall)",
                        s.trainingSeconds, s.imagesPerSecond, s.sessionWallSeconds))
    if let last = s.lastCheckpoint { lines.append("  last checkpoint  \(last)") }
    if let best = s.bestCheckpoint { lines.append("  best checkpoint  \(best)") }
    for plot in outcome.plots { lines.append("  curves           \(plot.path)") }
    return lines.joined(separator: "\n")
}

/// `bitvit plot`: draws a run's loss and accuracy curves and, when the run has
/// `diagnostics.jsonl`, its quantizer diagnostics, as SVG and PNG into `output` (default: the
/// run directory). `run` is the run directory or its `metrics.jsonl`; `title` defaults to the
/// run directory's name. Returns the files written.
public func plotRun(_ run: String, output: String? = nil, title: String? = nil) throws -> [URL] {
    var url = URL(fileURLWithPath: run)
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
    var files = try TrainingCurves(records: records, title: title ?? url.lastPathComponent).write(to: destination)
    let diagnostics = url.appendingPathComponent(DiagnosticsLog.fileName)
    if FileManager.default.fileExists(atPath: diagnostics.path) {
        let charts = DiagnosticsCharts(records: try DiagnosticsLog.read(diagnostics), title: title ?? url.lastPathComponent)
        files += try charts.write(to: destination)
    }
    return files
}
