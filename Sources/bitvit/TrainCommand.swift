import ArgumentParser
import BitViTDistributed
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

            Under mpirun (or another MPI launcher) every process trains on its shard of the data with \
            data.batch_size images per step, gradients are averaged, and rank 0 prints and writes the \
            run directory (docs/distributed.md): mpirun -np 4 bitvit train recipe.yaml. SIGUSR1 (which \
            mpirun forwards to every process) stops like Ctrl-C.
            """)

    @Argument(help: "Recipe file (.yaml/.yml/.json); omit to use the defaults (or the checkpoint's with --resume-from).")
    var recipe: String?
    @OptionGroup var recipeOptions: RecipeOptions
    @Flag(help: "Print the resolved configuration and exit.") var dryRun = false
    @Flag(help: "Continue the run in the run directory from its last.safetensors.") var resume = false
    @Option(help: "Continue from this checkpoint (its stored configuration is used unless a recipe is given).")
    var resumeFrom: String?
    @Option(help: "Run directory (default: <training.output>/<name>).") var runDir: String?
    @Option(parsing: .unconditional,
            help: "Worker threads per process (overrides training.threads; default: all cores, or the process's cores under mpirun).")
    var threads: Int?
    @Option(parsing: .unconditional,
            help: "Save last.safetensors and stop once this many optimizer steps are done in all; --resume continues (e.g. a run split over batch-job allocations).")
    var stopAtStep: Int?

    func validate() throws {
        try checkThreads(threads)
        try checkOption("--stop-at-step", stopAtStep, 1...Int.max)
    }

    func run() throws {
        try DistributedLaunch.run { group in try train(group) }
    }

    private func train(_ group: any ProcessGroup) throws {
        var config: TrainConfig
        if let resumeFrom, recipe == nil {
            // Rank 0 reads the checkpoint (the only process that needs the run's files).
            var yaml = ""
            if group.rank == 0 {
                guard let stored = try Checkpoint.load(URL(fileURLWithPath: resumeFrom)).config else {
                    throw BitViTError.malformed(file: resumeFrom, reason: "has no stored configuration; give the recipe too")
                }
                yaml = try stored.yaml()
            }
            yaml = String(decoding: group.broadcast(Data(yaml.utf8)), as: UTF8.self)
            config = try TrainConfig.resolve(recipeText: yaml, source: resumeFrom, overrides: recipeOptions.overrides)
        } else {
            config = try recipeOptions.resolve(recipe)
        }
        config.training.threads = DistributedLaunch.threadCount(requested: threads ?? config.training.threads, group: group)
        (group as? MPIProcessGroup)?.timeoutSeconds = config.distributed.timeoutSeconds
        let isRoot = group.rank == 0
        if dryRun {
            guard isRoot else { return }
            for line in MethodProcedure.check(config).lines { print("# " + line) }
            for problem in WeightsFile.problems(for: config) { print("# " + problem) }
            print(try config.yaml(), terminator: "")
            return
        }
        var session = TrainingSession(config: config, runDirectory: runDir.map { URL(fileURLWithPath: $0) },
                                      observer: ConsoleProgress())
        session.group = group
        var from = resumeFrom.map { URL(fileURLWithPath: $0) }
        if resume && from == nil {
            from = session.lastCheckpoint
            guard !isRoot || FileManager.default.fileExists(atPath: session.lastCheckpoint.path) else {
                throw BitViTError.missing("\(session.lastCheckpoint.path) (nothing to resume in \(session.runDirectory.path))")
            }
        }
        if isRoot, let from, let stored = try Checkpoint.load(from).config, stored != config {
            print("note: the configuration differs from the one stored in \(from.path); the run continues with the new one")
        }
        Interrupt.install(announce: isRoot)
        session.stopRequested = { Interrupt.isRequested }
        session.stopAtStep = stopAtStep
        let outcome = try session.run(resumeFrom: from)
        if isRoot { print(trainingSummary(outcome, config: config)) }
    }
}
