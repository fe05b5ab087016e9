import BitViTCore
import BitViTRuntime
import Foundation

/// Inference speed of a `.bitvit` model (`bitvit bench infer`): rounds of the bit-kernel engine
/// and the float-kernel engine (sgemm on the dequantized weights) alternate at batch 1 (median
/// and p90 latency), then throughput at a larger batch, then a per-op time breakdown of both at
/// batch 1.
public struct InferenceBenchmark {
    /// The model file (.bitvit).
    public var model: String
    /// Rounds; each times `iterations` batch-1 calls of each engine.
    public var rounds: Int
    /// Batch-1 calls per engine per round.
    public var iterations: Int
    /// Batch size of the throughput measurement.
    public var batch: Int
    /// Calls per engine for the throughput measurement.
    public var batchIterations: Int

    public init(model: String, rounds: Int = 7, iterations: Int = 10, batch: Int = 16, batchIterations: Int = 3) {
        self.model = model
        self.rounds = rounds
        self.iterations = iterations
        self.batch = batch
        self.batchIterations = batchIterations
    }

    public struct Side: Encodable {
        public var latency_ms_median: Double
        public var latency_ms_p90: Double
        public var throughput_images_per_s: Double
        public var ops: [EngineProfiler.Entry]
    }

    public struct Report: Encodable {
        public var model: String
        public var family: String
        public var threads: Int
        public var blas_core: String
        public var kernel_path: String
        public var load_average: [Double]
        public var input_shape: [Int]
        public var bit_kernels: Side
        public var float_kernels: Side
        public var speedup_latency: Double
        public var speedup_throughput: Double
    }

    /// Loads the model and measures both engines.
    public func run() throws -> Report {
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
                for _ in 0..<iterations {
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
            for _ in 0..<batchIterations { _ = e.logits(input, batch: batch) }
            throughput[i] = Double(batch * batchIterations) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        var breakdowns: [[EngineProfiler.Entry]] = []
        for e in engines {
            e.profiler.reset()
            e.profiler.isEnabled = true
            for _ in 0..<iterations { _ = e.logits(input, batch: 1) }
            e.profiler.isEnabled = false
            breakdowns.append(e.profiler.entries.map { var x = $0; x.seconds /= Double(iterations); x.calls /= iterations; return x })
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

extension InferenceBenchmark.Report {
    /// The human-readable report: latencies, throughput, speed-ups and both per-op breakdowns.
    public func text(batch: Int, iters: Int) -> String {
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
