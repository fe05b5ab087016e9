import BitViTCore
import BitViTTools
import BitViTTrain
import Foundation
import Testing

/// eval, the train summary, plot and the demo on small image folders.
@Suite("bitvit eval, train, plot and demo")
struct TrainingToolTests {
    @Test("eval: top-1, top-5, loss and the confusion matrix of the test split")
    func evaluate() throws {
        let run = ToolFixtures.deit
        let e = try CheckpointEvaluation(checkpoint: run.best)
        #expect(e.result.count == 8 && e.classNames == ToolFixtures.classNames && e.dataset == .imageFolder)
        #expect(e.result.confusion.flatMap { $0 }.reduce(0, +) == 8 && e.result.top5 == 1)
        let again = try CheckpointEvaluation(checkpoint: run.best, overrides: ["data.eval_batch_size=3"], batchSize: 5)
        #expect(again.result.confusion == e.result.confusion && abs(again.result.loss - e.result.loss) < 1e-6)
        let lines = e.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0].hasPrefix("\(run.best): vit-mnist on image-folder test split, 8 images, "))
        #expect(lines[1] == String(format: "top-1 %.2f %%   top-5 %.2f %%   loss %.4f", 100 * e.result.top1, 100 * e.result.top5, e.result.loss))
        #expect(lines.dropFirst(3).joined(separator: "\n") == confusionTable(e.result, classNames: e.classNames))
        #expect(e.report.images == 8 && e.report.class_names == e.classNames && e.report.dataset == "image-folder")
        #expect(try jsonLine(e.report).hasPrefix("{\"checkpoint\":"))
    }

    @Test("The confusion table: a row per true class with its recall, a column per prediction")
    func confusion() throws {
        let result = try JSONDecoder().decode(EvaluationResult.self, from: Data("""
            {"count": 5, "loss": 1, "top1": 0.6, "top5": 1, "confusion": [[2, 1], [1, 1]]}
            """.utf8))
        #expect(confusionTable(result, classNames: ["cat", "a-very-long-class-name"]) == """
            confusion matrix (rows: true class, columns: predicted class)
                                 [0]  [1]   recall
            [0]  cat               2    1    66.7%
            [1]  a-very-long-c…    1    1    50.0%
            """)
    }

    @Test("The train summary and the plots of a finished run")
    func summaryAndPlots() throws {
        let run = ToolFixtures.deit
        let s = run.outcome.summary
        let lines = trainingSummary(run.outcome, config: run.config).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0...3] == ["", "Done.", "  model            vit-mnist, image-folder", "  epochs           1/1 (\(s.steps) steps)"])
        let test = try #require(s.test)
        #expect(lines.contains { $0.hasPrefix(String(format: "  test top-1       %.2f %% last (top-5 ", 100 * test.last.result.top1)) })
        #expect(lines.contains("  best checkpoint  \(run.best)"))
        let output = try ToolFixtures.temporaryDirectory("plots")
        let files = try plotRun(run.directory.path, output: output.path, title: "tiny")
        #expect(files.map(\.lastPathComponent).sorted() == ["curves.png", "curves.svg"])
        #expect(files.allSatisfy { FileManager.default.fileExists(atPath: $0.path) })
        #expect(try String(contentsOf: files.first { $0.pathExtension == "svg" }!, encoding: .utf8).contains("tiny"))
        #expect { try plotRun(output.appendingPathComponent("none").path) } throws: { "\($0)".contains("not found") }
    }

    @Test("The demo's stages: train, reevaluate, export, parity and benchmark, each in the summary")
    func demo() throws {
        let output = try ToolFixtures.temporaryDirectory("demo")
        var demo = Demo(config: try ToolFixtures.config(model: "gsb-vit-mnist", output: output),
                        runDirectory: output.appendingPathComponent("run"))
        demo.benchmark = InferenceBenchmark(model: "", rounds: 1, iterations: 1, batch: 2, batchIterations: 1)
        var log: [String] = []
        demo.log = { log.append($0) }
        let summary = try demo.run()
        #expect(log.filter { $0.hasPrefix("\n== [") }.count == 6)
        #expect(log.contains("image-folder: checked when training starts"))
        let model = output.appendingPathComponent("run/model.bitvit").path
        #expect(FileManager.default.fileExists(atPath: model))
        for prefix in ["model                gsb-vit-mnist", "epochs               1 (", "test top-1, last", "best checkpoint      test top-1",
                       "deployment file      \(model)", "stored as            fp32", "engine (bit kernels) top-1",
                       "batch-1 latency", "throughput"] {
            #expect(summary.contains { $0.hasPrefix(prefix) }, "no summary line starts with '\(prefix)'")
        }
    }
}
