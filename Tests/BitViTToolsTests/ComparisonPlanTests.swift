import BitViTModels
import BitViTRuntime
import BitViTTools
import BitViTTrain
import Foundation
import Testing

@Suite struct ComparisonPlanTests {
    private func parse(_ text: String) throws -> ComparisonPlan { try ToolFixtures.plan(text) }

    @Test func parsesDefaultsTablesAndSubstitutesRuns() throws {
        let plan = try parse("""
            name: cmp
            set: [training.epochs=3]
            tables: {ablation: Ablation}
            runs:
              - {name: fp, recipe: recipes/fp-teacher-small.yaml}
              - name: q
                label: Q-ViT
                recipe: recipes/qvit-w4a4-small.yaml
                table: [main, ablation]
                set: ["loss.distillation.teacher={run:fp}/last.safetensors", "training.init_checkpoint={run:fp}/best.safetensors"]
            """)
        #expect(plan.output == "runs/cmp" && plan.report == "docs/cmp.md" && plan.title == "cmp")
        #expect(plan.runs[0].label == "fp" && plan.runs[0].tables == ["main"])
        #expect(plan.runs[1].tables == ["main", "ablation"])
        let fp = plan.directory(of: "fp").path
        #expect(plan.overrides(for: plan.runs[1]) == [
            "training.epochs=3", "loss.distillation.teacher=\(fp)/last.safetensors",
            "training.init_checkpoint=\(fp)/best.safetensors", "name=q", "training.output=runs/cmp"])
        #expect(ComparisonReport(plan: plan, rows: [], command: "x").tableKeys == ["main", "ablation"])
    }

    /// A title wider than the chart shrinks and is cut instead of drawing off the canvas.
    @Test func longTitlesFitTheCurves() throws {
        let title = String(repeating: "CIFAR-10, 500 images per class: a long table title ", count: 8)
        let canvas = ComparisonCurves(rows: [], title: title).raster()
        #expect(canvas.width > 0 && canvas.height > 0, "drawn without running off the canvas")
        #expect(ComparisonCurves(rows: [], title: title).svg().contains("<svg"))
    }

    /// Long legend labels and rectangles past the edges are clipped, not a crash.
    @Test func drawingPastTheCanvasEdgesIsClipped() {
        var canvas = RasterCanvas(width: 20, height: 10)
        canvas.fill(x: 25, y: 2, width: 4, height: 4, color: RGB(0, 0, 0))
        canvas.fill(x: -8, y: -8, width: 4, height: 4, color: RGB(0, 0, 0))
        canvas.fill(x: 18, y: 8, width: 10, height: 10, color: RGB(0, 0, 0))
        canvas.text("a label much wider than the canvas", x: 5, y: 3, color: RGB(0, 0, 0))
        // A comparison row whose legend label is wider than the chart panel.
        let label = String(repeating: "Q-ViT W4A4, DGD averaged over layers and heads ", count: 4)
        let record = MetricsRecord(type: "epoch", epoch: 1, step: 10, lr: 1e-3, trainLoss: 2, trainTop1: 0.3, valTop1: 0.3, elapsedSeconds: 1)
        let row = ComparisonRow(name: "q", label: label, tables: ["main"],
                                cost: ModelCost(parameters: 1, storage: [], products: [], precision: "4/4"),
                                testTop1: 0.3, lastTestTop1: 0.3, bestValidationTop1: 0.3, bestEpoch: 1, epochs: 1, trainingSeconds: 1,
                                wallSeconds: nil,
                                records: [record])
        let big = ComparisonCurves(rows: [row], title: "t").raster()
        #expect(canvas.width == 20 && big.width > 0)
    }

    @Test(arguments: [
        ("name: x\nruns: []", "no runs"),
        ("name: x\nruns:\n  - {name: a, recipe: r.yaml}\n  - {name: a, recipe: r.yaml}", "repeats"),
        ("name: x\nruns:\n  - {name: a/b, recipe: r.yaml}", "'/'"),
        ("name: x\nruns:\n  - {name: a, recipe: r.yaml, set: [\"t={run:b}/x\"]}\n  - {name: b, recipe: r.yaml}", "not an earlier run"),
        ("name: x\nruns:\n  - {name: a, recipe: r.yaml, set: [\"t={run:a}/x\"]}", "not an earlier run"),
        ("name: x\nruns:\n  - {name: a}", "not a comparison plan"),
        ("runs: 3", "not a comparison plan"),
    ])
    func malformedPlansNameTheFileAndTheProblem(_ text: String, _ reason: String) throws {
        do {
            _ = try parse(text)
            Issue.record("accepted: \(text)")
        } catch {
            #expect("\(error)".contains("plan.yaml"), "\(error)")
            #expect("\(error)".contains(reason), "\(error)")
        }
    }

    @Test func plansInTheRepositoryResolveEveryRun() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
        let dir = root.appendingPathComponent("comparisons")
        let files = try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "yaml" }
        #expect(files.count >= 2)
        for file in files {
            let plan = try ComparisonPlan.load(file)
            for run in plan.runs {
                let recipe = root.appendingPathComponent(run.recipe)
                let config = try TrainConfig.resolve(recipe: recipe, overrides: plan.overrides(for: run))
                _ = try ModelZoo.make(config.model)
                #expect(config.name == run.name)
            }
        }
    }
}
