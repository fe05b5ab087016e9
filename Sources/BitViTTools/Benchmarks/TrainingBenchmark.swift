import BitViTCore
import BitViTModels
import BitViTTrain
import Foundation

/// Times full training steps (`Trainer.step`: forward, loss, backward, gradient norm,
/// optimizer) of a model on random data, with the loss and optimizer of a recipe.
///
/// The plain DeiT case matches `../shared/bench/torch_vit_bench.py train` (cross-entropy,
/// AdamW); the method cases (`Method`) match `scripts/official_step_bench.py`, which times the
/// official PyTorch code with its own loss and optimizer. Distilling objectives see fixed
/// random teacher logits (the teacher's forward pass is not timed on either side).
///
/// With a `group` of several processes (data parallelism) every process runs `batch / processes`
/// images per step and the gradients are averaged as in training (`GradientAverager`); the
/// result then also holds the time each step waited for the gradient sums and the bandwidth of
/// a sum of the gradients' size measured alone.
public struct TrainingBenchmark {
    public struct Result: Codable {
        public var model: String
        public var imagesPerSecond: Double
        public var millisecondsPerStep: Double
        /// CPU seconds (user + system, all threads, summed over the processes) per step: the
        /// work a step costs, which other programs on the machine disturb less than wall time.
        public var cpuSecondsPerStep: Double
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
        /// Per step: milliseconds spent waiting for the gradient sums after the backward pass
        /// (the communication the backward pass did not hide).
        public var allreduceWaitMillisecondsPerStep: Double?
        /// One sum of all gradients alone: milliseconds, and the bus bandwidth in GB/s
        /// (`2·(p−1)/p · bytes / time`, the figure a ring allreduce is limited by).
        public var allreduceMilliseconds: Double?
        public var allreduceBusGigabytesPerSecond: Double?

        enum CodingKeys: String, CodingKey {
            case model
            case imagesPerSecond = "images_per_second", millisecondsPerStep = "ms_per_step"
            case cpuSecondsPerStep = "cpu_seconds_per_step"
            case peakMemoryBytes = "peak_memory_bytes", peakTensorBytes = "peak_tensor_bytes"
            case threads, blasCore = "blas_core", blasCoreSelection = "blas_core_selection"
            case parameters, batch, iterations, processes
            case allreduceWaitMillisecondsPerStep = "allreduce_wait_ms_per_step", allreduceMilliseconds = "allreduce_ms"
            case allreduceBusGigabytesPerSecond = "allreduce_bus_gb_per_second"
        }
    }

    /// The method models of the official-code comparison, with their official training
    /// objectives (docs/reference/gsb.md §6, docs/reference/qvit.md §7, docs/reference/bhvit.md §8).
    public enum Method: String, CaseIterable, Sendable {
        /// GSB stage 2 (W1A1, GSB attention): hard distillation α 0.5, AdamW, weight decay
        /// 0.05 on the timm 0.4 groups (scales included), lr 1e-3 per 512 images.
        case gsb = "gsb-stage2"
        /// Q-ViT W4A4 with IRM, drop path 0.1: hard distillation α 0.5, FusedLAMB with weight
        /// decay 0 (Adam with global-norm clipping at 1), lr 3e-4 per 512 images. No DGD
        /// (the official code has none).
        case qvit = "qvit-w4a4"
        /// BHViT-Tiny (FP downsampling, shift branches, QD attention): the teacher
        /// cross-entropy (`DistributionLoss`) alone (no oscillation regularizer, as
        /// `run_BHViT.sh`), AdamW, weight decay 0, lr 5e-4 per 512.
        case bhvit = "bhvit-tiny"
    }

    /// Where a method model runs: `small` is the DeiT-Ti width on 32×32 images (patch 4;
    /// BHViT: the `bhvit-tiny-cifar` variant, which the official code cannot build), `full`
    /// the methods' 224 geometry (DeiT-S/16; BHViT-Tiny at 224).
    public enum Geometry: String, CaseIterable, Sendable {
        case small, full = "224"
    }

