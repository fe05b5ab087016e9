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
public struct TrainingBenchmark {
    public struct Result: Codable {
        public var model: String
        public var imagesPerSecond: Double
        public var millisecondsPerStep: Double
        /// Process CPU time per step over all threads (other processes do not inflate it).
        public var cpuMillisecondsPerStep: Double
        public var peakMemoryBytes: Int
        public var peakTensorBytes: Int
        public var threads: Int
        public var blasCore: String
        public var blasCoreSelection: String
        public var precision: String
        public var parameters: Int
        public var batch: Int
        public var iterations: Int

        enum CodingKeys: String, CodingKey {
            case model
            case imagesPerSecond = "images_per_second", millisecondsPerStep = "ms_per_step"
            case cpuMillisecondsPerStep = "cpu_ms_per_step"
            case peakMemoryBytes = "peak_memory_bytes", peakTensorBytes = "peak_tensor_bytes"
            case threads, blasCore = "blas_core", blasCoreSelection = "blas_core_selection", precision
            case parameters, batch, iterations
        }
    }

    /// The method models of the official-code comparison, with their official training
    /// objectives (gsb.md §5, qvit.md §6.2, bhvit.md §7).
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
        let model = try ModelZoo.make(recipe.model, seed: 0)
        let (imageSize, channels, classes) = try ModelZoo.inputGeometry(recipe.model)
        var rng = RandomGenerator(seed: 0)
        let images = Tensor.randn([batch, channels, imageSize, imageSize], using: &rng)
        let labels = (0..<batch).map { _ in rng.nextInt(below: classes) }
        let teacherLogits = Tensor.randn([batch, classes], using: &rng) * 2
        let teacher = recipe.loss.distillation.type == .none
            ? nil : Teacher(model: FixedLogitsClassifier(logits: teacherLogits))
        let data = Batch(images: images, labels: labels, indices: Array(0..<batch))
        let trainer = Trainer(config: recipe, model: model, optimizer: recipe.makeOptimizer(for: model),
                              schedule: recipe.makeSchedule(), objective: try recipe.makeObjective(for: model),
                              teacher: teacher, trainData: RepeatedBatch(batch: data))
        let steps = warmup + iterations
        func step(_ i: Int) throws {
            _ = try trainer.step(data, at: TrainingProgress(epoch: 0, epochs: 1, iteration: i, iterationsPerEpoch: steps))
        }
        for i in 0..<warmup { try step(i) }
        BufferPool.shared.resetPeak()
        OpProfiler.isEnabled = profile
        defer { OpProfiler.isEnabled = false }
        let start = DispatchTime.now().uptimeNanoseconds, cpuStart = processCPUSeconds()
        OpProfiler.reset()
        for i in warmup..<steps { try step(i) }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(iterations)
        let cpuSeconds = (processCPUSeconds() - cpuStart) / Double(iterations)
        return Result(model: recipe.name, imagesPerSecond: Double(batch) / seconds, millisecondsPerStep: seconds * 1000,
                      cpuMillisecondsPerStep: cpuSeconds * 1000,
                      peakMemoryBytes: ProcessMemory.peakResidentBytes,
                      peakTensorBytes: BufferPool.shared.peakLiveBytes, threads: Parallel.threadCount,
                      blasCore: BLAS.coreName, blasCoreSelection: BLAS.coreSelection, precision: "fp32",
                      parameters: model.parameterCount, batch: batch, iterations: iterations)
    }
}

extension TrainingBenchmark.Result {
    /// One line of `key=value` figures (the format of `../shared/bench/torch_vit_bench.py` and
    /// `scripts/official_step_bench.py`).
    public var text: String {
        String(format: "train model=%@ img/s=%.2f ms/step=%.1f cpu_ms/step=%.1f peak_rss=%.0fMB peak_tensors=%.0fMB threads=%d blas=%@ precision=%@ params=%d batch=%d",
               model, imagesPerSecond, millisecondsPerStep, cpuMillisecondsPerStep, Double(peakMemoryBytes) / 1e6,
               Double(peakTensorBytes) / 1e6, threads, blasCore, precision, parameters, batch)
    }
}

/// CPU time of the process (all threads) in seconds.
func processCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
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
