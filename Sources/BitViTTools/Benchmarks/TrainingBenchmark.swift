import BitViTCore
import BitViTModels
import BitViTTrain
import Foundation

/// Times full training steps (forward, cross-entropy, backward, AdamW) of a DeiT geometry on
/// random data, like `../shared/bench/torch_vit_bench.py train`.
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

        enum CodingKeys: String, CodingKey {
            case imagesPerSecond = "images_per_second", millisecondsPerStep = "ms_per_step"
            case peakMemoryBytes = "peak_memory_bytes", peakTensorBytes = "peak_tensor_bytes"
            case threads, blasCore = "blas_core", blasCoreSelection = "blas_core_selection"
            case parameters, batch, iterations
        }
    }

    public var config: ViTConfig
    public var batch: Int
    public var warmup = 2
    public var iterations = 5
    /// Collect per-op times during the timed steps (`OpProfiler`).
    public var profile = false

    public init(config: ViTConfig, batch: Int, iterations: Int = 5) {
        self.config = config
        self.batch = batch
        self.iterations = iterations
    }

    public func run() throws -> Result {
        try config.validate()
        try FieldRules().count("batch", batch, 1...TrainConfig.maxBatchSize)
        try FieldRules().count("iterations", iterations, 1...1_000_000)
        let model = try DeiT(config, seed: 0)
        model.train()
        var rng = RandomGenerator(seed: 0)
        let images = Tensor.randn([batch, config.inChannels, config.imageSize, config.imageSize], using: &rng)
        let labels = (0..<batch).map { _ in rng.nextInt(below: config.classes) }
        let optimizer = AdamW(parameters: model.namedParameters(), learningRate: 1e-3)
        func step() {
            model.zeroGrad()
            let loss = Tensor.crossEntropy(logits: model(images).logits, labels: labels)
            loss.backward()
            optimizer.step()
        }
        for _ in 0..<warmup { step() }
        BufferPool.shared.resetPeak()
        OpProfiler.isEnabled = profile
        defer { OpProfiler.isEnabled = false }
        let start = DispatchTime.now().uptimeNanoseconds
        OpProfiler.reset()
        for _ in 0..<iterations { step() }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(iterations)
        return Result(imagesPerSecond: Double(batch) / seconds, millisecondsPerStep: seconds * 1000,
                      peakMemoryBytes: ProcessMemory.peakResidentBytes,
                      peakTensorBytes: BufferPool.shared.peakLiveBytes, threads: Parallel.threadCount,
                      blasCore: BLAS.coreName, blasCoreSelection: BLAS.coreSelection, parameters: model.parameterCount, batch: batch,
                      iterations: iterations)
    }
}

extension TrainingBenchmark.Result {
    /// One line of `key=value` figures (the format of `../shared/bench/torch_vit_bench.py`).
    public var text: String {
        String(format: "train img/s=%.2f ms/step=%.1f peak_rss=%.0fMB peak_tensors=%.0fMB threads=%d blas=%@ params=%d",
               imagesPerSecond, millisecondsPerStep, Double(peakMemoryBytes) / 1e6, Double(peakTensorBytes) / 1e6, threads,
               blasCore, parameters)
    }
}
