import ArgumentParser
import BitViTTrain
import Foundation

/// One step of the demo; later stages read what earlier ones left in the context.
protocol DemoStage {
    var title: String { get }
    /// Runs the stage and returns the lines it adds to the final summary.
    func run(_ context: inout DemoContext) throws -> [String]
}

/// What the demo's stages share.
struct DemoContext {
    var config: TrainConfig
    var runDirectory: URL
    var outcome: TrainingSession.Outcome?
    var bestCheckpoint: URL?
    /// The exported deployment file (`<run>/model.bitvit`).
    var modelFile: URL?
}

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "The main job on its embedded default: train a small binary ViT on Fashion-MNIST, export it, benchmark it, summarize.",
        discussion: """
            Stages: check the data; train (the embedded copy of recipes/gsb-vit-mnist.yaml: a GSB \
            stage-2 ViT, or --recipe), selecting the best checkpoint on validation images carved from \
            the training split and measuring the test split once at the end; evaluate the best \
            checkpoint on the test split again from disk; export it as a \
            bit-packed .bitvit file; check the inference engine against the training graph on the \
            whole test split; benchmark the engine's bit kernels against its float kernels at batch 1; \
            print a summary. Ctrl-C during training saves the run and skips to the summary.
            """)

    @Option(help: "Recipe to train instead of the embedded one (any family the engine runs).") var recipe: String?
    @OptionGroup var recipeOptions: RecipeOptions
    @Option(parsing: .unconditional, help: "Epochs (overrides training.epochs).") var epochs: Int?
    @Option(help: "Run directory (default: runs/demo-<date>-<time>).") var runDir: String?
    @Option(parsing: .unconditional, help: "Worker threads.") var threads: Int?

    func validate() throws {
        try checkOption("--epochs", epochs, 1...TrainConfig.maxEpochs)
        try checkThreads(threads)
    }

    func run() throws {
        var overrides = recipeOptions.overrides
        if let epochs { overrides.append("training.epochs=\(epochs)") }
        if let threads { overrides.append("training.threads=\(threads)") }
        let config = try recipe.map { try TrainConfig.resolve(recipe: URL(fileURLWithPath: $0), overrides: overrides) }
            ?? TrainConfig.demo(overrides: overrides)
        let stamp = DateFormatter()
        stamp.dateFormat = "yyyyMMdd-HHmmss"
        let directory = URL(fileURLWithPath: runDir ?? "runs/demo-\(stamp.string(from: Date()))")
        var context = DemoContext(config: config, runDirectory: directory)
        let stages: [any DemoStage] = [DataCheckStage(), TrainStage(), ReevaluateStage(), ExportStage(), ParityStage(),
                                       BenchmarkStage()]
        let start = Date()
        var summary: [String] = []
        Interrupt.install()
        for (i, stage) in stages.enumerated() {
            print("\n== [\(i + 1)/\(stages.count)] \(stage.title)")
            summary += try stage.run(&context)
            if context.outcome?.summary.interrupted == true { break }
        }
        print("\n== Summary")
        for line in summary { print("  " + line) }
        print(String(format: "  total wall time      %.1f s", Date().timeIntervalSince(start)))
    }
}

struct DataCheckStage: DemoStage {
    let title = "Data"

    func run(_ context: inout DemoContext) throws -> [String] {
        guard context.config.data.dataset == "fashion-mnist" else {
            print("\(context.config.data.dataset): checked when training starts")
            return []
        }
        let dir = context.config.data.root ?? FashionMNIST.defaultDirectory.path
        let file = URL(fileURLWithPath: dir).appendingPathComponent("train-images-idx3-ubyte.gz")
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw BitViTError.missing("\(file.path): install the data with `bash scripts/setup` (Debian package dataset-fashion-mnist)")
        }
        print("data in \(dir)")
        return []
    }
}

struct TrainStage: DemoStage {
    let title = "Train"

    func run(_ context: inout DemoContext) throws -> [String] {
        var session = TrainingSession(config: context.config, runDirectory: context.runDirectory, observer: ConsoleProgress())
        session.stopRequested = { Interrupt.isRequested }
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
        print(url.lastPathComponent + String(format: ": test top-1 %.2f %%", 100 * result.top1))
        print(confusionTable(result, classNames: data.classNames))
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
