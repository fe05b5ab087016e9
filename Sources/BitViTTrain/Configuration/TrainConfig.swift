import Foundation
import BitViTModels
import BitViTData

/// A training run's complete, resolved configuration: what a recipe file plus command-line
/// overrides decode to, what `--dry-run` prints and what checkpoints store.
///
/// Recipes spell the fields in `snake_case` (`weight_decay`); every field has a default, so a
/// recipe lists only what it changes. The schema is documented in docs/training.md.
public struct TrainConfig: Codable, Equatable, Sendable {
    /// Run name; the run directory is `<training.output>/<name>` unless given explicitly.
    public var name = "vit-mnist"
    /// The training procedure this recipe claims to follow (a method's official code or its
    /// paper); checked, never applied (see `MethodProcedure`).
    public var method = MethodConfig()
    public var model = ModelSpec(name: "vit-mnist", classes: 10)
    public var data = DataConfig()
    public var optimizer = OptimizerConfig()
    public var schedule = ScheduleConfig()
    public var loss = LossConfig()
    public var training = RunConfig()
    /// Data-parallel training over several processes (`mpirun`); ignored by one process.
    public var distributed = DistributedConfig()

    public init() {}
}

/// Which images to train and validate on, and how to batch and augment them.
public struct DataConfig: Codable, Equatable, Sendable {
    /// `fashion-mnist`, `mnist` (IDX files), `cifar10` (image folder or binary batches),
    /// `cifar100` or `image-folder` (`<root>/train/<class>/*`, `<root>/test/<class>/*`).
    public var dataset = DatasetKind.fashionMNIST
    /// Data directory; nil uses the data set's standard location
    /// (`/usr/share/datasets/fashion-mnist`, `../shared/datasets/cifar10-jpeg`).
    public var root: String?
    /// Training images per step.
    public var batchSize = 128
    /// Images per evaluation batch (nil: twice `batchSize`). The official GSB, Q-ViT and DeiT
    /// scripts evaluate with `int(1.5 · batch)`, BHViT's with `batch`; GSB's batch-global masks
    /// make its predictions depend on it.
    public var evalBatchSize: Int?
    /// Train on the first `samplesPerClass` images of every class (GSB's limited-data setting);
    /// nil uses the whole training split.
    public var samplesPerClass: Int?
    /// Test on the first `testPerClass` images of every class of the test split (a stratified
    /// subset, the same for every run, when a machine cannot afford the whole split); nil uses
    /// the whole test split.
    public var testPerClass: Int?
    /// Where the validation images (model selection) come from.
    public var validation = ValidationConfig()
    /// Normalization statistics by preset name (`imagenet`, `cifar10`, `cifar100`, `mnist`,
    /// `fashion-mnist`, `none`); nil uses the data set's own (ImageNet's for image folders).
    public var normalization: String?
    /// Repeated augmentation: every image of an epoch's permutation is visited this many times
    /// in a row, each visit augmented anew, and the epoch is cut to about the data set's size
    /// (DeiT's `RASampler`, 3 repeats; `EpochSampler`). 0 visits every image once.
    public var repeatedAugmentation = 0
    /// Evaluation crop fraction: resize the shorter side to `⌊size / evalCropPct⌋`, then take the
    /// central `size × size` (timm's `crop_pct`; the official codes use 0.875: Resize(256) +
    /// CenterCrop(224)). nil resizes straight to the model's size (a no-op at native size).
    public var evalCropPct: Double?
    /// Interpolation of the evaluation resize (`bicubic`, `bilinear`, `nearest`).
    public var evalInterpolation = "bicubic"
    /// Training-time augmentation.
    public var augmentation = AugmentationConfig()

    public init() {}
}

