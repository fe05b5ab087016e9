import BitViTRuntime
import BitViTTools
import BitViTTrain
import Foundation
import Testing

/// Seeds in comparison plans: run directories and references per seed, the statistics over the
/// seeds and the rule that says which differences exceed the spread (synthetic results, no training).
@Suite struct ComparisonSeedTests {
    private func parse(_ text: String) throws -> ComparisonPlan { try ToolFixtures.plan(text) }

    static let seededPlan = """
        name: cmp
        output: out
        seeds: [0, 1, 2]
        baselines: [fp, w1a1]
        tables: {ablation: Ablation}
        runs:
          - {name: fp, recipe: recipes/fp-teacher-small.yaml}
          - {name: w1a1, recipe: recipes/w1a1-small.yaml}
          - name: gsb
            recipe: recipes/gsb-stage2-small.yaml
            set: ["loss.distillation.teacher={run:fp}/best.safetensors"]
          - {name: gsb-short, recipe: recipes/gsb-stage2-small.yaml, table: ablation, base: gsb, seeds: [1, 2]}
        """

    @Test func seedsGiveOneDirectoryAndOneSeedOverridePerRun() throws {
        let plan = try parse(Self.seededPlan)
        #expect(plan.seeds(of: plan.runs[0]) == [0, 1, 2])
        #expect(plan.seeds(of: plan.runs[3]) == [1, 2])
        #expect(plan.directory(of: "gsb", seed: 1).path.hasSuffix("out/gsb/seed-1"))
        // The teacher reference resolves to the same seed's run; the seed is set.
        let overrides = plan.overrides(for: plan.runs[2], seed: 2)
        #expect(overrides == ["loss.distillation.teacher=\(plan.directory(of: "fp", seed: 2).path)/best.safetensors",
                              "training.seed=2", "name=gsb", "training.output=out"])
        // Seed by seed, each seed's runs in plan order.
        #expect(plan.trials.map { "\($0.run.name)@\($0.seed!)" } == [
            "fp@0", "w1a1@0", "gsb@0", "fp@1", "w1a1@1", "gsb@1", "gsb-short@1", "fp@2", "w1a1@2", "gsb@2", "gsb-short@2"])
        // Without seeds: one run in <output>/<run>, the recipe's seed.
        let single = try parse("name: x\noutput: o\nruns:\n  - {name: a, recipe: r.yaml}")
        #expect(single.seeds(of: single.runs[0]) == [nil])
        #expect(single.directory(of: "a").path.hasSuffix("o/a"))
        #expect(single.overrides(for: single.runs[0]) == ["name=a", "training.output=o"])
    }

    @Test(arguments: [
        ("name: x\nseeds: []\nruns:\n  - {name: a, recipe: r.yaml}", "seeds"),
        ("name: x\nseeds: [0, 0]\nruns:\n  - {name: a, recipe: r.yaml}", "distinct"),
        ("name: x\nruns:\n  - {name: a, recipe: r.yaml, seeds: [-1]}", "≥ 0"),
        ("name: x\nbaselines: [b]\nruns:\n  - {name: a, recipe: r.yaml}", "'b' is not a run"),
        ("name: x\nruns:\n  - {name: a, recipe: r.yaml, base: c}", "'c' is not a run"),
        ("name: x\nseeds: [0]\nruns:\n  - {name: a, recipe: r.yaml}\n  - {name: b, recipe: r.yaml, seeds: [0, 3], set: [\"t={run:a}/x\"]}",
         "not trained with seed 3"),
        ("name: x\nruns:\n  - {name: a, recipe: r.yaml, seeds: [0]}\n  - {name: b, recipe: r.yaml, set: [\"t={run:a}/x\"]}",
         "not trained with seed of its recipe"),
    ])
    func malformedSeedsAndBaselinesAreNamed(_ text: String, _ reason: String) throws {
        do {
            _ = try parse(text)
            Issue.record("accepted: \(text)")
        } catch {
            #expect("\(error)".contains("plan.yaml") && "\(error)".contains(reason), "\(error)")
        }
    }

    @Test func meanAndSampleStandardDeviation() {
        let s = SeedSample([0.60, 0.62, 0.64])
        #expect(s.n == 3 && abs(s.mean - 0.62) < 1e-12)
        #expect(abs(s.standardDeviation! - 0.02) < 1e-12, "divisor n − 1, not n (which gives 0.0163)")
        #expect(abs(s.standardError! - 0.02 / 3.0.squareRoot()) < 1e-12)
        #expect(SeedSample([0.5]).standardDeviation == nil && SeedSample([0.5]).mean == 0.5)
        #expect(SeedSample([]).n == 0)
    }

    @Test func differencesExceedTheSpreadByTheTwoStandardErrorRule() {
        let a = SeedSample([0.60, 0.62, 0.64]), b = SeedSample([0.50, 0.52, 0.54]), c = SeedSample([0.61, 0.63, 0.65])
        let ab = MeanDifference(run: "a", label: "A", a, reference: "b", referenceLabel: "B", b)
        // 2·√(0.02²/3 + 0.02²/3) = 0.03266
        #expect(abs(ab.delta - 0.10) < 1e-12 && abs(ab.threshold! - 2 * (2 * 0.0004 / 3).squareRoot()) < 1e-12)
        #expect(ab.exceedsSpread == true)
        let ca = MeanDifference(run: "c", label: "C", c, reference: "a", referenceLabel: "A", a)
        #expect(abs(ca.delta - 0.01) < 1e-12 && ca.exceedsSpread == false)
        // Just above and just below the threshold, with unequal counts and spreads.
        let d = SeedSample([0.40, 0.44]), e = SeedSample([0.30, 0.31, 0.32, 0.33])
        let threshold = 2 * ((d.standardDeviation! * d.standardDeviation!) / 2 + (e.standardDeviation! * e.standardDeviation!) / 4).squareRoot()
        #expect(abs(MeanDifference(run: "d", label: "D", d, reference: "e", referenceLabel: "E", e).threshold! - threshold) < 1e-12)
        let above = SeedSample(e.values.map { $0 + (d.mean - e.mean) - threshold * 1.01 })
        let below = SeedSample(e.values.map { $0 + (d.mean - e.mean) - threshold * 0.99 })
        #expect(MeanDifference(run: "d", label: "D", d, reference: "x", referenceLabel: "X", above).exceedsSpread == true)
        #expect(MeanDifference(run: "d", label: "D", d, reference: "x", referenceLabel: "X", below).exceedsSpread == false)
        // A single seed has no spread: undecided.
        #expect(MeanDifference(run: "a", label: "A", a, reference: "s", referenceLabel: "S", SeedSample([0.1])).exceedsSpread == nil)
    }

    private static func row(_ name: String, _ seed: Int, _ top1: Double, tables: [String] = ["main"], seconds: Double = 60) -> ComparisonRow {
        let records = (1...2).map { MetricsRecord(type: "epoch", epoch: $0, step: 10 * $0, lr: 1e-3, trainLoss: 1, trainTop1: top1,
                                                  valTop1: top1 + (seed == 0 ? 0.01 : 0), elapsedSeconds: seconds * Double($0) / 2) }
        return ComparisonRow(name: name, seed: seed, label: name.uppercased(), tables: tables,
                             cost: ModelCost(parameters: 1000, storage: [], products: [], precision: "1/1"),
                             testTop1: top1, lastTestTop1: top1 - 0.01, bestValidationTop1: top1 + 0.02, bestEpoch: 2, epochs: 2,
                             trainingSeconds: seconds, wallSeconds: 2 * seconds, records: records, testImages: 1000)
    }

    @Test func reportGivesMeanSpreadPerSeedValuesAndVerdicts() throws {
        let plan = try parse(Self.seededPlan)
        let rows = [0, 1, 2].flatMap { s in [
            Self.row("fp", s, [0.80, 0.82, 0.84][s], seconds: Double(50 + 10 * s)),
            Self.row("w1a1", s, [0.50, 0.52, 0.54][s]),
            Self.row("gsb", s, [0.51, 0.53, 0.55][s]),
        ] } + [1, 2].map { s in Self.row("gsb-short", s, [0, 0.40, 0.41][s], tables: ["ablation"]) }
        let report = ComparisonReport(plan: plan, rows: rows, command: "bitvit compare p.yaml")
        let summaries = report.summaries
        #expect(summaries.map(\.name) == ["fp", "w1a1", "gsb", "gsb-short"])
        #expect(summaries[0].rows.count == 3 && summaries[0].wallSeconds == 2 * (50 + 60 + 70))
        #expect(summaries[0].records.count == 2 && abs(summaries[0].records[1].valTop1! - (0.82 + 0.01 / 3)) < 1e-12,
                "curves: validation top-1 averaged over the seeds")
        let text = report.markdown { "\($0).svg" }
        // Mean ± sample standard deviation and the seed count; durations with their spread.
        #expect(text.contains("| FP | 1/1 | 1,000 | 0.000 | 0.00 | 3 | 82.00 ± 2.00 | 81.00 ± 2.00 | 84.00 ± 2.00 | 2 | 1 min 00 s ± 10 s | 6 min 00 s |"),
                "\(text)")
        // Every run against the baselines of its table (not itself, each pair once); the ablation
        // against its base only.
        let main = report.differences(in: "main").map { "\($0.run)-\($0.reference)" }
        #expect(main == ["fp-w1a1", "gsb-fp", "gsb-w1a1"], "each pair once")
        #expect(report.differences(in: "ablation").map { "\($0.run)-\($0.reference)" } == ["gsb-short-gsb"])
        #expect(text.contains("- GSB − FP: -29.00 points, threshold 3.27: **exceeds the spread**."), "\(text)")
        #expect(text.contains("- GSB − W1A1: +1.00 points, threshold 3.27: within the spread."), "\(text)")
        #expect(text.contains("- GSB-SHORT − GSB: -12.50 points, threshold 2.52: **exceeds the spread**."), "\(text)")
        #expect(text.contains("| GSB | 51.00 (ep. 2) | 53.00 (ep. 2) | 55.00 (ep. 2) |"))
        #expect(text.contains("| method | seed 1 | seed 2 |\n| --- | ---: | ---: |\n| GSB-SHORT | 40.00 (ep. 2) | 41.00 (ep. 2) |"))
        #expect(text.contains(MeanDifference.rule))
        #expect(text.contains("measured once after training on 1,000 test images"))
        #expect(text.contains("| gsb-short | [`recipes/gsb-stage2-small.yaml`](../recipes/gsb-stage2-small.yaml) | 1, 2 |"))
    }

    @Test func singleSeedRowsShowTheirValuesWithoutSpread() {
        let table = ComparisonTable.markdown([Self.row("w1a1", 0, 0.5)])
        #expect(table.contains("| W1A1 | 1/1 | 1,000 | 0.000 | 0.00 | 1 | 50.00 | 49.00 | 52.00 | 2 | 1 min 00 s | 2 min 00 s |"), "\(table)")
        #expect(ComparisonTable.perSeedMarkdown(ComparisonSummary.summarize([Self.row("w1a1", 0, 0.5)])) == nil)
    }

    /// A stored run is the plan's whatever the thread count it trained or resumes with; another
    /// setting is an error naming the setting.
    @Test func storedRunsMatchWhateverTheThreadCount() throws {
        let trained = ToolFixtures.deit
        let plan = try parse("name: x\noutput: \(trained.directory.deletingLastPathComponent().path)\n"
            + "runs:\n  - {name: \(trained.directory.lastPathComponent), recipe: r.yaml}")
        let runner = ComparisonRunner(plan: plan)
        var config = trained.config
        config.training.threads = (config.training.threads ?? 1) + 1
        #expect(try runner.status(of: plan.runs[0], config: config) == .finished)
        config.training.epochs = 3
        #expect(throws: BitViTError.self) { try runner.status(of: plan.runs[0], config: config) }
        do {
            _ = try runner.status(of: plan.runs[0], config: config)
        } catch {
            #expect("\(error)".contains("'  epochs: 1' → '  epochs: 3'"), "\(error)")
        }
    }

    /// The runner walks every seed of every run: a fresh plan reports each as not started.
    @Test func runnerListsEveryRunAndSeed() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
        var plan = try parse(Self.seededPlan)
        plan.output = try ToolFixtures.temporaryDirectory("seed-runs").path
        for i in plan.runs.indices { plan.runs[i].recipe = root.appendingPathComponent(plan.runs[i].recipe).path }
        let runner = ComparisonRunner(plan: plan)
        let lines = try runner.statusLines()
        #expect(lines.count == 11 && lines.allSatisfy { $0.contains("notStarted") })
        #expect(lines[2].hasPrefix("gsb (seed 0): "))
        #expect(try runner.config(for: plan.runs[2], seed: 1).training.seed == 1)
        #expect(try runner.rows().isEmpty)
        var one = runner
        one.onlySeeds = [2]
        #expect(one.trials.map { "\($0.run.name)@\($0.seed!)" } == ["fp@2", "w1a1@2", "gsb@2", "gsb-short@2"])
        #expect(try one.statusLines().map { $0.components(separatedBy: ":")[0] } == ["fp (seed 2)", "w1a1 (seed 2)", "gsb (seed 2)", "gsb-short (seed 2)"])
    }
}
