import BitViTRuntime
import Foundation

/// Exports the best checkpoint as `<run>/model.bitvit` and reports what the file stores.
struct ExportStage: DemoStage {
    let title = "Export a bit-packed deployment file"

    func run(_ context: inout DemoContext) throws -> [String] {
        guard let checkpoint = context.bestCheckpoint else { return [] }
        let url = context.runDirectory.appendingPathComponent("model.bitvit")
        let summary = try CheckpointExport.export(checkpoint: checkpoint.path, to: url.path)
        context.log(summary.text)
        context.modelFile = url
        let checkpointBytes = (try? FileManager.default.attributesOfItem(atPath: checkpoint.path)[.size] as? Int) ?? nil
        var line = "deployment file      \(url.path): \(grouped(summary.fileBytes)) bytes"
        if let checkpointBytes {
            line += String(format: " (%.1f× smaller than the float32 weights of the checkpoint, %@ bytes)",
                           Double(checkpointBytes) / Double(summary.fileBytes), grouped(checkpointBytes))
        }
        let storage = summary.cost.storage.map { "\($0.name) \(grouped($0.values)) values" }.joined(separator: ", ")
        return [line, "stored as            \(storage)"]
    }
}

/// Runs the whole test split through the training graph and through the engine (bit and float
/// kernels) and reports their top-1 agreement.
struct ParityStage: DemoStage {
    let title = "Engine vs training graph on the test split"

    func run(_ context: inout DemoContext) throws -> [String] {
        guard let checkpoint = context.bestCheckpoint, let model = context.modelFile else { return [] }
        let report = try ParityCheck(checkpoint: checkpoint.path, model: model.path).run()
        context.log(report.text)
        let c = report.kernels
        return [String(format: "engine (bit kernels) top-1 %.2f %%, agrees with the training graph on %.2f %% of %d test images",
                       100 * Double(c.correct) / Double(max(c.images, 1)), 100 * c.agreement, c.images)]
    }
}

/// Times the exported model at batch 1 with the bit kernels and with float kernels (sgemm on
/// the dequantized weights), alternating, in the same process.
struct BenchmarkStage: DemoStage {
    let title = "Benchmark: bit kernels vs float kernels, batch 1"

    func run(_ context: inout DemoContext) throws -> [String] {
        guard let model = context.modelFile else { return [] }
        var benchmark = context.demo.benchmark
        benchmark.model = model.path
        let report = try benchmark.run()
        context.log(report.text(batch: benchmark.batch, iters: benchmark.iterations))
        guard let float = report.float_kernels else { return [] }
        let bit = report.bit_kernels
        return [
            String(format: "batch-1 latency      %.3f ms bit kernels vs %.3f ms float kernels (%.1f× faster; p90 %.3f vs %.3f ms)",
                   bit.latency_ms_median, float.latency_ms_median, report.speedup_latency ?? 0, bit.latency_ms_p90, float.latency_ms_p90),
            String(format: "throughput           %.0f vs %.0f images/s at batch %d (%.1f×)",
                   bit.throughput_images_per_s ?? 0, float.throughput_images_per_s ?? 0, benchmark.batch, report.speedup_throughput ?? 0),
        ]
    }
}
