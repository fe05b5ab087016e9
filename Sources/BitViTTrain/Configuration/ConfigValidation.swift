import Foundation
import BitViTModels
import BitViTData

extension TrainConfig {
    /// Throws `BitViTError.malformed(file: source, …)` naming the first invalid field.
    public func validate(source: String = "configuration") throws {
        func fail(_ field: String, _ reason: String) -> BitViTError {
            .malformed(file: source, reason: "field '\(field)' \(reason)")
        }
        guard !name.isEmpty, !name.contains("/") else { throw fail("name", "must be a non-empty name without '/'") }
        guard ModelZoo.names.contains(model.name) else {
            throw fail("model.name", "is '\(model.name)'; known models: \(ModelZoo.names.joined(separator: ", "))")
        }
        do { try ModelZoo.validate(model) } catch { throw fail("model", "describes an invalid model: \(error)") }
        guard data.batchSize > 0 else { throw fail("data.batch_size", "must be positive") }
        if let e = data.evalBatchSize, e <= 0 { throw fail("data.eval_batch_size", "must be positive") }
        if let k = data.samplesPerClass, k <= 0 { throw fail("data.samples_per_class", "must be positive") }
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
        guard optimizer.lr > 0, optimizer.lr.isFinite else { throw fail("optimizer.lr", "must be a positive number") }
        if let r = optimizer.lrBatchReference, r <= 0 { throw fail("optimizer.lr_batch_reference", "must be positive") }
        guard optimizer.weightDecay >= 0 else { throw fail("optimizer.weight_decay", "must be ≥ 0") }
        guard optimizer.betas.count == 2, optimizer.betas.allSatisfy({ (0..<1).contains($0) }) else {
            throw fail("optimizer.betas", "must be two numbers in [0, 1)")
        }
        guard optimizer.eps > 0 else { throw fail("optimizer.eps", "must be positive") }
        guard (0..<1).contains(optimizer.momentum) else { throw fail("optimizer.momentum", "must be in [0, 1)") }
        if let c = optimizer.clipGradNorm, !(c > 0) { throw fail("optimizer.clip_grad_norm", "must be positive") }
        guard schedule.warmupEpochs >= 0 else { throw fail("schedule.warmup_epochs", "must be ≥ 0") }
        guard schedule.minLr >= 0, schedule.warmupLr >= 0 else { throw fail("schedule.min_lr", "must be ≥ 0") }
        guard (0..<1).contains(loss.labelSmoothing) else { throw fail("loss.label_smoothing", "must be in [0, 1)") }
        let d = loss.distillation
        guard (0...1).contains(d.alpha) else { throw fail("loss.distillation.alpha", "must be in [0, 1]") }
        guard d.tau > 0 else { throw fail("loss.distillation.tau", "must be positive") }
        if d.type != .none && d.teacher == nil {
            throw fail("loss.distillation.teacher", "is required for distillation type '\(d.type.rawValue)'")
        }
        guard loss.dgd.weight >= 0, loss.dgd.weight.isFinite else { throw fail("loss.dgd.weight", "must be ≥ 0") }
        if loss.dgd.weight > 0 && d.type == .none {
            throw fail("loss.dgd.weight", "needs a teacher: set loss.distillation.type and loss.distillation.teacher")
        }
        guard training.diagnosticsBatches >= 0 else { throw fail("training.diagnostics_batches", "must be ≥ 0") }
        guard training.epochs > 0 else { throw fail("training.epochs", "must be positive") }
        guard training.seed >= 0 else { throw fail("training.seed", "must be ≥ 0") }
        if let t = training.threads, t <= 0 { throw fail("training.threads", "must be positive") }
        guard training.evalEvery > 0 else { throw fail("training.eval_every", "must be positive") }
        guard training.logEvery >= 0, training.checkpointEvery >= 0 else {
            throw fail("training.log_every", "and checkpoint_every must be ≥ 0")
        }
    }

    /// The learning rate after the linear batch-size scaling rule.
    public var effectiveLearningRate: Double {
        guard let reference = optimizer.lrBatchReference else { return optimizer.lr }
        return optimizer.lr * Double(data.batchSize) / Double(reference)
    }
}
