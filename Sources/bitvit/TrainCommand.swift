import ArgumentParser
import BitViTTools
import BitViTTrain
import Foundation

/// Options that resolve a training configuration.
struct RecipeOptions: ParsableArguments {
    @Option(name: .customLong("set"), parsing: .singleValue,
            help: ArgumentHelp("Override a recipe field, e.g. --set optimizer.lr=5e-4 (repeatable).", valueName: "key.path=value"))
    var overrides: [String] = []

    func resolve(_ recipe: String?) throws -> TrainConfig {
        try TrainConfig.resolve(recipe: recipe.map { URL(fileURLWithPath: $0) }, overrides: overrides)
    }
}

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model from a recipe (YAML or JSON) with optional overrides.",
        discussion: """
            The run directory (default <training.output>/<name>) receives config.yaml, metrics.jsonl, \
            last.safetensors (resumable), best.safetensors (best validation top-1), test.json (the test \
            split after training, last and best checkpoints) and curves.svg/png. Ctrl-C saves \
            last.safetensors after the current step; --resume continues exactly there. --dry-run prints \
            the resolved recipe, preceded by the check against the procedure it claims (method.name, \
            method.mode) as comments.
            """)

    @Argument(help: "Recipe file (.yaml/.yml/.json); omit to use the defaults (or the checkpoint's with --resume-from).")
    var recipe: String?
    @OptionGroup var recipeOptions: RecipeOptions
    @Flag(help: "Print the resolved configuration and exit.") var dryRun = false
    @Flag(help: "Continue the run in the run directory from its last.safetensors.") var resume = false
    @Option(help: "Continue from this checkpoint (its stored configuration is used unless a recipe is given).")
    var resumeFrom: String?
    @Option(help: "Run directory (default: <training.output>/<name>).") var runDir: String?
    @Option(parsing: .unconditional, help: "Worker threads (overrides training.threads).") var threads: Int?

    func validate() throws { try checkThreads(threads) }

    func run() throws {
        var config: TrainConfig
        if let resumeFrom, recipe == nil {
            guard let stored = try Checkpoint.load(URL(fileURLWithPath: resumeFrom)).config else {
                throw BitViTError.malformed(file: resumeFrom, reason: "has no stored configuration; give the recipe too")
            }
            config = try TrainConfig.resolve(recipeText: try stored.yaml(), source: resumeFrom,
                                             overrides: recipeOptions.overrides)
        } else {
            config = try recipeOptions.resolve(recipe)
        }
        if let threads { config.training.threads = threads }
        if dryRun {
            for line in MethodProcedure.check(config).lines { print("# " + line) }
            print(try config.yaml(), terminator: "")
            return
        }
        var session = TrainingSession(config: config, runDirectory: runDir.map { URL(fileURLWithPath: $0) },
                                      observer: ConsoleProgress())
        var from = resumeFrom.map { URL(fileURLWithPath: $0) }
        if resume && from == nil {
            from = session.lastCheckpoint
            guard FileManager.default.fileExists(atPath: session.lastCheckpoint.path) else {
                throw BitViTError.missing("\(session.lastCheckpoint.path) (nothing to resume in \(session.runDirectory.path))")
            }
        }
        if let from, let stored = try Checkpoint.load(from).config, stored != config {
            print("note: the configuration differs from the one stored in \(from.path); the run continues with the new one")
        }
        Interrupt.install()
        session.stopRequested = { Interrupt.isRequested }
        let outcome = try session.run(resumeFrom: from)
        print(trainingSummary(outcome, config: config))
    }
}
