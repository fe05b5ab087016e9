import Foundation

/// Where a run is, after a training batch.
public struct BatchProgress: Sendable {
    /// Epoch in progress (0-based) and the run length.
    public var epoch: Int
    public var epochs: Int
    /// Batches done in this epoch and per epoch.
    public var batch: Int
    public var batches: Int
    /// Means over the epoch's batches so far.
    public var meanLoss: Double
    public var top1: Double
    public var imagesPerSecond: Double
    public var learningRate: Double
    /// Estimated seconds until the run ends (training only).
    public var remainingSeconds: Double
}

/// Receives a run's progress (the console display, or nothing in tests).
public protocol TrainingObserver: AnyObject {
    func batchDidFinish(_ progress: BatchProgress)
    func evaluationDidProgress(batch: Int, of batches: Int)
    func epochDidFinish(_ record: MetricsRecord, epochs: Int, newBest: Bool)
    /// A one-off line (resuming, checkpoint saved, …).
    func note(_ text: String)
}

/// Progress on standard output: a live bar redrawn in place when stdout is a terminal, plain
/// lines at most every `lineInterval` seconds (and at epoch ends) otherwise.
public final class ConsoleProgress: TrainingObserver {
    public let isTerminal: Bool
    public var lineInterval: Double
    private var lastLine = Date.distantPast
    private var barShown = false
    private let write: (String) -> Void

    public init(isTerminal: Bool = isatty(STDOUT_FILENO) != 0, lineInterval: Double = 15,
                write: @escaping (String) -> Void = { fputs($0, stdout); fflush(stdout) }) {
        self.isTerminal = isTerminal
        self.lineInterval = lineInterval
        self.write = write
    }

    public func batchDidFinish(_ p: BatchProgress) {
        let stats = String(format: "loss %.4f  acc %5.1f%%  %6.0f img/s  lr %.2e  ETA ",
                           p.meanLoss, 100 * p.top1, p.imagesPerSecond, p.learningRate)
            + Self.duration(p.remainingSeconds)
        let epoch = "epoch \(p.epoch + 1)/\(p.epochs)"
        if isTerminal {
            let width = 24
            let filled = p.batches > 0 ? width * p.batch / p.batches : 0
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            write("\r\u{1B}[2K\(epoch) \(bar) \(p.batch)/\(p.batches)  \(stats)")
            barShown = true
        } else if Date().timeIntervalSince(lastLine) >= lineInterval || p.batch == p.batches {
            lastLine = Date()
            write("\(epoch) batch \(p.batch)/\(p.batches)  \(stats)\n")
        }
    }

    public func evaluationDidProgress(batch: Int, of batches: Int) {
        guard isTerminal else { return }
        write("\r\u{1B}[2K  evaluating \(batch)/\(batches)")
        barShown = true
    }

    public func epochDidFinish(_ r: MetricsRecord, epochs: Int, newBest: Bool) {
        endBar()
        var line = String(format: "epoch %d/%d  train loss %.4f  acc %.2f%%", r.epoch, epochs, r.trainLoss,
                          100 * (r.trainTop1 ?? .nan))
        if let vl = r.valLoss, let v1 = r.valTop1 {
            line += String(format: "  |  val loss %.4f  top-1 %.2f%%", vl, 100 * v1)
            if let v5 = r.valTop5 { line += String(format: "  top-5 %.2f%%", 100 * v5) }
            if newBest { line += "  (best)" }
        }
        line += String(format: "  |  %.0f img/s  %.0f s", r.imagesPerSecond ?? 0, r.epochSeconds ?? 0)
        write(line + "\n")
        lastLine = Date()
    }

    public func note(_ text: String) {
        endBar()
        write(text + "\n")
    }

    private func endBar() {
        if barShown { write("\r\u{1B}[2K") }
        barShown = false
    }

    /// `h:mm:ss` or `m:ss`.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--:--" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                         : String(format: "%d:%02d", s / 60, s % 60)
    }
}