/// Where the validation images come from: the only images that select checkpoints; the test
/// split is evaluated once, after training.
public struct ValidationConfig: Codable, Equatable, Sendable {
    /// `train` (carved from the training split, stratified by class), `dataset` (the data set's
    /// own validation split: an image-folder `val/` beside `test/`), or `none` (no validation:
    /// no best checkpoint, the test split measures the last weights).
    public var source = "train"
    /// For `train`: a fraction of every class (< 1) or a number of images per class (≥ 1, whole).
    /// With `data.samples_per_class` the validation images are drawn from the training-split
    /// images outside the limited training set.
    public var size = 0.1
    /// Seed of the carve (kept apart from `training.seed`, so runs with different seeds share
    /// one validation set).
    public var seed = 0

    /// Known values of `source`.
    public static let sources = ["train", "dataset", "none"]

    public init() {}

    /// `size` as a per-class amount.
    public var amount: PerClassAmount { size < 1 ? .fraction(size) : .count(Int(size)) }
}

/// Training-time augmentation (evaluation only resizes and normalizes). Zero/false/nil switches
/// a step off.
public struct AugmentationConfig: Codable, Equatable, Sendable {
    /// Random crop after zero padding by this many pixels on each side (0: off).
    public var randomCropPadding = 0
    /// RandomResizedCrop scale range `[min, max]` (nil: off).
    public var randomResizedCropScale: [Double]?
    /// Interpolation of RandomResizedCrop, RandAugment's geometric operations and the resize to
    /// the model's size (`bicubic`, timm's default `train_interpolation`; `bilinear`,
    /// torchvision's default; `nearest`).
    public var interpolation = "bicubic"
    /// Horizontal flip with probability 0.5.
    public var horizontalFlip = false
    /// RandAugment operations per image (0: off) and magnitude (0…10).
    public var randAugmentOps = 0
    public var randAugmentMagnitude = 9.0
    /// Random erasing probability (0: off).
    public var randomErasing = 0.0
    /// Mixup and CutMix Beta parameters (0: off) and the probability of mixing a batch.
    public var mixup = 0.0
    public var cutmix = 0.0
    public var mixProbability = 1.0

    public init() {}
}

/// The optimizer and its hyper-parameters.
public struct OptimizerConfig: Codable, Equatable, Sendable {
    /// `sgd`, `adam`, `adamw`, `lamb`, or `fusedlamb` (apex FusedLAMB: LAMB whose trust ratio
    /// applies only to decayed groups, with gradient clipping at 1.0 unless set).
    public var name = OptimizerKind.adamw
    /// Base learning rate (after `lrBatchReference` scaling, if set).
    public var lr = 1e-3
    /// Linear scaling rule: when set, the learning rate is `lr · batchSize / lrBatchReference`
    /// (DeiT/timm use 512).
    public var lrBatchReference: Int?
    public var weightDecay = 0.05
    /// Apply weight decay to 0-d parameters too (timm 0.4.x, GSB's learnable scales).
    public var decayScalars = false
    public var betas = [0.9, 0.999]
    public var eps = 1e-8
    /// SGD momentum and Nesterov switch.
    public var momentum = 0.9
    public var nesterov = false
    /// Global gradient-norm clipping threshold (nil: no clipping).
    public var clipGradNorm: Double?

    public init() {}
}

/// The learning-rate schedule (see `CosineSchedule` for the exact convention).
public struct ScheduleConfig: Codable, Equatable, Sendable {
    /// `cosine` or `constant`.
    public var name = ScheduleKind.cosine
    public var warmupEpochs = 0
    public var warmupLr = 1e-6
    public var minLr = 1e-5
    /// `epoch` (timm's per-epoch stepping with its one-epoch lag) or `iteration`.
    public var stepping = ScheduleStepping.epoch

    public init() {}
}

/// The loss: classification, optional distillation, family-specific extras.
public struct LossConfig: Codable, Equatable, Sendable {
    public var labelSmoothing = 0.0
    public var distillation = DistillationConfig()
    /// Q-ViT's distribution-guided distillation on the q/k Gram matrices (off while its
    /// weight is 0; needs a teacher).
    public var dgd = DGDConfig()
    /// Settings passed to the model family's extra loss terms (`LossTermProvider`).
    public var options: [String: String] = [:]