    /// The recipe being timed: its model, loss and optimizer (data and schedule are unused).
    public var recipe: TrainConfig
    /// The plain DeiT geometry, when the benchmark was made from one (checked before running).
    public var config: ViTConfig?
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

    public init(recipe: TrainConfig, batch: Int, iterations: Int = 5) {
        self.recipe = recipe
        self.batch = batch
        self.iterations = iterations
    }

    /// The plain DeiT geometry `config` with cross-entropy and AdamW (lr 1e-3 and weight decay
    /// 0.01, `torch.optim.AdamW`'s defaults; biases, norms and tokens undecayed).
    public init(config: ViTConfig, batch: Int, iterations: Int = 5) {
        var r = TrainConfig()
        r.name = "deit"
        r.model = ModelSpec(name: "deit-tiny", classes: config.classes, imageSize: config.imageSize,
                            patchSize: config.patchSize, inChannels: config.inChannels, dim: config.dim,
                            depth: config.depth, heads: config.heads, mlpRatio: config.mlpRatio)
        r.optimizer.name = .adamw
        r.optimizer.lr = 1e-3
        r.optimizer.weightDecay = 0.01
        r.loss.distillation.type = .none
        self.init(recipe: r, batch: batch, iterations: iterations)
        self.config = config
    }

    /// `method` at `geometry` with 10 classes and its official objective.
    public init(method: Method, geometry: Geometry, batch: Int, iterations: Int = 5) {
        var r = TrainConfig()
        r.name = "\(method.rawValue)-\(geometry.rawValue)"
        let vitPreset = geometry == .small ? "deit-tiny-cifar" : "deit-small"
        switch method {
        case .gsb:
            r.model = ModelSpec(name: "gsb-" + vitPreset, classes: 10, options: ["stage": "2"])
            r.optimizer.name = .adamw
            r.optimizer.lr = 1e-3
            r.optimizer.weightDecay = 0.05
            r.optimizer.decayScalars = true
            r.loss.distillation.type = .hard
        case .qvit:
            r.model = ModelSpec(name: "qvit-" + vitPreset, classes: 10, dropPathRate: 0.1,
                                options: ["bits": "4", "irm": "true"])
            r.optimizer.name = .fusedlamb
            r.optimizer.lr = 3e-4
            r.optimizer.weightDecay = 0
            r.loss.distillation.type = .hard
        case .bhvit:
            r.model = ModelSpec(name: geometry == .small ? "bhvit-tiny-cifar" : "bhvit-tiny", classes: 10,
                                options: ["downsampling": "fp", "shift": "true", "attention": "qd"])
            r.optimizer.name = .adamw
            r.optimizer.lr = 5e-4
            r.optimizer.weightDecay = 0
            r.loss.distillation.type = .distribution
            r.loss.distillation.alpha = 1
            r.loss.options = ["regularizer": "off"]     // run_BHViT.sh trains without --regularization_loss
        }
        r.optimizer.lrBatchReference = 512
        r.data.batchSize = batch
        self.init(recipe: r, batch: batch, iterations: iterations)
    }

