import Foundation

/// Where a training run is: which epoch and which batch of it.
public struct TrainingProgress: Codable, Equatable, Sendable {
    /// Current epoch, 0-based.
    public var epoch: Int
    /// Epochs of the whole run.
    public var epochs: Int
    /// Batch index inside the epoch, 0-based.
    public var iteration: Int
    /// Batches per epoch.
    public var iterationsPerEpoch: Int

    public init(epoch: Int, epochs: Int, iteration: Int, iterationsPerEpoch: Int) {
        self.epoch = epoch
        self.epochs = epochs
        self.iteration = iteration
        self.iterationsPerEpoch = iterationsPerEpoch
    }

    /// Optimizer steps taken before this batch, counted from the start of training.
    public var globalStep: Int { epoch * iterationsPerEpoch + iteration }

    /// Fraction of the run completed before this batch, in [0, 1].
    public var fraction: Double {
        let total = Double(max(1, epochs * iterationsPerEpoch))
        return min(1, Double(globalStep) / total)
    }
}

/// Maps a training position to a learning rate.
public protocol LearningRateSchedule {
    /// The learning rate of the optimizer step at `progress`.
    func learningRate(at progress: TrainingProgress) -> Double
}

/// How often a schedule moves.
public enum ScheduleStepping: String, Codable, Sendable, CaseIterable {
    /// Once per epoch, with timm's one-epoch lag: see `CosineSchedule`.
    case epoch
    /// After every optimizer step.
    case iteration
}

/// Cosine decay from `baseLR` to `minLR` with an optional linear warmup (timm
/// `CosineLRScheduler`, one cycle, `warmup_prefix = False`).
///
/// With `t` the schedule position and `T`, `W` the run and warmup lengths in the same unit:
///
///     L(t) = warmupLR + t·(baseLR − warmupLR)/W                 for t < W
///     L(t) = minLR + ½(baseLR − minLR)(1 + cos(π·t/T))          for W ≤ t < T
///     L(t) = minLR                                               for t ≥ T
///
/// As in timm, the cosine runs over the whole run (the warmup epochs are not subtracted).
///
/// Per-epoch stepping (timm's convention, docs/reference/gsb.md §6.3, docs/reference/qvit.md §7.2): timm sets `L(0)` before
/// training and calls `scheduler.step(e)` after epoch `e`, so epoch `e` (0-based) runs at
/// `L(max(e − 1, 0))`: epochs 0 and 1 both use `L(0)`, epoch 2 uses `L(1)`, and so on, with
/// `T = W` and `W` counted in epochs.
///
/// Per-iteration stepping (timm `step_update`): global step `k` runs at `L(k)`, with `T` and
/// `W` counted in steps (`epochs · iterationsPerEpoch`, `warmupEpochs · iterationsPerEpoch`).
public struct CosineSchedule: LearningRateSchedule, Codable, Equatable, Sendable {
    public var baseLR: Double
    public var minLR: Double
    public var warmupLR: Double
    public var warmupEpochs: Int
    public var stepping: ScheduleStepping

    public init(baseLR: Double, minLR: Double = 0, warmupEpochs: Int = 0, warmupLR: Double = 0,
                stepping: ScheduleStepping = .epoch) {
        self.baseLR = baseLR
        self.minLR = minLR
        self.warmupLR = warmupLR
        self.warmupEpochs = warmupEpochs
        self.stepping = stepping
    }

    /// `L(t)` for a run of `total` units with `warmup` warmup units.
    public func value(at t: Int, total: Int, warmup: Int) -> Double {
        if t < warmup { return warmupLR + Double(t) * (baseLR - warmupLR) / Double(warmup) }
        if t >= total { return minLR }
        return minLR + 0.5 * (baseLR - minLR) * (1 + cos(Double.pi * Double(t) / Double(total)))
    }

    public func learningRate(at p: TrainingProgress) -> Double {
        switch stepping {
        case .epoch:
            return value(at: max(p.epoch - 1, 0), total: p.epochs, warmup: warmupEpochs)
        case .iteration:
            return value(at: p.globalStep, total: p.epochs * p.iterationsPerEpoch,
                         warmup: warmupEpochs * p.iterationsPerEpoch)
        }
    }
}

/// The same learning rate for every step, after an optional linear warmup (stepped like
/// `CosineSchedule`).
public struct ConstantSchedule: LearningRateSchedule, Codable, Equatable, Sendable {
    public var cosine: CosineSchedule

    public init(learningRate: Double, warmupEpochs: Int = 0, warmupLR: Double = 0,
                stepping: ScheduleStepping = .epoch) {
        cosine = CosineSchedule(baseLR: learningRate, minLR: learningRate, warmupEpochs: warmupEpochs,
                                warmupLR: warmupLR, stepping: stepping)
    }

    public func learningRate(at p: TrainingProgress) -> Double { cosine.learningRate(at: p) }
}
