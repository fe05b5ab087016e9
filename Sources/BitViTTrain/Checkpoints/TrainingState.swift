import Foundation
import BitViTCore
import BitViTModels

/// A model whose stochastic layers (dropout, drop path) draw from one `RandomSource`; the
/// trainer saves and restores that stream so a resumed run draws the same masks.
/// New model families conform by exposing their source.
public protocol RandomSourceOwner {
    var random: RandomSource { get }
}

extension DeiT: RandomSourceOwner {}
extension BHViT: RandomSourceOwner {}

/// Everything besides tensors that a resumed run needs to continue exactly: the position in
/// the data, the model's random stream, the partial sums of the epoch in progress and the
/// best validation result so far. Stored as JSON in checkpoint metadata.
public struct TrainingState: Codable, Equatable, Sendable {
    /// Epoch of the next batch (0-based); equals the number of completed epochs at an epoch end.
    public var epoch = 0
    /// Index of the next batch inside `epoch`.
    public var iteration = 0
    /// Optimizer steps taken so far.
    public var globalStep = 0
    /// The model's `RandomSource` words, as hexadecimal strings (exact for 64-bit values).
    public var modelRandom: [String] = []
    /// Sums over the batches of the epoch in progress.
    public var epochTotals = EpochTotals()
    /// Best validation top-1 (fraction) so far and the epoch (1-based) that reached it.
    public var bestTop1: Double?
    public var bestEpoch: Int?
    /// Training wall time so far, in seconds, over the run's start and every resume.
    public var elapsedSeconds = 0.0
    /// Validation top-1 and top-5 (fractions) after the last validated epoch, so that a run
    /// resumed after its end reports them (nil in checkpoints written before they existed).
    public var lastTop1: Double?
    public var lastTop5: Double?
    /// Training images seen over the run's start and every resume (nil in older
    /// checkpoints).
    public var trainedImages: Int?
    /// Processes of a data-parallel run (nil: one process). An exact resume needs as many.
    public var worldSize: Int?
    /// The random stream of every process of a data-parallel run, rank by rank (same encoding
    /// as `modelRandom`, which holds rank 0's); nil with one process.
    public var processRandom: [[String]]?

    public init() {}

    static func hexWords(_ words: [UInt64]) -> [String] { words.map { String($0, radix: 16) } }

    /// Throws naming the first field that no run can have written: a negative position or
    /// count, a non-finite time or sum, a top-1 outside [0, 1].
    public func validate() throws {
        let r = FieldRules()
        try r.count("epoch", epoch, 0...Int.max)
        try r.count("iteration", iteration, 0...Int.max)
        try r.count("global_step", globalStep, 0...Int.max)
        try r.number("elapsed_seconds", elapsedSeconds, 0, .greatestFiniteMagnitude)
        if let v = bestTop1 { try r.number("best_top1", v, 0, 1) }
        if let v = bestEpoch { try r.count("best_epoch", v, 1...Int.max) }
        if let v = lastTop1 { try r.number("last_top1", v, 0, 1) }
        if let v = lastTop5 { try r.number("last_top5", v, 0, 1) }
        if let v = trainedImages { try r.count("trained_images", v, 0...Int.max) }
        if let v = worldSize { try r.count("world_size", v, 1...Int.max) }
        if let v = processRandom, v.count != worldSize ?? 1 {
            throw r.failure("process_random", "has \(v.count) entries for \(worldSize ?? 1) processes")
        }
        let t = epochTotals
        for (field, v) in [("batches", t.batches), ("images", t.images), ("correct", t.correct)] {
            try r.count("epoch_totals.\(field)", v, 0...Int.max)
        }
        try r.number("epoch_totals.seconds", t.seconds, 0, .greatestFiniteMagnitude)
        try r.finite("epoch_totals.weighted_loss", t.weightedLoss)
        for (name, v) in t.weightedTerms { try r.finite("epoch_totals.weighted_terms.\(name)", v) }
    }

    /// The random stream of process `rank`.
    func randomWords(rank: Int = 0) throws -> [UInt64] {
        let hex = rank == 0 ? modelRandom : (processRandom.flatMap { rank < $0.count ? $0[rank] : nil } ?? [])
        let words = hex.compactMap { UInt64($0, radix: 16) }
        guard words.count == 4, hex.count == 4 else {
            throw BitViTError.invalidArgument("training state has a malformed random state \(hex) for process \(rank)")
        }
        return words
    }
}

/// Running sums over one epoch's training batches.
public struct EpochTotals: Codable, Equatable, Sendable {
    public var batches = 0
    public var images = 0
    /// Σ loss·batchSize (total loss) and the same per term.
    public var weightedLoss = 0.0
    public var weightedTerms: [String: Double] = [:]
    /// Training-mode predictions that matched the label.
    public var correct = 0
    /// Seconds spent in training steps (data waiting included, evaluation excluded).
    public var seconds = 0.0

    public init() {}

    public var meanLoss: Double { images > 0 ? weightedLoss / Double(images) : .nan }
    public var top1: Double { images > 0 ? Double(correct) / Double(images) : .nan }
    public var imagesPerSecond: Double { seconds > 0 ? Double(images) / seconds : 0 }
    public var meanTerms: [String: Double] { weightedTerms.mapValues { images > 0 ? $0 / Double(images) : .nan } }
}
