import BitViTCore
import BitViTModels
import BitViTTrain
import Foundation

/// Times full training steps (forward, cross-entropy, backward, AdamW) of a DeiT geometry on
/// random data, like `../shared/bench/torch_vit_bench.py train`.
///
/// With a `group` of several processes (data parallelism) every process runs `batch / processes`
/// images per step and the gradients are averaged as in training (`GradientAverager`); the
/// result then also holds the time each step waited for the gradient sums and the bandwidth of
/// a sum of the gradients' size measured alone.
public struct TrainingBenchmark {
    public struct Result: Codable {
        public var imagesPerSecond: Double
        public var millisecondsPerStep: Double
        public var peakMemoryBytes: Int
        public var peakTensorBytes: Int
        public var threads: Int
        public var blasCore: String
        public var blasCoreSelection: String
        public var parameters: Int
        public var batch: Int
        public var iterations: Int
        /// Processes sharing each step (1 without data parallelism).
        public var processes = 1
        /// CPU seconds (user + system, all threads, summed over the processes) per step: the
        /// work a step costs, less sensitive than wall time to other programs on the machine.
        public var cpuSecondsPerStep: Double?
        /// Per step: milliseconds spent waiting for the gradient sums after the backward pass
        /// (the communication the backward pass did not hide).
        public var allreduceWaitMillisecondsPerStep: Double?
        /// One sum of all gradients alone: milliseconds, and the bus bandwidth in GB/s
        /// (`2·(p−1)/p · bytes / time`, the figure a ring allreduce is limited by).
        public var allreduceMilliseconds: Double?
        public var allreduceBusGigabytesPerSecond: Double?

        enum CodingKeys: String, CodingKey {
            case imagesPerSecond = "images_per_second", millisecondsPerStep = "ms_per_step"
            case peakMemoryBytes = "peak_memory_bytes", peakTensorBytes = "peak_tensor_bytes"
            case threads, blasCore = "blas_core", blasCoreSelection = "blas_core_selection"
            case parameters, batch, iterations, processes, cpuSecondsPerStep = "cpu_seconds_per_step"
            case allreduceWaitMillisecondsPerStep = "allreduce_wait_ms_per_step", allreduceMilliseconds = "allreduce_ms"
            case allreduceBusGigabytesPerSecond = "allreduce_bus_gb_per_second"
        }
    }

    public var config: ViTConfig
    public var batch: Int
    public var warmup = 2
    public var iterations = 5
    /// Collect per-op times during the timed steps (`OpProfiler`).
    public var profile = false
    /// The processes sharing every step (`batch` is the global batch).
    public var group: any ProcessGroup = SingleProcessGroup()
    /// Gradient buckets (bytes) and whether their sums overlap the backward pass.
    public var bucketBytes = 25_000_000
    public var overlap = true

    public init(config: ViTConfig, batch: Int, iterations: Int = 5) {
        self.config = config
        self.batch = batch
        self.iterations = iterations
    }

    public func run() throws -> Result {
        try config.validate()
        try FieldRules().count("batch", batch, 1...TrainConfig.maxBatchSize)
        try FieldRules().count("iterations", iterations, 1...1_000_000)
        let processes = group.worldSize
        guard batch % processes == 0 else {
            throw BitViTError.invalidArgument("--batch \(batch) does not split evenly over \(processes) processes")
        }
        let local = batch / processes
        let model = try DeiT(config, seed: 0)
        model.train()
        var rng = RandomGenerator(seed: UInt64(group.rank))
        let images = Tensor.randn([local, config.inChannels, config.imageSize, config.imageSize], using: &rng)
        let labels = (0..<local).map { _ in rng.nextInt(below: config.classes) }
        let optimizer = AdamW(parameters: model.namedParameters(), learningRate: 1e-3)
        let averager = group.isDistributed
            ? GradientAverager(parameters: model.parameters, group: group, bucketBytes: bucketBytes, overlaps: overlap) : nil
        func step() {
            model.zeroGrad()
            let loss = Tensor.crossEntropy(logits: model(images).logits, labels: labels)
            if let averager {
                averager.beginStep()
                loss.backward(onLeafGradient: averager.overlaps ? averager.gradientIsReady : nil)
                averager.finishStep()
            } else {
                loss.backward()
            }
            optimizer.step()
        }
        for _ in 0..<warmup { step() }
        BufferPool.shared.resetPeak()
        OpProfiler.isEnabled = profile
        defer { OpProfiler.isEnabled = false }
        averager?.resetTimers()
        _ = group.anyTrue(false)  // start the clocks together
        let start = DispatchTime.now().uptimeNanoseconds
        let cpuStart = ProcessMemory.cpuSeconds
        OpProfiler.reset()
        for _ in 0..<iterations { step() }
        var cpu = [ProcessMemory.cpuSeconds - cpuStart]
        _ = group.anyTrue(false)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(iterations)
        group.sum(&cpu)
        var result = Result(imagesPerSecond: Double(batch) / seconds, millisecondsPerStep: seconds * 1000,
                            peakMemoryBytes: ProcessMemory.peakResidentBytes,
                            peakTensorBytes: BufferPool.shared.peakLiveBytes, threads: Parallel.threadCount,
                            blasCore: BLAS.coreName, blasCoreSelection: BLAS.coreSelection, parameters: model.parameterCount,
                            batch: batch, iterations: iterations)
        result.cpuSecondsPerStep = cpu[0] / Double(iterations)
        if let averager {
            result.processes = processes
            result.allreduceWaitMillisecondsPerStep = averager.waitSeconds * 1000 / Double(iterations)
            let sum = Self.measureSum(values: model.parameterCount, group: group)
            result.allreduceMilliseconds = sum.seconds * 1000
            result.allreduceBusGigabytesPerSecond = sum.busBytesPerSecond / 1e9
        }
        return result
    }

