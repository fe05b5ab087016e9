import BitViTCore
import BitViTPlatform
import BitViTRuntime
import Foundation

/// Inference speed and memory of one `.bitvit` file (`bitvit bench infer`): the engine on its
/// bit kernels and, unless `floatKernels` is off, the same file on the float kernels, alternating
/// rounds of batch-1 calls (median and p90 latency), then throughput at `batch`, then a per-op
/// breakdown at batch 1. Random normal images of the model's input shape.
public struct InferenceBenchmark {
    /// The model file (.bitvit).
    public var model: String
    /// Rounds; each times `iterations` batch-1 calls of each engine.
    public var rounds: Int
    public var iterations: Int
    /// Batch of the throughput measurement, and calls at that batch (0: no throughput measurement).
    public var batch: Int
    public var batchIterations: Int
    /// Also measure the float-kernel engine (off: the resident memory is the bit engine's alone).
    public var floatKernels = true

    public init(model: String, rounds: Int = 7, iterations: Int = 10, batch: Int = 16, batchIterations: Int = 3) {
        self.model = model
        self.rounds = rounds
        self.iterations = iterations
        self.batch = batch
        self.batchIterations = batchIterations
    }

    /// One engine's figures.
    public struct Side: Codable, Sendable {
        public var latency_ms_median: Double
        public var latency_ms_p90: Double
        public var throughput_images_per_s: Double?
        /// Seconds per batch-1 call of each op.
        public var ops: [EngineProfiler.Entry]
    }

    /// The JSON report of `bitvit bench infer --json`.
    public struct Report: Codable, Sendable {
        public var model: String
        public var family: String
        public var threads: Int
        public var blas_core: String
        public var kernel_path: String
        public var load_average: [Double]
        public var input_shape: [Int]
        public var bit_kernels: Side
        public var float_kernels: Side?
        public var speedup_latency: Double?
        public var speedup_throughput: Double?
        /// Resident memory of the process before the model file was read and at its peak, in
        /// bytes: their difference is what the engines (file, packed weights, activation buffers
        /// for the batches run) and the input images took.
        public var resident_bytes_before_load: Int
        public var peak_resident_bytes: Int
    }

    public func run() throws -> Report {
        let before = ProcessMemory.currentResidentBytes
        let file = try ModelFile(contentsOf: URL(fileURLWithPath: model))
        var engines = [try InferenceEngine(file)]
        if floatKernels { engines.append(try InferenceEngine(file, floatKernels: true)) }
        let shape = engines[0].inputShape
        var rng = RandomGenerator(seed: 1)
        let images = Tensor.randn([max(batch, 1)] + shape, using: &rng)
        let input = UnsafePointer(images.data)
        for e in engines { _ = e.logits(input, batch: 1); _ = e.logits(input, batch: 1) }       // warm-up, buffers
        var samples = [[Double]](repeating: [], count: engines.count)
        for _ in 0..<rounds {
            for (i, e) in engines.enumerated() {
                for _ in 0..<iterations {
                    let start = DispatchTime.now().uptimeNanoseconds
                    _ = e.logits(input, batch: 1)
                    samples[i].append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                }
            }
        }
        var throughput = [Double?](repeating: nil, count: engines.count)
        if batchIterations > 0 {
            for (i, e) in engines.enumerated() {
                _ = e.logits(input, batch: batch)
                let start = DispatchTime.now().uptimeNanoseconds
                for _ in 0..<batchIterations { _ = e.logits(input, batch: batch) }
                throughput[i] = Double(batch * batchIterations) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
        }
        var breakdowns: [[EngineProfiler.Entry]] = []
        for e in engines {
            e.profiler.reset()
            e.profiler.isEnabled = true
            for _ in 0..<iterations { _ = e.logits(input, batch: 1) }
            e.profiler.isEnabled = false
            breakdowns.append(e.profiler.entries.map { var x = $0; x.seconds /= Double(iterations); x.calls /= iterations; return x })
        }
        let sides = engines.indices.map { i in
            Side(latency_ms_median: Self.percentile(samples[i], 0.5), latency_ms_p90: Self.percentile(samples[i], 0.9),
                 throughput_images_per_s: throughput[i], ops: breakdowns[i])
        }
        let float = sides.count > 1 ? sides[1] : nil
        return Report(model: model, family: file.metadata.family.rawValue, threads: Parallel.threadCount,
                      blas_core: BLAS.coreName, kernel_path: "\(BinaryKernels.activePath)", load_average: Self.loadAverage(),
                      input_shape: shape, bit_kernels: sides[0], float_kernels: float,
                      speedup_latency: float.map { $0.latency_ms_median / sides[0].latency_ms_median },
                      speedup_throughput: float.flatMap { f in f.throughput_images_per_s.flatMap { ft in sides[0].throughput_images_per_s.map { $0 / ft } } },
                      resident_bytes_before_load: before, peak_resident_bytes: ProcessMemory.peakResidentBytes)
    }

    /// The `q`-quantile (nearest rank) of `values`.
    public static func percentile(_ values: [Double], _ q: Double) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        let rank = Int((q * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank - 1, 0), sorted.count - 1)]
    }

    /// The 1-, 5- and 15-minute load averages.
    public static func loadAverage() -> [Double] {
        var values = [Double](repeating: 0, count: 3)
        return getloadavg(&values, 3) == 3 ? values : []
    }
}

extension InferenceBenchmark.Report {
    /// The human-readable report: latencies, throughput, speed-ups, memory and the per-op breakdowns.
    public func text(batch: Int, iters iterations: Int) -> String {
        var lines = ["\(model): \(family), input \(input_shape), \(threads) threads, kernels \(kernel_path), "
                     + "BLAS \(blas_core), load average " + load_average.map { String(format: "%.2f", $0) }.joined(separator: " ")]
        let sides = [("bit kernels  ", bit_kernels)] + (float_kernels.map { [("float kernels", $0)] } ?? [])
        for (name, s) in sides {
            let rate = s.throughput_images_per_s.map { String(format: "; batch %d %.1f images/s", batch, $0) } ?? ""
            lines.append(name + String(format: ": batch 1 median %.2f ms, p90 %.2f ms", s.latency_ms_median, s.latency_ms_p90) + rate)
        }
        if let l = speedup_latency {
            lines.append(String(format: "speed-up (float / bit): %.2f× at batch 1", l)
                         + (speedup_throughput.map { String(format: ", %.2f× at batch %d", $0, batch) } ?? ""))
        }
        lines.append(String(format: "resident memory: %.1f MB before loading, %.1f MB peak", Double(resident_bytes_before_load) / 1e6,
                            Double(peak_resident_bytes) / 1e6))
        for (name, s) in sides {
            let total = s.ops.reduce(0) { $0 + $1.seconds }
            lines.append("\nper-op time at batch 1, \(name.trimmingCharacters(in: .whitespaces)) (mean of \(iterations) calls, "
                         + "\(String(format: "%.2f", total * 1e3)) ms profiled):")
            for op in s.ops.sorted(by: { $0.seconds > $1.seconds }) {
                lines.append(String(format: "  %8.3f ms %5.1f %%  ", op.seconds * 1e3, 100 * op.seconds / max(total, 1e-12)) + op.op
                             + (op.calls > 1 ? " (×\(op.calls))" : ""))
            }
        }
        return lines.joined(separator: "\n")
    }
}
