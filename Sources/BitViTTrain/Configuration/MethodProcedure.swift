import Foundation
import BitViTModels

/// The training procedure of each method as its official code runs it (`official-code`) and as
/// its paper describes it (`paper`), as the recipe settings that express it, and the check of a
/// recipe against the procedure it claims (`method.name`, `method.mode`).
///
/// A procedure fixes what makes a run *that method's training*: parameter groups and optimizer,
/// normalization, initialization, losses, sampler, interpolation, evaluation transform and
/// batch. It leaves the budget to the recipe: data set and subset, image size and the
/// augmentation that goes with it, batch size, learning-rate scaling and stepping, epochs, and
/// the paths of data, teachers and checkpoints. The check reports departures and never changes
/// a setting, so `--dry-run` shows exactly what trains. The settings, their sources and the
/// differences between the modes are tabled in docs/methods.md.
public enum MethodProcedure {
    /// Values of `method.name`.
    public static let methodNames = ["none", "deit", "gsb", "qvit", "bhvit"]

    /// One setting a procedure fixes, with the value a checked recipe has.
    public struct Setting: Equatable, Sendable {
        /// The recipe field, dotted `snake_case` (`data.normalization`).
        public var field: String
        /// What the procedure requires, spelled as in a recipe (`imagenet`, `96`, `null`), or
        /// `a checkpoint` for a path that must be given.
        public var expected: String
        /// The recipe's value, spelled the same way.
        public var actual: String
        /// Where the requirement comes from (a section of the method's notes).
        public var source: String

        public var matches: Bool { expected == actual }
    }

    /// The outcome of checking a recipe against the procedure it claims.
    public struct Check: Sendable {
        public var method: String
        public var mode: MethodMode
        /// Every setting the procedure fixes, with the recipe's value.
        public var settings: [Setting]

        public var departures: [Setting] { settings.filter { !$0.matches } }

        /// Log lines (also printed as `#` comments by `bitvit train --dry-run`); none when the
        /// recipe claims no method.
        public var lines: [String] {
            guard method != "none" else { return [] }
            let head = "method \(method), mode \(mode.rawValue)"
            let off = departures
            if off.isEmpty { return ["\(head): the recipe follows all \(settings.count) settings the procedure fixes"] }
            return ["\(head): the recipe departs from \(off.count) of the \(settings.count) settings the procedure fixes:"]
                + off.map { "  \($0.field): \($0.actual) (\(mode.rawValue): \($0.expected); \($0.source))" }
        }
    }

    /// Checks `config` against the procedure its `method` section names.
    public static func check(_ config: TrainConfig) -> Check {
        Check(method: config.method.name, mode: config.method.mode,
              settings: settings(method: config.method.name, mode: config.method.mode, for: config))
    }

