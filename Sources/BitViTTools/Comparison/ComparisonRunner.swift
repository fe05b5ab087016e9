import BitViTExport
import BitViTModels
import BitViTRuntime
import BitViTTrain
import Foundation

/// Trains the runs of a `ComparisonPlan` one after the other (each once per seed, seed by seed)
/// and collects their results.
///
/// A run whose `last.safetensors` has reached its epoch count is skipped, an interrupted one is
/// resumed (exactly, see docs/training.md), a missing one is started; so re-running the same
/// command after an interruption continues where it stopped. A stored run trained with another
/// configuration than the plan now gives is an error rather than a silent mix.
public struct ComparisonRunner {
    public var plan: ComparisonPlan
    /// Progress reporting for each run's training.
    public var observer: (ComparisonPlan.Run) -> TrainingObserver? = { _ in nil }
    /// Polled after every step; true saves the current run and stops the comparison.
    public var stopRequested: () -> Bool = { false }
    /// Status lines.
    public var log: (String) -> Void = { print($0) }
    /// Train only these seeds (nil: every seed of the plan), so that the seeds of one plan can
    /// train in parallel processes (`bitvit compare --seed`); their run directories are disjoint.
    public var onlySeeds: Set<Int>?

    public init(plan: ComparisonPlan) { self.plan = plan }

    /// The resolved recipe of `run` with `seed`.
    public func config(for run: ComparisonPlan.Run, seed: Int? = nil) throws -> TrainConfig {
        try TrainConfig.resolve(recipe: URL(fileURLWithPath: run.recipe), overrides: plan.overrides(for: run, seed: seed))
    }

    /// `name` or `name (seed s)`.
    static func title(_ run: ComparisonPlan.Run, _ seed: Int?) -> String {
        run.name + (seed.map { " (seed \($0))" } ?? "")
    }

    public enum Status: Equatable {
        case finished, interrupted, notStarted
    }

    /// Where `run` with `seed` stands, after checking that its stored configuration is the plan's.
    public func status(of run: ComparisonPlan.Run, seed: Int? = nil, config: TrainConfig) throws -> Status {
        let directory = plan.directory(of: run.name, seed: seed)
        let last = directory.appendingPathComponent("last.safetensors")
        guard FileManager.default.fileExists(atPath: last.path) else { return .notStarted }
        let checkpoint = try Checkpoint.load(last)
        if var stored = checkpoint.config {
            // The thread count is not part of the experiment: a run may resume or report with another.
            stored.training.threads = config.training.threads
            if stored != config {
                let (a, b) = (try stored.yaml().split(separator: "\n"), try config.yaml().split(separator: "\n"))
                let (removed, added) = (a.filter { !b.contains($0) }, b.filter { !a.contains($0) })
                let differences = zip(removed, added).prefix(4).map { "'\($0)' → '\($1)'" }.joined(separator: "; ")
                throw BitViTError.invalidArgument(
                    "run '\(Self.title(run, seed))' in \(directory.path) was trained with another configuration (\(differences)); delete the directory to train it again")
            }
        }
        return (checkpoint.state?.epoch ?? 0) >= config.training.epochs ? .finished : .interrupted
    }

    /// One line per run and seed (of `onlySeeds`): name, model, epochs, status and label (`bitvit compare --dry-run`).
    public func statusLines() throws -> [String] {
        try trials.map { run, seed in
            let config = try config(for: run, seed: seed)
            return "\(Self.title(run, seed)): \(config.model.name), \(config.training.epochs) epochs, "
                + "\(try status(of: run, seed: seed, config: config)) — \(run.label)"
        }
    }

    /// Writes the report of the plan's runs (`command` reproduces it); returns the files written.
    public func writeReport(command: String) throws -> [URL] {
        try ComparisonReport(plan: plan, rows: try rows(), command: command).write()
    }

    /// The (run, seed) pairs `trainAll` walks: the plan's, restricted to `onlySeeds`.
    public var trials: [(run: ComparisonPlan.Run, seed: Int?)] {
        plan.trials.filter { trial in onlySeeds.map { only in trial.seed.map(only.contains) ?? false } ?? true }
    }

    /// Trains every run and seed that has not finished. Returns false when stopped on request.
    public func trainAll() throws -> Bool {
        let trials = self.trials
        for (i, (run, seed)) in trials.enumerated() {
            let config = try config(for: run, seed: seed)
            let status = try status(of: run, seed: seed, config: config)
            let directory = plan.directory(of: run.name, seed: seed)
            let header = "[\(i + 1)/\(trials.count)] \(Self.title(run, seed)) (\(run.label))"
            if status == .finished {
                log("\(header): finished earlier, skipped")
                continue
            }
            log("\(header): \(status == .interrupted ? "resuming" : "training") in \(directory.path)")
            let start = DispatchTime.now().uptimeNanoseconds
            var session = TrainingSession(config: config, runDirectory: directory, observer: observer(run))
            session.stopRequested = stopRequested
            let outcome = try session.run(resumeFrom: status == .interrupted ? session.lastCheckpoint : nil)
            try addWallSeconds(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, directory: directory)
            if outcome.summary.interrupted {
                log("\(header): stopped; run the same command again to continue")
                return false
            }
        }
        return true
    }

    static let wallFile = "comparison_wall_seconds.txt"

    /// Wall seconds `bitvit compare` spent in the run directory `directory` over all its
    /// invocations (nil: none recorded).
    public static func wallSeconds(in directory: URL) -> Double? {
        let url = directory.appendingPathComponent(wallFile)
        return (try? String(contentsOf: url, encoding: .utf8)).flatMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    private func addWallSeconds(_ seconds: Double, directory: URL) throws {
        let total = (Self.wallSeconds(in: directory) ?? 0) + seconds
        try AtomicFile.write(String(format: "%.1f\n", total), to: directory.appendingPathComponent(Self.wallFile))
    }

    /// The report rows of every finished run and seed, in plan order (a run's seeds together).
    public func rows() throws -> [ComparisonRow] {
        try plan.runs.flatMap { run in plan.seeds(of: run).map { (run, $0) } }.compactMap { run, seed in
            let config = try config(for: run, seed: seed)
            guard try status(of: run, seed: seed, config: config) == .finished else {
                log("\(Self.title(run, seed)): not finished, left out of the report")
                return nil
            }
            let directory = plan.directory(of: run.name, seed: seed)
            let records = try MetricsLog.read(directory.appendingPathComponent("metrics.jsonl")).filter { $0.type == "epoch" }
            let state = try Checkpoint.load(directory.appendingPathComponent("last.safetensors")).state
            let test = try TestReport.read(directory.appendingPathComponent(TestReport.fileName))
            let model = try ModelZoo.make(config.model)
            return ComparisonRow(
                name: run.name, seed: seed, label: run.label, tables: run.tables, cost: try ModelCost(model: model),
                testTop1: (test?.best ?? test?.last)?.result.top1, lastTestTop1: test?.last.result.top1,
                bestValidationTop1: state?.bestTop1, bestEpoch: state?.bestEpoch,
                epochs: records.last?.epoch ?? 0, trainingSeconds: records.last?.elapsedSeconds ?? 0,
                wallSeconds: Self.wallSeconds(in: directory), records: records, testImages: test?.last.result.count)
        }
    }
}
