import Foundation
import BitViTCore

/// One line of a run's `metrics.jsonl`.
///
/// `type` is `epoch` (written after every epoch; validation fields present when the epoch was
/// validated) or `step` (every `training.log_every` steps). Losses are means over the images
/// of the epoch (or the single step); accuracies are fractions in [0, 1]; `epoch` is 1-based
/// (the epoch just finished, or in progress for `step` lines).
public struct MetricsRecord: Codable, Equatable, Sendable {
    public var type: String
    public var epoch: Int
    /// Optimizer steps taken when the line was written.
    public var step: Int
    /// Learning rate of the last step.
    public var lr: Double
    public var trainLoss: Double
    public var trainTop1: Double?
    /// Unweighted loss terms by name (`ce`, `distill`, …).
    public var lossTerms: [String: Double]?
    public var valLoss: Double?
    public var valTop1: Double?
    public var valTop5: Double?
    public var gradNorm: Double?
    public var imagesPerSecond: Double?
    public var epochSeconds: Double?
    /// Training seconds since the run started (evaluation excluded).
    public var elapsedSeconds: Double

    enum CodingKeys: String, CodingKey {
        case type, epoch, step, lr, trainLoss = "train_loss", trainTop1 = "train_top1", lossTerms = "loss_terms"
        case valLoss = "val_loss", valTop1 = "val_top1", valTop5 = "val_top5", gradNorm = "grad_norm"
        case imagesPerSecond = "images_per_second", epochSeconds = "epoch_seconds", elapsedSeconds = "elapsed_seconds"
    }

    public init(type: String, epoch: Int, step: Int, lr: Double, trainLoss: Double, trainTop1: Double? = nil,
                lossTerms: [String: Double]? = nil, valLoss: Double? = nil, valTop1: Double? = nil,
                valTop5: Double? = nil, gradNorm: Double? = nil, imagesPerSecond: Double? = nil,
                epochSeconds: Double? = nil, elapsedSeconds: Double) {
        self.type = type
        self.epoch = epoch
        self.step = step
        self.lr = lr
        self.trainLoss = trainLoss
        self.trainTop1 = trainTop1
        self.lossTerms = lossTerms
        self.valLoss = valLoss
        self.valTop1 = valTop1
        self.valTop5 = valTop5
        self.gradNorm = gradNorm
        self.imagesPerSecond = imagesPerSecond
        self.epochSeconds = epochSeconds
        self.elapsedSeconds = elapsedSeconds
    }
}

/// A run's JSON-lines metrics file: one `MetricsRecord` per line, appended as training goes.
public final class MetricsLog {
    public let url: URL

    public init(url: URL) { self.url = url }

    /// Appends one record as a line.
    public func append(_ record: MetricsRecord) throws {
        try appendLine(try jsonString(record))
    }

    /// Appends `text` and a newline, creating the file (and its directory) if needed.
    func appendLine(_ text: String) throws {
        let line = Data((text + "\n").utf8)
        let fm = FileManager.default
        if !fm.fileExists(atPath: url.path) {
            try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            guard fm.createFile(atPath: url.path, contents: nil) else { throw BitViTError.io("cannot create \(url.path)") }
        }
        do {
            let handle = try FileHandle(forWritingTo: url)
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: line)
        } catch {
            throw BitViTError.io("cannot append to \(url.path): \(ReadableError.reason(error))")
        }
    }

    /// Drops the lines written after optimizer step `step` (a resumed run rewrites them), atomically.
    public func truncate(afterStep step: Int) throws {
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        let kept = try Self.read(url).filter { $0.step <= step }
        try AtomicFile.write(try kept.map { try jsonString($0) + "\n" }.joined(), to: url)
    }

    /// Reads every record of a metrics file; a malformed line is an error naming the line.
    public static func read(_ url: URL) throws -> [MetricsRecord] {
        try JSONLines.read(url, as: MetricsRecord.self, what: "metrics record")
    }
}

/// Reading JSON-lines files (one JSON object per line, blank lines ignored).
enum JSONLines {
    static func read<T: Decodable>(_ url: URL, as type: T.Type, what: String) throws -> [T] {
        let text = try FileInput.readText(url, limit: 1 << 30, what: "\(what) log (JSON lines)")
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var records: [T] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            do { records.append(try decoder.decode(T.self, from: Data(trimmed.utf8))) } catch {
                throw BitViTError.malformed(file: url.path, reason: "line \(i + 1) is not a \(what): \(ReadableError.decoding(error, keyName: snakeCased))")
            }
        }
        return records
    }
}