    /// The settings `method` in `mode` fixes, with `config`'s values (empty for `none`).
    /// Some requirements depend on the recipe's budget: the evaluation batch is a multiple of
    /// the training batch, the evaluation crop applies above 32 pixels, Q-ViT's sampler depends
    /// on the model size.
    public static func settings(method: String, mode: MethodMode, for config: TrainConfig) -> [Setting] {
        let c = config
        let size = (try? ModelZoo.inputGeometry(c.model).imageSize) ?? 0
        let paper = mode == .paper
        var out: [Setting] = []
        func add(_ field: String, _ expected: String, _ actual: String, _ source: String) {
            out.append(Setting(field: field, expected: expected, actual: actual, source: source))
        }

        func evaluation(batchFactor: Double, batchSource: String, source: String) {
            // The official data pipelines resize and crop only when the input is larger than
            // 32 pixels (`resize_im = input_size > 32`); smaller inputs are evaluated as they are.
            add("data.eval_crop_pct", size > 32 ? render(0.875) : "null", render(c.data.evalCropPct),
                  "\(source): Resize(int(256/224·size), bicubic) + CenterCrop(size) above 32 pixels, none at or below")
            add("data.eval_interpolation", "bicubic", c.data.evalInterpolation, source)
            add("data.eval_batch_size", "\(Int(batchFactor * Double(c.data.batchSize)))",
                  render(c.data.evalBatchSize), batchSource)
        }
        func common(normalizationSource: String) {
            add("data.normalization", "imagenet", c.data.normalization ?? "null", normalizationSource)
        }
        // DeiT's hard distillation with α = 0.5 and plain cross-entropy (GSB, Q-ViT).
        func hardDistillation(_ source: String, smoothing: String) {
            add("loss.distillation.type", "hard", c.loss.distillation.type.rawValue, source)
            add("loss.distillation.alpha", render(0.5), render(c.loss.distillation.alpha), source)
            add("loss.label_smoothing", render(0), render(c.loss.labelSmoothing), smoothing)
        }
        func initialization(fromCheckpoint: Bool, _ source: String) {
            add("training.init_checkpoint", fromCheckpoint ? "a checkpoint" : "null",
                c.training.initCheckpoint == nil ? "null" : "a checkpoint", source)
        }
        func schedule(minLr: Double?, _ source: String) {
            add("schedule.warmup_epochs", "0", "\(c.schedule.warmupEpochs)", source)
            if let minLr { add("schedule.min_lr", render(minLr), render(c.schedule.minLr), source) }
        }

        switch method {
        case "deit":
            let src = "DeiT main.py / datasets.py"
            common(normalizationSource: src)
            add("data.repeated_augmentation", "3", "\(c.data.repeatedAugmentation)", "\(src): RASampler, 3 repeats")
            add("data.augmentation.interpolation", "bicubic", c.data.augmentation.interpolation, "\(src): --train-interpolation bicubic")
            evaluation(batchFactor: 1.5, batchSource: "\(src): int(1.5 · batch)", source: src)
            add("loss.label_smoothing", render(0.1), render(c.loss.labelSmoothing), src)
            add("optimizer.name", "adamw", c.optimizer.name.rawValue, src)
            add("optimizer.weight_decay", render(0.05), render(c.optimizer.weightDecay), src)
            add("model.drop_path_rate", render(0.1), render(c.model.dropPathRate ?? 0), src)
            initialization(fromCheckpoint: false, "\(src): from scratch")
        case "gsb":
            let stage2 = (c.model.options["stage"] ?? "2") == "2"
            common(normalizationSource: "docs/reference/gsb.md §6.4 (datasets.py: ImageNet mean/std for CIFAR too)")
            add("data.repeated_augmentation", "0", "\(c.data.repeatedAugmentation)", "docs/reference/gsb.md §6.1: repeated augmentation off")
            add("data.augmentation.interpolation", "bicubic", c.data.augmentation.interpolation,
                  "docs/reference/gsb.md §6.4: timm's train interpolation, bicubic (RandomResizedCrop and RandAugment)")
            evaluation(batchFactor: 1.5, batchSource: "docs/reference/gsb.md §6.4: int(1.5 · batch); the batch-global masks depend on it",
                       source: "docs/reference/gsb.md §6.4")
            hardDistillation("docs/reference/gsb.md §6.1", smoothing: "docs/reference/gsb.md §6.1: label smoothing overridden by plain CE")
            add("loss.dgd.weight", render(0), render(c.loss.dgd.weight), "docs/reference/gsb.md §6.1")
            add("optimizer.name", "adamw", c.optimizer.name.rawValue, "docs/reference/gsb.md §6.2")
            add("optimizer.weight_decay", render(0.05), render(c.optimizer.weightDecay), "docs/reference/gsb.md §6.2")
            add("optimizer.decay_scalars", "true", "\(c.optimizer.decayScalars)", "docs/reference/gsb.md §6.2: timm 0.4.x decays the 0-d scales")
            add("optimizer.clip_grad_norm", "null", render(c.optimizer.clipGradNorm), "docs/reference/gsb.md §6.1: no gradient clipping")
            schedule(minLr: 1e-6, "docs/reference/gsb.md §6.3")
            add("model.drop_path_rate", render(0), render(c.model.dropPathRate ?? 0), "docs/reference/gsb.md §6.5: --drop-path has no effect")
            initialization(fromCheckpoint: stage2,
                           stage2 ? "docs/reference/gsb.md §5.4: stage 2 starts from stage 1" : "docs/reference/gsb.md §5.5: stage 1 from scratch")
        case "qvit":
            let small = c.model.name.hasPrefix("qvit-deit-small")
            common(normalizationSource: "docs/reference/qvit.md §7.2")
            add("data.repeated_augmentation", small ? "3" : "0", "\(c.data.repeatedAugmentation)",
                  "docs/reference/qvit.md §7.2: RASampler (3 repeats) for DeiT-S, DistributedSampler for DeiT-T")
            add("data.augmentation.interpolation", "bicubic", c.data.augmentation.interpolation, "docs/reference/qvit.md §7.2")
            evaluation(batchFactor: 1.5, batchSource: "main.py: int(1.5 · batch)", source: "docs/reference/qvit.md §7.2")
            hardDistillation("docs/reference/qvit.md §6.1", smoothing: "docs/reference/qvit.md §6.1")
            add("loss.dgd.weight", render(paper ? 1 : 0), render(c.loss.dgd.weight),
                  paper ? "docs/reference/qvit.md §6.2: L = L_dist + L_DGD" : "docs/reference/qvit.md §2: the released code has no DGD")
            if paper { add("loss.dgd.reduction", "sum", c.loss.dgd.reduction.rawValue, "docs/reference/qvit.md §6.2: Σ over layers and heads") }
            add("optimizer.name", "fusedlamb", c.optimizer.name.rawValue, "docs/reference/qvit.md §7.2")
            add("optimizer.lr", render(paper ? 2e-4 : 3e-4), render(c.optimizer.lr),
                  paper ? "docs/reference/qvit.md §7.1: 2e-4 at batch 512" : "docs/reference/qvit.md §7.2: README, 3e-4 at batch 512")
            add("optimizer.weight_decay", render(0), render(c.optimizer.weightDecay), "docs/reference/qvit.md §7.2")
            add("optimizer.eps", render(1e-8), render(c.optimizer.eps), "docs/reference/qvit.md §7.2")
            add("optimizer.clip_grad_norm", "null", render(c.optimizer.clipGradNorm), "docs/reference/qvit.md §7.2: apex's built-in 1.0")
            schedule(minLr: 1e-5, "docs/reference/qvit.md §7.2")
            add("model.drop_path_rate", render(0.1), render(c.model.dropPathRate ?? 0), "docs/reference/qvit.md §7.2")
            initialization(fromCheckpoint: paper, paper ? "docs/reference/qvit.md §7.3: from the pretrained full-precision model"
                                                        : "docs/reference/qvit.md §2: no --finetune (it raises NotImplementedError with distillation)")
        case "bhvit":
            common(normalizationSource: "docs/reference/bhvit.md §8")
            add("data.repeated_augmentation", "0", "\(c.data.repeatedAugmentation)", "docs/reference/bhvit.md §8: repeated augmentation off")
            add("data.augmentation.interpolation", "bilinear", c.data.augmentation.interpolation,
                  "docs/reference/bhvit.md §8: --aa noaug uses torchvision's RandomResizedCrop (bilinear)")
            evaluation(batchFactor: 1, batchSource: "main_new.py: evaluation batch = training batch", source: "docs/reference/bhvit.md §8")
            add("loss.distillation.type", "distribution", c.loss.distillation.type.rawValue, "docs/reference/bhvit.md §8: DistributionLoss")
            add("loss.distillation.alpha", render(paper ? 0.8 : 1), render(c.loss.distillation.alpha),
                  paper ? "docs/reference/bhvit.md §8: (1 − λ − β)·L_cls + λ·L_dis + β·L_re, λ = 0.8" : "docs/reference/bhvit.md §8: L = L_dis, no label term")
            add("loss.options.regularizer", paper ? "paper" : "off", c.loss.options["regularizer"] ?? "null",
                  paper ? "docs/reference/bhvit.md §8: β = 0.1 in the last 10 % of epochs" : "docs/reference/bhvit.md §8: --regularization_loss commented out")
            add("loss.dgd.weight", render(0), render(c.loss.dgd.weight), "docs/reference/bhvit.md §8")
            add("optimizer.name", "adamw", c.optimizer.name.rawValue, "docs/reference/bhvit.md §8")
            add("optimizer.weight_decay", render(0), render(c.optimizer.weightDecay), "docs/reference/bhvit.md §8")
            add("optimizer.clip_grad_norm", "null", render(c.optimizer.clipGradNorm), "docs/reference/bhvit.md §8: no gradient clipping")
            schedule(minLr: nil, "docs/reference/bhvit.md §8")
            add("model.drop_path_rate", render(0), render(c.model.dropPathRate ?? 0), "docs/reference/bhvit.md §8")
            initialization(fromCheckpoint: false, "docs/reference/bhvit.md §8: one stage from random initialization")
            add("distributed.sync_batch_norm", "true", "\(c.distributed.syncBatchNorm)",
                "docs/reference/bhvit.md §8: --replace-ln-bn with SyncBN across GPUs")
        default:
            break
        }
        return out
    }

    /// A number as a recipe spells it: `0.1`, `3e-4` → `0.0003`, `1` (no `.0`); nil → `null`.
    static func render(_ value: Double?) -> String {
        guard let value else { return "null" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
        return "\(value)"
    }

    static func render(_ value: Int?) -> String { value.map(String.init) ?? "null" }
}