    /// Seconds of one sum of `values` floats over `group` (the median of several), and the bus
    /// bandwidth that implies (`2·(p−1)/p · bytes / seconds`).
    public static func measureSum(values: Int, group: any ProcessGroup, repeats: Int = 7)
        -> (seconds: Double, busBytesPerSecond: Double) {
        var buffer = [Float](repeating: 1, count: values)
        var times: [Double] = []
        for _ in 0..<repeats {
            _ = group.anyTrue(false)
            let start = DispatchTime.now().uptimeNanoseconds
            group.sum(&buffer)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        // Every process reports the same figure: the slowest process's median.
        var medians = [Double](repeating: 0, count: group.worldSize)
        medians[group.rank] = times.sorted()[repeats / 2]
        group.sum(&medians)
        let seconds = medians.max()!
        let p = Double(group.worldSize)
        let bytes = Double(values * MemoryLayout<Float>.size)
        return (seconds, seconds > 0 ? 2 * (p - 1) / p * bytes / seconds : 0)
    }
}

/// One process against several on the same machine at the same global batch
/// (`bitvit bench train --ranks`).
public struct TrainingScaling: Codable {
    public var reference: TrainingBenchmark.Result
    public var distributed: TrainingBenchmark.Result
    /// Images per second of the processes over those of the reference: 1 when data parallelism
    /// costs nothing against threads sharing one process.
    public var efficiency: Double
    /// CPU seconds per step of the reference over those of the processes (all threads of all
    /// processes, communication included): the same comparison by work done, which other
    /// programs sharing the machine disturb less.
    public var cpuEfficiency: Double?

    public init(reference: TrainingBenchmark.Result, distributed: TrainingBenchmark.Result) {
        self.reference = reference
        self.distributed = distributed
        efficiency = reference.imagesPerSecond > 0 ? distributed.imagesPerSecond / reference.imagesPerSecond : 0
        if let a = reference.cpuSecondsPerStep, let b = distributed.cpuSecondsPerStep, b > 0 { cpuEfficiency = a / b }
    }
}

extension TrainingBenchmark.Result {
    /// One line of `key=value` figures (the format of `../shared/bench/torch_vit_bench.py`), with
    /// the CPU time per step and, for several processes, the gradient-averaging figures.
    public var text: String {
        var line = String(format: "train img/s=%.2f ms/step=%.1f peak_rss=%.0fMB peak_tensors=%.0fMB threads=%d blas=%@ params=%d",
                          imagesPerSecond, millisecondsPerStep, Double(peakMemoryBytes) / 1e6, Double(peakTensorBytes) / 1e6,
                          threads, blasCore, parameters)
        if let cpuSecondsPerStep { line += String(format: " cpu_s/step=%.2f", cpuSecondsPerStep) }
        if let wait = allreduceWaitMillisecondsPerStep, let sum = allreduceMilliseconds, let bus = allreduceBusGigabytesPerSecond {
            line += String(format: " processes=%d allreduce_wait_ms/step=%.2f allreduce_ms=%.2f bus_GB/s=%.2f",
                           processes, wait, sum, bus)
        }
        return line
    }
}

extension TrainingScaling {
    /// Both result lines and the efficiency sentence.
    public var text: String {
        [reference.text, distributed.text,
         String(format: "scaling: %d processes × %d threads reach %.1f%% of the images/s of 1 process × %d threads (%.1f%% by CPU time per step)",
                distributed.processes, distributed.threads, 100 * efficiency, reference.threads, 100 * (cpuEfficiency ?? .nan))]
            .joined(separator: "\n")
    }
}
