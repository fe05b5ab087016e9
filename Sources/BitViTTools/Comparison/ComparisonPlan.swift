import BitViTTrain
import Foundation
import Yams

/// A comparison: several training runs on the same data and budget, then one report.
/// Read from a YAML file by `bitvit compare` (docs/comparison.md describes the format):
///
/// ```yaml
/// name: compare-fashion-mnist-12ep
/// title: Fashion-MNIST, 200 training images per class, 28×28, 12 epochs, 3 seeds
/// output: runs/compare-fashion-mnist-200              # run directories <output>/<run name>
/// report: docs/comparison-fashion-mnist-12ep.md       # the generated Markdown
/// images: docs/images                                 # curves <images>/<name>-<table>.svg/png
/// records: comparisons/records/fashion-mnist-12ep     # results kept per run and seed (optional, `ComparisonRecord`)
/// set: [training.epochs=12]                           # overrides applied to every run
/// seeds: [0, 1, 2]                      # each run trained once per seed, in <output>/<run>/seed-<s>
/// baselines: [fp, w1a1]                 # every run of a table is compared with these
/// runs:
///   - name: fp
///     label: Full precision (teacher)
///     recipe: recipes/fp-teacher-small.yaml
///   - name: qvit-w4a4
///     label: Q-ViT W4A4
///     recipe: recipes/qvit-w4a4-small.yaml
///     set: ["loss.distillation.teacher={run:fp}/last.safetensors"]
/// ```
///
/// `{run:NAME}` in an override stands for the run directory of the earlier run `NAME` (its
/// teacher or initialization); `table` puts a run in the `main` table (default), another table
/// (e.g. `ablation`) or several (`[main, ablation]`).
///
/// With `seeds` (or a run's own `seeds`), every run trains once per seed with `training.seed`
/// set to it, in `<output>/<run>/seed-<s>`, and `{run:NAME}` stands for the directory of the same
/// seed's `NAME`; the report gives mean ± standard deviation over the seeds and says which
/// differences exceed the spread (`MeanDifference`). Without seeds a run trains once with its
/// recipe's seed in `<output>/<run>`. `base: NAME` compares a run with `NAME` besides the
/// baselines (an ablation with its full model).
public struct ComparisonPlan: Codable, Equatable, Sendable {
    public var name: String
    public var title: String
    public var output: String
    public var report: String
    public var images: String
    /// Directory of the runs' `ComparisonRecord`s (nil: none; the report reads run directories).
    public var records: String?
    /// Overrides applied to every run before its own.
    public var set: [String]
    public var runs: [Run]
    /// Titles of the tables by key (`main`, `ablation`, …); a table without one is titled by its key.
    public var tables: [String: String]
    /// Training seeds of every run without its own (nil: one run with the recipe's seed).
    public var seeds: [Int]?
    /// Runs that every other run of the same table is compared with.
    public var baselines: [String]

    public struct Run: Codable, Equatable, Sendable {
        public var name: String
        public var label: String
        public var recipe: String
        public var set: [String]
        /// The tables that show the run (`table: main` or `table: [main, ablation]`).
        public var tables: [String]
        /// The run's own seeds (nil: the plan's).
        public var seeds: [Int]?
        /// A run this one is compared with besides the plan's baselines (an ablation's full model).
        public var base: String?

        public init(name: String, label: String, recipe: String, set: [String] = [], tables: [String] = ["main"],
                    seeds: [Int]? = nil, base: String? = nil) {
            self.name = name
            self.label = label
            self.recipe = recipe
            self.set = set
            self.tables = tables
            self.seeds = seeds
            self.base = base
        }

