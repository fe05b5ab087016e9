import ArgumentParser
import BitViTTools
import BitViTTrain
import Foundation

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Train the runs of a comparison plan (skipping finished ones, resuming interrupted ones) and write its report.",
        discussion: """
            The plan (YAML, docs/comparison.md) lists runs as recipes plus overrides. Runs train one after \
            the other in <output>/<run>; then the Markdown report (top-1, size and OPs at the deployed bit \
            widths, training and wall time) and the curves are written. Run the same command again after \
            an interruption: finished runs are skipped and the interrupted one resumes exactly.
            """)

    @Argument(help: "Comparison plan (.yaml).") var plan: String
    @Flag(help: "Print each run's status and resolved recipe name, then exit.") var dryRun = false
    @Flag(help: "Write the report from the finished runs without training.") var reportOnly = false
    @Option(parsing: .unconditional, help: "Worker threads for every run (overrides training.threads).") var threads: Int?
    @Option(help: "Train only this seed of the plan's seeds (repeatable), e.g. one process per seed; the report covers every finished seed.")
    var seed: [Int] = []
    @Option(name: .customLong("run"),
            help: "Train only this run of the plan (repeatable), and the runs it needs that have not finished (its teacher or initialization).")
    var runs: [String] = []

    func validate() throws { try checkThreads(threads) }

    func run() throws {
        var plan = try ComparisonPlan.load(URL(fileURLWithPath: self.plan))
        if let threads { plan.set.append("training.threads=\(threads)") }
        var runner = ComparisonRunner(plan: plan)
        if !seed.isEmpty {
            let known = Set(plan.runs.flatMap { plan.seeds(of: $0).compactMap { $0 } })
            guard seed.allSatisfy(known.contains) else {
                let trained = known.isEmpty ? "no seeds (it gives none)" : "seeds " + known.sorted().map(String.init).joined(separator: ", ")
                throw ValidationError("--seed \(seed.map(String.init).joined(separator: ", ")): the plan trains \(trained)")
            }
            runner.onlySeeds = Set(seed)
        }
        if !runs.isEmpty {
            let names = plan.runs.map(\.name)
            if let unknown = runs.first(where: { !names.contains($0) }) {
                throw ValidationError("--run \(unknown): the plan has no such run; its runs: \(names.joined(separator: ", "))")
            }
            runner.onlyRuns = Set(runs)
        }
        if dryRun {
            for line in try runner.statusLines() { print(line) }
            return
        }
        if !reportOnly {
            runner.observer = { _ in ConsoleProgress() }
            Interrupt.install()
            runner.stopRequested = { Interrupt.isRequested }
            guard try runner.trainAll() else { return }
        }
        for file in try runner.writeReport(command: "bitvit compare \(self.plan)") { print(file.path) }
    }
}
