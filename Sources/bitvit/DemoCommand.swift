import ArgumentParser
import BitViTTools
import BitViTTrain
import Foundation

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
        var demo = Demo(config: config, runDirectory: URL(fileURLWithPath: runDir ?? "runs/demo-\(stamp.string(from: Date()))"))
        demo.observer = ConsoleProgress()
        Interrupt.install()
        demo.stopRequested = { Interrupt.isRequested }
        let start = Date()
        let summary = try demo.run()
        print("\n== Summary")
        for line in summary { print("  " + line) }
        print(String(format: "  total wall time      %.1f s", Date().timeIntervalSince(start)))
    }
}
