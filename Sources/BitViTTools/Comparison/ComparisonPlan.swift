import BitViTTrain
import Foundation
import Yams

/// A comparison: several training runs on the same data and budget, then one report.
/// Read from a YAML file by `bitvit compare` (docs/comparison.md describes the format):
///
/// ```yaml
/// name: compare-cifar10
/// title: CIFAR-10 (JPEG), 500 training images per class, 32×32
/// output: runs/compare-cifar10          # run directories <output>/<run name>
/// report: docs/comparison-cifar10.md    # the generated Markdown
/// images: docs/images                   # curves <images>/<name>-<table>.svg/png
/// set: [training.epochs=10]             # overrides applied to every run
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
public struct ComparisonPlan: Codable, Equatable, Sendable {
    public var name: String
    public var title: String
    public var output: String
    public var report: String
    public var images: String
    /// Overrides applied to every run before its own.
    public var set: [String]
    public var runs: [Run]
    /// Titles of the tables by key (`main`, `ablation`, …); a table without one is titled by its key.
    public var tables: [String: String]

    public struct Run: Codable, Equatable, Sendable {
        public var name: String
        public var label: String
        public var recipe: String
        public var set: [String]
        /// The tables that show the run (`table: main` or `table: [main, ablation]`).
        public var tables: [String]

        public init(name: String, label: String, recipe: String, set: [String] = [], tables: [String] = ["main"]) {
            self.name = name
            self.label = label
            self.recipe = recipe
            self.set = set
            self.tables = tables
        }

        enum CodingKeys: String, CodingKey { case name, label, recipe, set, tables = "table" }

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
        }
    }

    public init(name: String, title: String, output: String, report: String, images: String, set: [String] = [],
                runs: [Run], tables: [String: String] = [:]) {
        self.name = name
        self.title = title
        self.output = output
        self.report = report
        self.images = images
        self.set = set
        self.runs = runs
        self.tables = tables
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        title = try c.decodeIfPresent(String.self, forKey: .title) ?? name
        output = try c.decodeIfPresent(String.self, forKey: .output) ?? "runs/\(name)"
        report = try c.decodeIfPresent(String.self, forKey: .report) ?? "docs/\(name).md"
        images = try c.decodeIfPresent(String.self, forKey: .images) ?? "docs/images"
        set = try c.decodeIfPresent([String].self, forKey: .set) ?? []
        runs = try c.decode([Run].self, forKey: .runs)
        tables = try c.decodeIfPresent([String: String].self, forKey: .tables) ?? [:]
    }

    /// Reads and validates a plan file.
    public static func load(_ url: URL) throws -> ComparisonPlan {
        let text = try FileInput.readText(url, limit: DocumentLimits.maxBytes, what: "comparison plan")
        try BoundedYAML.check(text, source: url.path)
        let plan: ComparisonPlan
        do { plan = try YAMLDecoder().decode(ComparisonPlan.self, from: text) } catch {
            throw BitViTError.malformed(file: url.path, reason: "not a comparison plan: \(ReadableError.decoding(error, keyName: snakeCased))")
        }
        try plan.validate(source: url.path)
        return plan
    }

    /// Names are unique and path-safe, and every `{run:NAME}` names an earlier run.
    public func validate(source: String) throws {
        var earlier: Set<String> = []
        guard !runs.isEmpty else { throw BitViTError.malformed(file: source, reason: "the plan has no runs") }
        for run in runs {
            guard !run.name.isEmpty, !run.name.contains("/"), !earlier.contains(run.name) else {
                throw BitViTError.malformed(file: source, reason: "run name '\(run.name)' is empty, has a '/' or repeats")
            }
            for reference in Self.references(in: set + run.set) where !earlier.contains(reference) {
                throw BitViTError.malformed(file: source, reason: "run '\(run.name)' refers to {run:\(reference)}, which is not an earlier run")
            }
            earlier.insert(run.name)
        }
    }

    /// The run directory of `run`.
    public func directory(of run: String) -> URL {
        URL(fileURLWithPath: output).appendingPathComponent(run)
    }

    /// The overrides of `run` with `{run:NAME}` replaced, plus its name and output directory.
    public func overrides(for run: Run) -> [String] {
        (set + run.set).map { o in
            var text = o
            for reference in Self.references(in: [o]) {
                text = text.replacingOccurrences(of: "{run:\(reference)}", with: directory(of: reference).path)
            }
            return text
        } + ["name=\(run.name)", "training.output=\(output)"]
    }

    static func references(in overrides: [String]) -> [String] {
        overrides.flatMap { o -> [String] in
            o.components(separatedBy: "{run:").dropFirst().compactMap { part in
                part.firstIndex(of: "}").map { String(part[..<$0]) }
            }
        }
    }
}
