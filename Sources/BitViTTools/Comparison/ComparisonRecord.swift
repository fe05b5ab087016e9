import BitViTPlatform
import BitViTTrain
import Foundation

/// What a finished run (one seed of it) of a comparison leaves for the report, kept apart from
/// its run directory: the configuration it trained with, its epoch metrics, its test report and
/// its wall time — a few kilobytes of JSON, without checkpoints.
///
/// A plan with `records: <directory>` writes one per run and seed, `<records>/<run>/seed-<s>.json`
/// (`<records>/<run>.json` without seeds), when the run finishes or, for runs finished earlier,
/// when the report is written. Kept in version control next to the plan, they let the report be
/// regenerated from a fresh checkout and a plan be trained in parts — some runs now, the rest
/// later or on another machine (docs/methods.md, "Comparing methods").
public struct ComparisonRecord: Codable, Equatable, Sendable {
    public var run: String
    public var seed: Int?
    /// The run's resolved recipe (YAML) as `ComparisonRecord.normalized` writes it.
    public var config: String
    /// The `epoch` lines of its metrics log.
    public var epochs: [MetricsRecord]
    public var test: TestReport?
    /// The best validation top-1 and its 1-based epoch (the selected checkpoint).
    public var bestValidationTop1: Double?
    public var bestEpoch: Int?
    /// Wall seconds `bitvit compare` spent on the run (nil: trained outside a comparison).
    public var wallSeconds: Double?

    enum CodingKeys: String, CodingKey {
        case run, seed, config, epochs, test, bestValidationTop1 = "best_validation_top1", bestEpoch = "best_epoch"
        case wallSeconds = "wall_seconds"
    }

    /// The largest record file read (a record of a few hundred epochs is well below).
    public static let maxBytes = 4 << 20

    /// `config` as records store and compare it: without the thread count (not part of the
    /// experiment), and with the plan's output directory — `training.output` and the run
    /// directories that `{run:NAME}` references resolve to, absolute paths that differ between
    /// checkouts — written `<output>`.
    public static func normalized(_ config: TrainConfig, output: String) throws -> String {
        var config = config
        config.training.threads = nil
        config.training.output = "<output>"
        return try config.yaml().replacingOccurrences(of: URL(fileURLWithPath: output).path + "/", with: "<output>/")
    }

    /// Whether two `normalized` texts describe the same configuration: equal as text, or equal
    /// once read back (records written before `TrainConfig.yaml()` sorted the keys of free-form
    /// maps such as `model.options` list them in any order).
    public static func sameConfiguration(_ a: String, _ b: String) -> Bool {
        if a == b { return true }
        guard let x = try? TrainConfig.resolve(recipeText: a, source: "record"),
              let y = try? TrainConfig.resolve(recipeText: b, source: "plan") else { return false }
        return x == y
    }

    /// Reads a record; nil when the file does not exist.
    public static func read(_ url: URL) throws -> ComparisonRecord? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        return try decode(try FileInput.read(url, limit: maxBytes, what: "comparison record"), source: url.path)
    }

    /// Decodes the bytes of a record file (`source` names it in errors).
    public static func decode(_ data: Data, source: String) throws -> ComparisonRecord {
        guard data.count <= maxBytes else {
            throw BitViTError.malformed(file: source, reason: "\(data.count) bytes, more than a comparison record's \(maxBytes)")
        }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do { return try decoder.decode(ComparisonRecord.self, from: data) } catch {
            throw BitViTError.malformed(file: source, reason: "not a comparison record: \(ReadableError.decoding(error))")
        }
    }

    /// The file's bytes: JSON with sorted keys, one field per line (diffs stay readable).
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(self) + Data("\n".utf8)
    }

    /// Writes the record atomically.
    public func write(to url: URL) throws { try AtomicFile.write(try encoded(), to: url) }
}
