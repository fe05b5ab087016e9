import BitViTRuntime
import BitViTTools
import BitViTTrain
import Foundation

/// Exports the best checkpoint as `<run>/model.bitvit` and reports what the file stores.
struct ExportStage: DemoStage {
    let title = "Export a bit-packed deployment file"

    func run(_ context: inout DemoContext) throws -> [String] {
        guard let checkpoint = context.bestCheckpoint else { return [] }
        let url = context.runDirectory.appendingPathComponent("model.bitvit")
        try ExportCommand.parse([checkpoint.path, "--output", url.path]).run()
        context.modelFile = url
        let file = try ModelFile(contentsOf: url)
        let cost = ModelCost(file: file)
        let checkpointBytes = (try? FileManager.default.attributesOfItem(atPath: checkpoint.path)[.size] as? Int) ?? nil
        var line = "deployment file      \(url.path): \(grouped(file.fileSize)) bytes"
        if let checkpointBytes {
            line += String(format: " (%.1f× smaller than the float32 weights of the checkpoint, %@ bytes)",
                           Double(checkpointBytes) / Double(file.fileSize), grouped(checkpointBytes))
        }
        let storage = cost.storage.map { "\($0.name) \(grouped($0.values)) values" }.joined(separator: ", ")
        return [line, "stored as            \(storage)"]
    }
}

/// Runs the whole test split through the training graph and through the engine (bit and float
/// kernels) and reports their top-1 agreement.
struct ParityStage: DemoStage {
    let title = "Engine vs training graph on the test split"

    func run(_ context: inout DemoContext) throws -> [String] {
        guard let checkpoint = context.bestCheckpoint, let model = context.modelFile else { return [] }
        let report = try ParityCommand.parse([checkpoint.path, "--model", model.path]).measure()
        print(report.text)
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
        let (batch, iters) = (64, 20)
        var bench = InferenceBenchmark(model: model.path)
        (bench.rounds, bench.iterations, bench.batch) = (5, iters, batch)
        let report = try bench.run()
        print(report.text(batch: batch, iterations: iters))
        guard let float = report.float_kernels else { return [] }
        let bit = report.bit_kernels
        return [
            String(format: "batch-1 latency      %.3f ms bit kernels vs %.3f ms float kernels (%.1f× faster; p90 %.3f vs %.3f ms)",
                   bit.latency_ms_median, float.latency_ms_median, report.speedup_latency ?? 0, bit.latency_ms_p90, float.latency_ms_p90),
            String(format: "throughput           %.0f vs %.0f images/s at batch %d (%.1f×)",
                   bit.throughput_images_per_s ?? 0, float.throughput_images_per_s ?? 0, batch, report.speedup_throughput ?? 0),
        ]
    }
}
