import BitViTData
import BitViTTrain
import Foundation

/// The main job (`bitvit demo`): check the data, train, evaluate the best checkpoint again from
/// disk, export it as a bit-packed `.bitvit` file, check the engine against the training graph
/// on the test split, benchmark the engine's bit kernels against its float kernels, and collect
/// the summary. Each stage logs as it goes; later stages read what earlier ones left in the
/// context. An interrupted training skips to the summary.
public struct Demo {
    public var config: TrainConfig
    public var runDirectory: URL
    /// The engine benchmark's rounds, batch-1 calls per round and throughput batch.
    public var benchmark = InferenceBenchmark(model: "", rounds: 5, iterations: 20, batch: 64)
    /// Receives every line the stages print.
    public var log: (String) -> Void = { print($0) }
    /// Training progress.
    public var observer: TrainingObserver?
    /// Polled after every training step; true saves the run and ends training.
    public var stopRequested: () -> Bool = { false }

    public init(config: TrainConfig, runDirectory: URL) {
        self.config = config
        self.runDirectory = runDirectory
    }

    /// The stages in order.
    public static let stages: [any DemoStage] = [DataCheckStage(), TrainStage(), ReevaluateStage(), ExportStage(), ParityStage(),
                                                 BenchmarkStage()]

    /// Runs the stages and returns the summary lines.
    public func run() throws -> [String] {
        var context = DemoContext(demo: self)
        var summary: [String] = []
        for (i, stage) in Self.stages.enumerated() {
            log("\n== [\(i + 1)/\(Self.stages.count)] \(stage.title)")
            summary += try stage.run(&context)
            if context.outcome?.summary.interrupted == true { break }
        }
        return summary
    }
}

/// One step of the demo.
public protocol DemoStage {
    var title: String { get }
    /// Runs the stage and returns the lines it adds to the final summary.
    func run(_ context: inout DemoContext) throws -> [String]
}

/// What the demo's stages share.
public struct DemoContext {
    public let demo: Demo
    public var outcome: TrainingSession.Outcome?
    public var bestCheckpoint: URL?
    /// The exported deployment file (`<run>/model.bitvit`).
    public var modelFile: URL?

    init(demo: Demo) { self.demo = demo }

    public var config: TrainConfig { demo.config }
    public var runDirectory: URL { demo.runDirectory }
    public func log(_ line: String) { demo.log(line) }
}

struct DataCheckStage: DemoStage {
    let title = "Data"

    func run(_ context: inout DemoContext) throws -> [String] {
        guard context.config.data.dataset == .fashionMNIST else {
            context.log("\(context.config.data.dataset): checked when training starts")
            return []
        }
        let dir = context.config.data.root ?? FashionMNIST.defaultDirectory.path
        let file = URL(fileURLWithPath: dir).appendingPathComponent("train-images-idx3-ubyte.gz")
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw BitViTError.missing("\(file.path): install the data with `bash scripts/setup` (Debian package dataset-fashion-mnist)")
        }
        context.log("data in \(dir)")
        return []
    }
}

struct TrainStage: DemoStage {
    let title = "Train"

    func run(_ context: inout DemoContext) throws -> [String] {
        var session = TrainingSession(config: context.config, runDirectory: context.runDirectory, observer: context.demo.observer)
        session.stopRequested = context.demo.stopRequested
        let outcome = try session.run()
        context.outcome = outcome
        let s = outcome.summary
        context.bestCheckpoint = s.bestCheckpoint.map { URL(fileURLWithPath: $0) }
        let c = context.config
        var lines = [
            "model                \(c.model.name): patch \(c.model.patchSize.map(String.init) ?? "preset"), "
                + "width \(c.model.dim.map(String.init) ?? "preset"), depth \(c.model.depth.map(String.init) ?? "preset")",
            "epochs               \(s.epochsCompleted) (\(s.steps) steps of \(c.data.batchSize) images)",
            String(format: "training time        %.1f s at %.0f images/s", s.trainingSeconds, s.imagesPerSecond),
        ]
        if let best = s.bestTop1 {
            lines.append(String(format: "validation top-1     %.2f %% best (epoch %d), %.2f %% last", 100 * best, s.bestEpoch ?? 0,
                                100 * (s.finalTop1 ?? .nan)))
        }
        if let test = s.test {
            if let best = test.best {
                lines.append(String(format: "test top-1           %.2f %% (top-5 %.2f %%), best-on-validation checkpoint (epoch %d)",
                                    100 * best.result.top1, 100 * best.result.top5, best.epoch))
            }
            lines.append(String(format: "test top-1, last     %.2f %% (top-5 %.2f %%), epoch %d", 100 * test.last.result.top1,
                                100 * test.last.result.top5, test.last.epoch))
        }
        if let last = s.lastCheckpoint { lines.append("last checkpoint      \(last)") }
        if let best = s.bestCheckpoint { lines.append("best checkpoint      \(best)") }
        lines += outcome.plots.map { "curves               \($0.path)" }
        return lines
    }
}

/// Loads the best checkpoint from disk into a fresh model and evaluates it on the test split
/// again, which checks that what was saved is what was measured.
struct ReevaluateStage: DemoStage {
    let title = "Evaluate the best checkpoint from disk"

    func run(_ context: inout DemoContext) throws -> [String] {
        guard let url = context.bestCheckpoint else { return [] }
        let checkpoint = try Checkpoint.load(url)
        let model = try checkpoint.makeModel()
        let data = try TrainingData.evaluationData(checkpoint.config ?? context.config)
        let result = try Evaluator.evaluate(model, on: data.source)
        context.log(url.lastPathComponent + String(format: ": test top-1 %.2f %%", 100 * result.top1))
        context.log(confusionTable(result, classNames: data.classNames))
        var line = String(format: "best checkpoint      test top-1 %.2f %% (epoch %d, reloaded from disk", 100 * result.top1,
                          checkpoint.state?.bestEpoch ?? 0)
        if let measured = context.outcome?.test?.best {
            line += measured.result == result ? "; the same as measured after training)" : String(
                format: "; %.2f %% measured after training)", 100 * measured.result.top1)
        } else {
            line += ")"
        }
        return [line]
    }
}
