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
///
/// With the plan's `records`, a finished run leaves a `ComparisonRecord`; a run with a record
/// and no directory counts as done (`recorded`) and is trained again only when a run still to
/// train needs its checkpoints (a teacher or an initialization, `{run:NAME}`), keeping its record.
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
    /// Train only these runs (nil: every run), and the runs they need that have not finished
    /// (their teachers and initializations, `{run:NAME}`; `bitvit compare --run`).
    public var onlyRuns: Set<String>?

    public init(plan: ComparisonPlan) { self.plan = plan }

    /// The resolved recipe of `run` with `seed`.
    public func config(for run: ComparisonPlan.Run, seed: Int? = nil) throws -> TrainConfig {
        try TrainConfig.resolve(recipe: URL(fileURLWithPath: run.recipe), overrides: plan.overrides(for: run, seed: seed))
    }

    /// `name` or `name (seed s)`.
    static func title(_ run: ComparisonPlan.Run, _ seed: Int?) -> String { title(run.name, seed) }

    static func title(_ name: String, _ seed: Int?) -> String { name + (seed.map { " (seed \($0))" } ?? "") }

    public enum Status: Equatable {
        /// Trained to its epoch count in its run directory.
        case finished
        /// Its run directory holds an unfinished run.
        case interrupted
        /// No run directory, and no record.
        case notStarted
        /// No run directory, but a record of it finished (`ComparisonRecord`).
        case recorded
    }

    /// "'a' → 'b'; …": up to four lines of `old` that `new` changes.
    static func changedLines(_ old: String, _ new: String) -> String {
        let (a, b) = (old.split(separator: "\n"), new.split(separator: "\n"))
        let (removed, added) = (a.filter { !b.contains($0) }, b.filter { !a.contains($0) })
        return zip(removed, added).prefix(4).map { "'\($0)' → '\($1)'" }.joined(separator: "; ")
    }

    /// The record of `run` with `seed`, after checking that it holds the plan's configuration
    /// (nil: the plan keeps no records, or none yet).
    public func record(of run: ComparisonPlan.Run, seed: Int? = nil, config: TrainConfig) throws -> ComparisonRecord? {
        guard let file = plan.recordFile(of: run.name, seed: seed), let record = try ComparisonRecord.read(file) else { return nil }
        let expected = try ComparisonRecord.normalized(config, output: plan.output)
        guard ComparisonRecord.sameConfiguration(record.config, expected) else {
            throw BitViTError.invalidArgument(
                "the record \(file.path) of run '\(Self.title(run, seed))' holds another configuration (\(Self.changedLines(record.config, expected))); delete it to train the run again")
        }
        return record
    }

    /// Where `run` with `seed` stands, after checking that its stored configuration is the plan's.
    public func status(of run: ComparisonPlan.Run, seed: Int? = nil, config: TrainConfig) throws -> Status {
        guard let checkpoint = try lastCheckpoint(of: run, seed: seed, config: config) else {
            return try record(of: run, seed: seed, config: config) == nil ? .notStarted : .recorded
        }
        return Self.isFinished(checkpoint, config) ? .finished : .interrupted
    }

    static func isFinished(_ checkpoint: Checkpoint, _ config: TrainConfig) -> Bool {
        (checkpoint.state?.epoch ?? 0) >= config.training.epochs
    }

    /// The last checkpoint in the run directory of `run` with `seed` (nil: none), after checking
    /// that it was trained with `config`.
    func lastCheckpoint(of run: ComparisonPlan.Run, seed: Int?, config: TrainConfig) throws -> Checkpoint? {
        let directory = plan.directory(of: run.name, seed: seed)
        let last = directory.appendingPathComponent("last.safetensors")
        guard FileManager.default.fileExists(atPath: last.path) else { return nil }
        let checkpoint = try Checkpoint.load(last)
        if var stored = checkpoint.config {
            // The thread count is not part of the experiment: a run may resume or report with another.
            stored.training.threads = config.training.threads
            if stored != config {
                throw BitViTError.invalidArgument(
                    "run '\(Self.title(run, seed))' in \(directory.path) was trained with another configuration (\(Self.changedLines(try stored.yaml(), try config.yaml()))); delete the directory to train it again")
            }
        }
        return checkpoint
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

    /// The trials of `trials` to train: those of `onlyRuns` neither finished nor recorded, and
    /// the unfinished or recorded ones whose checkpoints a trial to train refers to (`{run:NAME}`,
    /// same seed).
    func trialsToTrain(_ statuses: [Status]) -> Set<String> {
        var train = Set<String>(), needed = Set<String>()
        // Students follow their teachers: walking backwards, a trial to train marks its references.
        for (i, (run, seed)) in trials.enumerated().reversed() {
            let status = statuses[i], requested = onlyRuns?.contains(run.name) ?? true
            let unfinished = status == .notStarted || status == .interrupted
            guard (requested && unfinished) || (needed.contains(Self.title(run, seed)) && status != .finished) else { continue }
            train.insert(Self.title(run, seed))
            for reference in ComparisonPlan.references(in: plan.set + run.set) { needed.insert(Self.title(reference, seed)) }
        }
        return train
    }

    /// Trains every run and seed that has not finished. Returns false when stopped on request.
    public func trainAll() throws -> Bool {
        let trials = self.trials
        let configs = try trials.map { try config(for: $0.run, seed: $0.seed) }
        let statuses = try zip(trials, configs).map { try status(of: $0.0.run, seed: $0.0.seed, config: $0.1) }
        let toTrain = trialsToTrain(statuses)
        for (i, (run, seed)) in trials.enumerated() {
            let (config, status) = (configs[i], statuses[i])
            let directory = plan.directory(of: run.name, seed: seed)
            let header = "[\(i + 1)/\(trials.count)] \(Self.title(run, seed)) (\(run.label))"
            guard toTrain.contains(Self.title(run, seed)) else {
                let why = status == .recorded ? "recorded earlier" : status == .finished ? "finished earlier" : "not requested (--run)"
                log("\(header): \(why), skipped")
                try writeRecordIfMissing(run, seed: seed, config: config)
                continue
            }
            let what = status == .interrupted ? "resuming" : status == .recorded ? "training again for the runs that need its checkpoints" : "training"
            log("\(header): \(what) in \(directory.path)")
            let start = DispatchTime.now().uptimeNanoseconds
            var session = TrainingSession(config: config, runDirectory: directory, observer: observer(run))
            session.stopRequested = stopRequested
            let outcome = try session.run(resumeFrom: status == .interrupted ? session.lastCheckpoint : nil)
            try addWallSeconds(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, directory: directory)
            if outcome.summary.interrupted {
                log("\(header): stopped; run the same command again to continue")
                return false
            }
            if let kept = try record(of: run, seed: seed, config: config) {
                // The record stays what the report shows; say whether training again reproduced it.
                let again = try TestReport.read(directory.appendingPathComponent(TestReport.fileName))
                let (recorded, now) = (kept.test?.selected.result.top1, again?.selected.result.top1)
                func text(_ top1: Double?) -> String { top1.map { String(format: "%.2f %%", 100 * $0) } ?? "—" }
                log("\(header): test top-1 \(text(now)), recorded \(text(recorded))"
                    + (recorded == now ? " (reproduced)" : "; the report keeps the record"))
            } else {
                try writeRecordIfMissing(run, seed: seed, config: config, requireTest: false)
            }
        }
        return true
    }

    /// The record of a finished run directory (nil: not finished).
    func recordOfDirectory(_ run: ComparisonPlan.Run, seed: Int?, config: TrainConfig) throws -> ComparisonRecord? {
        let directory = plan.directory(of: run.name, seed: seed)
        guard let checkpoint = try lastCheckpoint(of: run, seed: seed, config: config), Self.isFinished(checkpoint, config) else { return nil }
        let epochs = try MetricsLog.read(directory.appendingPathComponent("metrics.jsonl")).filter { $0.type == "epoch" }
        let state = checkpoint.state
        return ComparisonRecord(run: run.name, seed: seed, config: try ComparisonRecord.normalized(config, output: plan.output),
                                epochs: epochs, test: try TestReport.read(directory.appendingPathComponent(TestReport.fileName)),
                                bestValidationTop1: state?.bestTop1, bestEpoch: state?.bestEpoch,
                                wallSeconds: Self.wallSeconds(in: directory))
    }

    /// Writes the record of `run` with `seed` when the plan keeps records, it has none, and its
    /// directory holds the finished run — with its test results when `requireTest` (a run that
    /// another process is training measures its test split after its last checkpoint).
    func writeRecordIfMissing(_ run: ComparisonPlan.Run, seed: Int?, config: TrainConfig, requireTest: Bool = true) throws {
        guard let file = plan.recordFile(of: run.name, seed: seed), try record(of: run, seed: seed, config: config) == nil,
              let record = try recordOfDirectory(run, seed: seed, config: config), record.test != nil || !requireTest else { return }
        try record.write(to: file)
        log("\(Self.title(run, seed)): recorded in \(file.path)")
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

    /// The report rows of every finished or recorded run and seed, in plan order (a run's seeds
    /// together): from its record when the plan keeps one (written now for finished runs without
    /// one), otherwise from its run directory.
    public func rows() throws -> [ComparisonRow] {
        try plan.runs.flatMap { run in plan.seeds(of: run).map { (run, $0) } }.compactMap { run, seed in
            let config = try config(for: run, seed: seed)
            try writeRecordIfMissing(run, seed: seed, config: config)
            guard let record = try record(of: run, seed: seed, config: config) ?? recordOfDirectory(run, seed: seed, config: config) else {
                log("\(Self.title(run, seed)): not finished, left out of the report")
                return nil
            }
            let test = record.test
            return ComparisonRow(
                name: run.name, seed: seed, label: run.label, tables: run.tables, cost: try ModelCost(model: try ModelZoo.make(config.model)),
                testTop1: test?.selected.result.top1, lastTestTop1: test?.last.result.top1,
                bestValidationTop1: record.bestValidationTop1, bestEpoch: record.bestEpoch,
                epochs: record.epochs.last?.epoch ?? 0, trainingSeconds: record.epochs.last?.elapsedSeconds ?? 0,
                wallSeconds: record.wallSeconds, records: record.epochs, testImages: test?.last.result.count)
        }
    }
}
