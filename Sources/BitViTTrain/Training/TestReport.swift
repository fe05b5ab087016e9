import Foundation
import BitViTCore

/// The test split measured once after training, with the last weights and with the checkpoint
/// selected on validation: what a run reports as its accuracy. Written as `test.json` in the
/// run directory.
public struct TestReport: Codable, Equatable, Sendable {
    /// One measured checkpoint.
    public struct Entry: Codable, Equatable, Sendable {
        /// `last` or `best` (selected on validation).
        public var checkpoint: String
        /// The 1-based epoch after which the weights were saved.
        public var epoch: Int
        public var result: EvaluationResult

        public init(checkpoint: String, epoch: Int, _ result: EvaluationResult) {
            self.checkpoint = checkpoint
            self.epoch = epoch
            self.result = result
        }
    }

    public var last: Entry
    /// nil when the run had no validation (nothing was selected) or keeps no files.
    public var best: Entry?

    public static let fileName = "test.json"

    /// The checkpoint a run reports: the one selected on validation, else the last.
    public var selected: Entry { best ?? last }

    public init(last: Entry, best: Entry?) {
        self.last = last
        self.best = best
    }

    /// One line per measured checkpoint (one line when the best epoch is the last).
    public var lines: [String] {
        func line(_ e: Entry, _ what: String) -> String {
            String(format: "test split, %@ (epoch %d): top-1 %.2f %%  top-5 %.2f %%  loss %.4f  (%d images)",
                   what, e.epoch, 100 * e.result.top1, 100 * e.result.top5, e.result.loss, e.result.count)
        }
        guard let best else { return [line(last, "last checkpoint")] }
        if best.epoch == last.epoch { return [line(last, "last checkpoint = best-on-validation checkpoint")] }
        return [line(last, "last checkpoint"), line(best, "best-on-validation checkpoint")]
    }

    /// Writes the report as JSON, atomically.
    public func write(to url: URL) throws {
        try AtomicFile.write(try jsonString(self) + "\n", to: url)
    }

    /// Reads a report written by `write(to:)`; nil when the file does not exist.
    public static func read(_ url: URL) throws -> TestReport? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw BitViTError.io("cannot read \(url.path): \(error.localizedDescription)")
        }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do { return try decoder.decode(TestReport.self, from: data) } catch {
            throw BitViTError.malformed(file: url.path, reason: "not a test report: \(error)")
        }
    }
}
