import ArgumentParser
import BitViTDeploy
import BitViTTrain
import Foundation

struct BenchInfer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Inference speed of a .bitvit model: bit kernels vs float kernels on the same model, same run.",
        discussion: """
            Alternates rounds of the bit-kernel engine and the float-kernel engine (sgemm on the \
            dequantized weights) at batch 1 (median and p90 latency), then measures throughput at \
            a larger batch, then a per-op time breakdown of both at batch 1.
            """)

    @Argument(help: "Model file (.bitvit).") var model: String
    @Option(parsing: .unconditional, help: "Rounds; each round times --iters batch-1 calls of each engine.") var rounds = 7
    @Option(parsing: .unconditional, help: "Batch-1 calls per engine per round.") var iters = 10
    @Option(parsing: .unconditional, help: "Batch size of the throughput measurement.") var batch = 16
    @Option(parsing: .unconditional, help: "Calls per engine for the throughput measurement.") var batchIters = 3
    @Option(parsing: .unconditional, help: "Worker threads (default: all cores).") var threads: Int?
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        try checkOption("--rounds", rounds, 1...10_000)
        try checkOption("--iters", iters, 1...1_000_000)
        try checkOption("--batch", batch, 1...TrainConfig.maxBatchSize)
        try checkOption("--batch-iters", batchIters, 1...1_000_000)
        try checkThreads(threads)
    }

    struct Side: Encodable {
        var latency_ms_median: Double
        var latency_ms_p90: Double
        var throughput_images_per_s: Double
        var ops: [EngineProfiler.Entry]
    }

    struct Report: Encodable {
        var model: String
        var family: String
        var threads: Int
        var blas_core: String
        var kernel_path: String
        var load_average: [Double]
        var input_shape: [Int]
        var bit_kernels: Side
        var float_kernels: Side
        var speedup_latency: Double
        var speedup_throughput: Double
    }

    func run() throws {
        let report = try measure()
        if json { try printJSON(report); return }
        print(report.text(batch: batch, iters: iters))
    }

    /// Loads the model and measures both engines (the JSON report).
    func measure() throws -> Report {
        if let threads { Parallel.threadCount = threads }
        let file = try ModelFile(contentsOf: URL(fileURLWithPath: model))
        let engines = [try InferenceEngine(file), try InferenceEngine(file, floatKernels: true)]
        let shape = engines[0].inputShape
        var rng = RandomGenerator(seed: 1)
        let images = Tensor.randn([max(batch, 1)] + shape, using: &rng)
        let input = UnsafePointer(images.data)
        for e in engines { _ = e.logits(input, batch: 1); _ = e.logits(input, batch: 1) }       // warm-up, buffers
        var samples: [[Double]] = [[], []]
        for _ in 0..<rounds {
            for (i, e) in engines.enumerated() {
                for _ in 0..<iters {
                    let start = DispatchTime.now().uptimeNanoseconds
                    _ = e.logits(input, batch: 1)
                    samples[i].append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                }
            }
        }
        var throughput = [0.0, 0.0]
        for (i, e) in engines.enumerated() {
            _ = e.logits(input, batch: batch)
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<batchIters { _ = e.logits(input, batch: batch) }
            throughput[i] = Double(batch * batchIters) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        var breakdowns: [[EngineProfiler.Entry]] = []
        for e in engines {
            e.profiler.reset()
            e.profiler.isEnabled = true
            for _ in 0..<iters { _ = e.logits(input, batch: 1) }
            e.profiler.isEnabled = false
            breakdowns.append(e.profiler.entries.map { var x = $0; x.seconds /= Double(iters); x.calls /= iters; return x })
        }
        let sides = (0..<2).map { i in
            Side(latency_ms_median: percentile(samples[i], 0.5), latency_ms_p90: percentile(samples[i], 0.9),
                 throughput_images_per_s: throughput[i], ops: breakdowns[i])
        }
        return Report(model: model, family: file.metadata.family.rawValue, threads: Parallel.threadCount,
                      blas_core: BLAS.coreName, kernel_path: "\(BinaryKernels.activePath)", load_average: loadAverage(),
                      input_shape: shape, bit_kernels: sides[0], float_kernels: sides[1],
                      speedup_latency: sides[1].latency_ms_median / sides[0].latency_ms_median,
                      speedup_throughput: sides[0].throughput_images_per_s / sides[1].throughput_images_per_s)
    }
}

extension BenchInfer.Report {
    /// The human-readable report: latencies, throughput, speed-ups and both per-op breakdowns.
    func text(batch: Int, iters: Int) -> String {
        var lines = ["\(model): \(family), input \(input_shape), \(threads) threads, kernels \(kernel_path), "
                     + "BLAS \(blas_core), load average " + load_average.map { String(format: "%.2f", $0) }.joined(separator: " ")]
        for (name, s) in [("bit kernels  ", bit_kernels), ("float kernels", float_kernels)] {
            lines.append(name + String(format: ": batch 1 median %.2f ms, p90 %.2f ms; batch %d %.1f images/s",
                                       s.latency_ms_median, s.latency_ms_p90, batch, s.throughput_images_per_s))
        }
        lines.append(String(format: "speed-up (float / bit): %.2f× at batch 1, %.2f× at batch %d", speedup_latency, speedup_throughput, batch))
        for (name, s) in [("bit kernels", bit_kernels), ("float kernels", float_kernels)] {
            let total = s.ops.reduce(0) { $0 + $1.seconds }
            lines.append("\nper-op time at batch 1, \(name) (mean of \(iters) calls, \(String(format: "%.2f", total * 1e3)) ms profiled):")
            for op in s.ops.sorted(by: { $0.seconds > $1.seconds }) {
                lines.append(String(format: "  %8.3f ms %5.1f %%  ", op.seconds * 1e3, 100 * op.seconds / max(total, 1e-12)) + op.op
                             + (op.calls > 1 ? " (×\(op.calls))" : ""))
            }
        }
        return lines.joined(separator: "\n")
    }
}

/// The `q`-quantile (nearest rank) of `values`.
func percentile(_ values: [Double], _ q: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    let rank = Int((q * Double(sorted.count)).rounded(.up))
    return sorted[min(max(rank - 1, 0), sorted.count - 1)]
}

/// The 1-, 5- and 15-minute load averages.
func loadAverage() -> [Double] {
    var values = [Double](repeating: 0, count: 3)
    return getloadavg(&values, 3) == 3 ? values : []
}