        enum CodingKeys: String, CodingKey { case name, label, recipe, set, tables = "table", seeds, base }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            label = try c.decodeIfPresent(String.self, forKey: .label) ?? name
            recipe = try c.decode(String.self, forKey: .recipe)
            set = try c.decodeIfPresent([String].self, forKey: .set) ?? []
            if let list = try? c.decodeIfPresent([String].self, forKey: .tables) {
                tables = list
            } else {
                tables = [try c.decodeIfPresent(String.self, forKey: .tables) ?? "main"]
            }
            seeds = try c.decodeIfPresent([Int].self, forKey: .seeds)
            base = try c.decodeIfPresent(String.self, forKey: .base)
        }
    }

    public init(name: String, title: String, output: String, report: String, images: String, records: String? = nil,
                set: [String] = [], runs: [Run], tables: [String: String] = [:], seeds: [Int]? = nil, baselines: [String] = []) {
        self.name = name
        self.title = title
        self.output = output
        self.report = report
        self.images = images
        self.records = records
        self.set = set
        self.runs = runs
        self.tables = tables
        self.seeds = seeds
        self.baselines = baselines
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        title = try c.decodeIfPresent(String.self, forKey: .title) ?? name
        output = try c.decodeIfPresent(String.self, forKey: .output) ?? "runs/\(name)"
        report = try c.decodeIfPresent(String.self, forKey: .report) ?? "docs/\(name).md"
        images = try c.decodeIfPresent(String.self, forKey: .images) ?? "docs/images"
        records = try c.decodeIfPresent(String.self, forKey: .records)
        set = try c.decodeIfPresent([String].self, forKey: .set) ?? []
        runs = try c.decode([Run].self, forKey: .runs)
        tables = try c.decodeIfPresent([String: String].self, forKey: .tables) ?? [:]
        seeds = try c.decodeIfPresent([Int].self, forKey: .seeds)
        baselines = try c.decodeIfPresent([String].self, forKey: .baselines) ?? []
    }

    /// Reads and validates a plan file.
    public static func load(_ url: URL) throws -> ComparisonPlan {
        try parse(try FileInput.readText(url, limit: DocumentLimits.maxBytes, what: "comparison plan"), source: url.path)
    }

    /// Reads and validates the text of a plan file (`source` names it in errors).
    public static func parse(_ text: String, source: String) throws -> ComparisonPlan {
        try BoundedYAML.check(text, source: source)
        let plan: ComparisonPlan
        do { plan = try YAMLDecoder().decode(ComparisonPlan.self, from: text) } catch {
            throw BitViTError.malformed(file: source, reason: "not a comparison plan: \(ReadableError.decoding(error, keyName: snakeCased))")
        }
        try plan.validate(source: source)
        return plan
    }

    /// Names are unique and path-safe, every `{run:NAME}` names an earlier run trained with every
    /// seed of the run that refers to it, seeds are non-negative and distinct, and baselines and
    /// bases name runs of the plan.
    public func validate(source: String) throws {
        func fail(_ reason: String) -> BitViTError { BitViTError.malformed(file: source, reason: reason) }
        var earlier: [String: Run] = [:]
        guard !runs.isEmpty else { throw fail("the plan has no runs") }
        for list in [seeds] + runs.map(\.seeds) {
            guard let list else { continue }
            guard !list.isEmpty, list.allSatisfy({ $0 >= 0 }), Set(list).count == list.count else {
                throw fail("seeds \(list) must be a non-empty list of distinct whole numbers ≥ 0")
            }
        }
        for run in runs {
            guard !run.name.isEmpty, !run.name.contains("/"), earlier[run.name] == nil else {
                throw fail("run name '\(run.name)' is empty, has a '/' or repeats")
            }
            for reference in Self.references(in: set + run.set) {
                guard let referred = earlier[reference] else {
                    throw fail("run '\(run.name)' refers to {run:\(reference)}, which is not an earlier run")
                }
                let missing = seeds(of: run).filter { !seeds(of: referred).contains($0) }
                guard missing.isEmpty else {
                    throw fail("run '\(run.name)' refers to {run:\(reference)}, which is not trained with seed \(missing.map { $0.map(String.init) ?? "of its recipe" }.joined(separator: ", "))")
                }
            }
            earlier[run.name] = run
        }
        for name in baselines + runs.compactMap(\.base) where earlier[name] == nil {
            throw fail("baseline or base '\(name)' is not a run of the plan")
        }
    }

    /// The seeds `run` trains with, in order; `[nil]` when neither the run nor the plan gives any
    /// (one run with the recipe's seed).
    public func seeds(of run: Run) -> [Int?] {
        (run.seeds ?? seeds).map { $0.map(Optional.some) } ?? [nil]
    }

    /// Every (run, seed) to train, seed by seed (each seed's runs in plan order, so a seed's
    /// teachers precede its students and the first seeds complete first).
    public var trials: [(run: Run, seed: Int?)] {
        var order: [Int?] = []
        for run in runs { for seed in seeds(of: run) where !order.contains(seed) { order.append(seed) } }
        return order.flatMap { seed in runs.filter { seeds(of: $0).contains(seed) }.map { (run: $0, seed: seed) } }
    }

    /// The run directory of `run` with `seed` (`<output>/<run>/seed-<s>`; `<output>/<run>` without a seed).
    public func directory(of run: String, seed: Int? = nil) -> URL {
        let url = URL(fileURLWithPath: output).appendingPathComponent(run)
        return seed.map { url.appendingPathComponent("seed-\($0)") } ?? url
    }

    /// The record file of `run` with `seed` (`<records>/<run>/seed-<s>.json`; `<records>/<run>.json`
    /// without a seed), nil when the plan keeps no records.
    public func recordFile(of run: String, seed: Int? = nil) -> URL? {
        guard let records else { return nil }
        let url = URL(fileURLWithPath: records).appendingPathComponent(run)
        return seed.map { url.appendingPathComponent("seed-\($0).json") } ?? url.appendingPathExtension("json")
    }

    /// The overrides of `run` with `{run:NAME}` replaced by the directory of `NAME` with the same
    /// seed, plus its seed, name and output directory.
    public func overrides(for run: Run, seed: Int? = nil) -> [String] {
        (set + run.set).map { o in
            var text = o
            for reference in Self.references(in: [o]) {
                text = text.replacingOccurrences(of: "{run:\(reference)}", with: directory(of: reference, seed: seed).path)
            }
            return text
        } + (seed.map { ["training.seed=\($0)"] } ?? []) + ["name=\(run.name)", "training.output=\(output)"]
    }

    /// The run names `{run:NAME}` references in `overrides` name, in order.
    public static func references(in overrides: [String]) -> [String] {
        overrides.flatMap { o -> [String] in
            o.components(separatedBy: "{run:").dropFirst().compactMap { part in
                part.firstIndex(of: "}").map { String(part[..<$0]) }
            }
        }
    }
}