    public func run() throws -> Result {
        try config?.validate()
        try FieldRules().count("batch", batch, 1...TrainConfig.maxBatchSize)
        try FieldRules().count("iterations", iterations, 1...1_000_000)
        let processes = group.worldSize
        guard batch % processes == 0 else {
            throw BitViTError.invalidArgument("--batch \(batch) does not split evenly over \(processes) processes")
        }
        let local = batch / processes
        var recipe = self.recipe
        recipe.distributed.bucketMb = Double(bucketBytes) / 1e6
        recipe.distributed.overlap = overlap
        let model = try ModelZoo.make(recipe.model, seed: 0)
        let (imageSize, channels, classes) = try ModelZoo.inputGeometry(recipe.model)
        var rng = RandomGenerator(seed: UInt64(group.rank))
        let images = Tensor.randn([local, channels, imageSize, imageSize], using: &rng)
        let labels = (0..<local).map { _ in rng.nextInt(below: classes) }
        let teacherLogits = Tensor.randn([local, classes], using: &rng) * 2
        let teacher = recipe.loss.distillation.type == .none
            ? nil : Teacher(model: FixedLogitsClassifier(logits: teacherLogits))
        let data = Batch(images: images, labels: labels, indices: Array(0..<local))
        let trainer = Trainer(config: recipe, model: model, optimizer: recipe.makeOptimizer(for: model, processes: processes),
                              schedule: recipe.makeSchedule(processes: processes), objective: try recipe.makeObjective(for: model),
                              teacher: teacher, trainData: RepeatedBatch(batch: data), group: group)
        let steps = warmup + iterations
        func step(_ i: Int) throws {
            _ = try trainer.step(data, at: TrainingProgress(epoch: 0, epochs: 1, iteration: i, iterationsPerEpoch: steps))
        }
        for i in 0..<warmup { try step(i) }
        BufferPool.shared.resetPeak()
        OpProfiler.isEnabled = profile
        defer { OpProfiler.isEnabled = false }
        if group.isDistributed { trainer.gradientAverager.resetTimers() }
        _ = group.anyTrue(false)  // start the clocks together
        let start = DispatchTime.now().uptimeNanoseconds
        let cpuStart = ProcessMemory.cpuSeconds
        OpProfiler.reset()
        for i in warmup..<steps { try step(i) }
        var cpu = [ProcessMemory.cpuSeconds - cpuStart]
        _ = group.anyTrue(false)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(iterations)
        group.sum(&cpu)
        var result = Result(model: recipe.name, imagesPerSecond: Double(batch) / seconds, millisecondsPerStep: seconds * 1000,
                            cpuSecondsPerStep: cpu[0] / Double(iterations),
                            peakMemoryBytes: ProcessMemory.peakResidentBytes,
                            peakTensorBytes: BufferPool.shared.peakLiveBytes, threads: Parallel.threadCount,
                            blasCore: BLAS.coreName, blasCoreSelection: BLAS.coreSelection,
                            parameters: model.parameterCount, batch: batch, iterations: iterations)
        if group.isDistributed {
            result.processes = processes
            result.allreduceWaitMillisecondsPerStep = trainer.gradientAverager.waitSeconds * 1000 / Double(iterations)
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
        if distributed.cpuSecondsPerStep > 0 { cpuEfficiency = reference.cpuSecondsPerStep / distributed.cpuSecondsPerStep }
    }
}

extension TrainingBenchmark.Result {
    /// One line of `key=value` figures (the format of `../shared/bench/torch_vit_bench.py` and
    /// `scripts/official_step_bench.py`; `cpu_ms/step` is the CPU time over all threads and
    /// processes), with the gradient-averaging figures when several processes shared the step.
    public var text: String {
        var line = String(format: "train model=%@ img/s=%.2f ms/step=%.1f cpu_ms/step=%.1f peak_rss=%.0fMB peak_tensors=%.0fMB threads=%d blas=%@ params=%d batch=%d",
                          model, imagesPerSecond, millisecondsPerStep, cpuSecondsPerStep * 1000, Double(peakMemoryBytes) / 1e6,
                          Double(peakTensorBytes) / 1e6, threads, blasCore, parameters, batch)
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

/// A stand-in teacher that returns the same logits for every batch.
final class FixedLogitsClassifier: Module, ImageClassifier {
    let logits: Tensor
    var classCount: Int { logits.shape[1] }

    init(logits: Tensor) {
        self.logits = logits
        super.init()
    }

    func callAsFunction(_ images: Tensor) -> ClassifierOutput { ClassifierOutput(logits: logits) }
}

/// One batch, repeated: the data source a benchmark's trainer is built with.
struct RepeatedBatch: BatchSource {
    let batch: Batch
    var batchesPerEpoch: Int { 1 }
    var sampleCount: Int { batch.count }
    func batches(epoch: Int, from start: Int) throws -> BatchStream { BatchStream([batch]) }
}