    public init() {}
}

/// Knowledge distillation from a frozen teacher.
public struct DistillationConfig: Codable, Equatable, Sendable {
    /// `none`; `hard` (DeiT: CE of the distillation head against the teacher's arg-max);
    /// `soft` (τ²·KL of softened distributions); `distribution` (BHViT: CE against the teacher's
    /// softmax, no label term when alpha is 1).
    public var type = DistillationType.none
    /// Weight of the distillation term; the label cross-entropy gets `1 − alpha`.
    public var alpha = 0.5
    /// Temperature τ of `soft`.
    public var tau = 1.0
    /// What `soft` divides the summed KL by: `numel` (B·C, DeiT) or `batch` (B).
    public var reduction = SoftDistillationLoss.Reduction.numel
    /// Teacher checkpoint (a BitViT checkpoint, or a timm-named safetensors file with
    /// `teacherModel` describing its architecture).
    public var teacher: String?
    public var teacherModel: ModelSpec?

    public init() {}
}

/// The procedure a recipe claims: which method's training code it reproduces, and how.
public struct MethodConfig: Codable, Equatable, Sendable {
    /// `none` (no claim), `deit`, `gsb`, `qvit` or `bhvit`.
    public var name = "none"
    /// `official-code` (what the released scripts do) or `paper` (what the paper describes,
    /// where it differs).
    public var mode = MethodMode.officialCode

    public init() {}
}

/// The two readings of a method's training procedure.
public enum MethodMode: String, Codable, Sendable, CaseIterable {
    case officialCode = "official-code"
    case paper
}

/// Kinds of distillation.
public enum DistillationType: String, Codable, Sendable, CaseIterable {
    case none, hard, soft, distribution
}

/// Run length, seeds, logging and checkpointing.
public struct RunConfig: Codable, Equatable, Sendable {
    public var epochs = 10
    /// Seeds the model initialization, dropout/drop-path and the data order/augmentation.
    public var seed = 0
    /// Worker threads (nil: all cores, or `BITVIT_NUM_THREADS`).
    public var threads: Int?
    /// Validate every this many epochs (and always after the last).
    public var evalEvery = 1
    /// Also write a metrics line every this many steps (0: epoch lines only).
    public var logEvery = 0
    /// Also save `last.safetensors` every this many steps (0: at epoch ends only).
    public var checkpointEvery = 0
    /// Parent directory of run directories.
    public var output = "runs"
    /// Checkpoint whose weights initialize the model before the first step, loaded
    /// non-strictly (GSB's stage 1 → stage 2, Q-ViT's full-precision initialization); the log
    /// lists the names it lacks and the names the model lacks. Not used when resuming.
    public var initCheckpoint: String?
    /// Training batches probed after every epoch for the quantizer diagnostics written to
    /// `diagnostics.jsonl` (0: no probing; flip ratios are recorded whenever this is positive).
    public var diagnosticsBatches = 0

    public init() {}
}

/// How several processes train one model (docs/distributed.md). `data.batch_size` is the batch
/// of each process; the global batch is `batch_size × processes`.
public struct DistributedConfig: Codable, Equatable, Sendable {
    /// BatchNorm layers normalize with the statistics of the global batch (PyTorch's
    /// `SyncBatchNorm`, as BHViT's official runs) instead of each process's own.
    public var syncBatchNorm = false
    /// Gradients are summed in buckets of at most this many megabytes (10⁶ bytes; PyTorch's
    /// default 25).
    public var bucketMb = 25.0
    /// Start a bucket's sum as soon as the backward pass has finished its gradients.
    public var overlap = true
    /// Seconds a collective may wait for the other processes before the job is ended as failed.
    public var timeoutSeconds = 1800.0

    public init() {}
}
