import Foundation
import BitViTCore
import BitViTModels
import BitViTData

extension TrainConfig {
    /// Throws `BitViTError.malformed(file: source, …)` naming the first invalid field, its
    /// value and what is allowed. Every number is checked (finite, in range); the model
    /// descriptions go through `ModelZoo.validate`, the check every entry point shares.
    public func validate(source: String = "configuration") throws {
        do { try check() } catch let e as BitViTError {
            throw BitViTError.malformed(file: source, reason: e.message)
        }
    }

    private func check() throws {
        let r = FieldRules()
        func fail(_ field: String, _ reason: String) -> BitViTError { r.failure(field, reason) }
        guard !name.isEmpty, name.count <= 200, !name.contains("/"), !name.contains("\0") else {
            throw fail("name", "must be a non-empty name without '/' (at most 200 characters)")
        }
        guard ModelZoo.names.contains(model.name) else {
            throw fail("model.name", "is '\(model.name)'; known models: \(ModelZoo.names.joined(separator: ", "))")
        }
        try ModelZoo.validate(model)
        try r.count("data.batch_size", data.batchSize, 1...Self.maxBatchSize)
        if let e = data.evalBatchSize { try r.count("data.eval_batch_size", e, 1...Self.maxBatchSize) }
        if let k = data.samplesPerClass { try r.count("data.samples_per_class", k, 1...Int.max) }
        if let k = data.testPerClass { try r.count("data.test_per_class", k, 1...Int.max) }
        let a = data.augmentation
        try r.count("data.augmentation.random_crop_padding", a.randomCropPadding, 0...256)
        if let scale = a.randomResizedCropScale {
            guard scale.count == 2 else { throw fail("data.augmentation.random_resized_crop_scale", "must be two numbers [min, max]") }
            try r.number("data.augmentation.random_resized_crop_scale", scale[0], 0, 1, lowerOpen: true)
            try r.number("data.augmentation.random_resized_crop_scale", scale[1], scale[0], 1)
        }
        try r.count("data.augmentation.rand_augment_ops", a.randAugmentOps, 0...16)
        try r.number("data.augmentation.rand_augment_magnitude", a.randAugmentMagnitude, 0, 30)
        try r.number("data.augmentation.random_erasing", a.randomErasing, 0, 1)
        try r.number("data.augmentation.mixup", a.mixup, 0, 100)
        try r.number("data.augmentation.cutmix", a.cutmix, 0, 100)
        try r.number("data.augmentation.mix_probability", a.mixProbability, 0, 1)
        let v = data.validation
        guard ValidationConfig.sources.contains(v.source) else {
            throw fail("data.validation.source", "is '\(v.source)'; use one of \(ValidationConfig.sources.joined(separator: ", "))")
        }
        guard v.size > 0, v.size.isFinite, v.size < 1 || v.size == v.size.rounded() else {
            throw fail("data.validation.size", "is \(v.size); use a fraction in (0, 1) or a whole number of images per class")
        }
        guard v.seed >= 0 else { throw fail("data.validation.seed", "must be ≥ 0") }
        if let n = data.normalization, Normalization(presetName: n) == nil {
            throw fail("data.normalization", "is '\(n)'; use one of \(Normalization.presets.keys.sorted().joined(separator: ", "))")
        }
        guard data.repeatedAugmentation >= 0 else { throw fail("data.repeated_augmentation", "must be ≥ 0 (0: off)") }
        if let c = data.evalCropPct, !(c > 0 && c <= 1) { throw fail("data.eval_crop_pct", "must be in (0, 1]") }
        for (field, value) in [("data.eval_interpolation", data.evalInterpolation),
                               ("data.augmentation.interpolation", data.augmentation.interpolation)]
        where Interpolation(rawValue: value) == nil {
            throw fail(field, "is '\(value)'; use one of \(Interpolation.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard MethodProcedure.methodNames.contains(method.name) else {
            throw fail("method.name", "is '\(method.name)'; use one of \(MethodProcedure.methodNames.joined(separator: ", "))")
        }
        try r.number("optimizer.lr", optimizer.lr, 0, 1e3, lowerOpen: true)
        if let v = optimizer.lrBatchReference { try r.count("optimizer.lr_batch_reference", v, 1...Self.maxBatchSize) }
        try r.number("optimizer.weight_decay", optimizer.weightDecay, 0, 1e3)
        guard optimizer.betas.count == 2 else { throw fail("optimizer.betas", "must be two numbers in [0, 1)") }
        for b in optimizer.betas { try r.number("optimizer.betas", b, 0, 1, upperOpen: true) }
        try r.number("optimizer.eps", optimizer.eps, 0, 1, lowerOpen: true)
        try r.number("optimizer.momentum", optimizer.momentum, 0, 1, upperOpen: true)
        if let c = optimizer.clipGradNorm { try r.number("optimizer.clip_grad_norm", c, 0, 1e9, lowerOpen: true) }
        try r.count("schedule.warmup_epochs", schedule.warmupEpochs, 0...Self.maxEpochs)
        try r.number("schedule.warmup_lr", schedule.warmupLr, 0, 1e3)
        try r.number("schedule.min_lr", schedule.minLr, 0, 1e3)
        try r.number("loss.label_smoothing", loss.labelSmoothing, 0, 1, upperOpen: true)
        let d = loss.distillation
        try r.number("loss.distillation.alpha", d.alpha, 0, 1)
        try r.number("loss.distillation.tau", d.tau, 0, 1e3, lowerOpen: true)
        if d.type != .none && d.teacher == nil {
            throw fail("loss.distillation.teacher", "is required for distillation type '\(d.type.rawValue)'")
        }
        if let teacher = d.teacherModel {
            do { try ModelZoo.validate(teacher) } catch let e as BitViTError {
                throw fail("loss.distillation.teacher_model", "describes an invalid model: \(e.message)")
            }
        }
        try r.number("loss.dgd.weight", loss.dgd.weight, 0, 1e6)
        if loss.dgd.weight > 0 && d.type == .none {
            throw fail("loss.dgd.weight", "needs a teacher: set loss.distillation.type and loss.distillation.teacher")
        }
        try r.count("training.diagnostics_batches", training.diagnosticsBatches, 0...Int.max)
        try r.count("training.epochs", training.epochs, 1...Self.maxEpochs)
        try r.count("training.seed", training.seed, 0...Int.max)
        if let t = training.threads { try r.count("training.threads", t, 1...Self.maxThreads) }
        try r.count("training.eval_every", training.evalEvery, 1...Int.max)
        try r.count("training.log_every", training.logEvery, 0...Int.max)
        try r.count("training.checkpoint_every", training.checkpointEvery, 0...Int.max)
        try r.number("distributed.bucket_mb", distributed.bucketMb, 0, 1e6, lowerOpen: true)
        try r.number("distributed.timeout_seconds", distributed.timeoutSeconds, 0, 1e7, lowerOpen: true)
    }

    /// Largest batch (training and evaluation) a recipe or flag may ask for.
    public static let maxBatchSize = 1 << 16
    /// Largest number of epochs.
    public static let maxEpochs = 1 << 20
    /// Largest number of worker threads.
    public static let maxThreads = 1024

    /// The learning rate after the linear batch-size scaling rule, for one process.
    public var effectiveLearningRate: Double { effectiveLearningRate(processes: 1) }

    /// The learning rate after the linear batch-size scaling rule over the global batch of
    /// `processes` processes: `lr · batch_size · processes / lr_batch_reference` (the official
    /// DeiT, GSB, Q-ViT and BHViT scripts: `lr · batch_per_gpu · world_size / 512`).
    public func effectiveLearningRate(processes: Int) -> Double {
        guard let reference = optimizer.lrBatchReference else { return optimizer.lr }
        return optimizer.lr * Double(data.batchSize * processes) / Double(reference)
    }
}
