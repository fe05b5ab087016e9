import BitViTCore
import BitViTData
import BitViTExport
import BitViTRuntime
import BitViTTools
import BitViTTrain
import Foundation
import Testing

/// predict, parity and bench infer on the one-epoch runs of `ToolFixtures`.
@Suite("bitvit predict, parity and bench infer")
struct EngineToolTests {
    static func exported(_ run: ToolFixtures.Run) throws -> String {
        let path = try ToolFixtures.temporaryDirectory("engine").appendingPathComponent("model.bitvit").path
        _ = try CheckpointExport.export(checkpoint: run.best, to: path)
        return path
    }

    @Test("predict: the softmax ranking of the engine's logits, resized and normalized as the file says")
    func predict() throws {
        let model = try Self.exported(ToolFixtures.deit)
        let dir = try ToolFixtures.temporaryDirectory("predict")
        let png = dir.appendingPathComponent("square.png")
        try Data(try ToolFixtures.image(label: 1, index: 2).pngData()).write(to: png)
        let p = try ImagePrediction(model: model, image: png.path, top: 5)
        #expect(p.ranking.count == 2 && Set(p.ranking.map(\.label)) == [0, 1])
        #expect(abs(p.ranking.map(\.probability).reduce(0, +) - 1) < 1e-9)
        #expect(p.ranking[0].probability >= p.ranking[1].probability && p.ranking[0].logit >= p.ranking[1].logit)
        #expect(p.ranking.allSatisfy { $0.name == ToolFixtures.classNames[$0.label] })
        // The same image through the engine by hand (28×28 already: no resize).
        let engine = try InferenceEngine(contentsOf: URL(fileURLWithPath: model))
        var input = [Float](repeating: 0, count: 3 * 28 * 28)
        try input.withUnsafeMutableBufferPointer { try Normalization.imagenet.write(ToolFixtures.image(label: 1, index: 2), into: $0) }
        let logits = input.withUnsafeBufferPointer { engine.logits($0.baseAddress!, batch: 1) }
        #expect(p.ranking.allSatisfy { $0.logit == logits[$0.label] })
        let lines = p.text.split(separator: "\n").map(String.init)
        #expect(lines[0] == "\(png.path) → \(model) (deit, bit kernels)")
        #expect(lines[1] == String(format: "1. %6.2f %%  [%d] ", 100 * p.ranking[0].probability, p.ranking[0].label) + p.ranking[0].name)
        #expect(try ImagePrediction(model: model, image: png.path, top: 1).ranking == [p.ranking[0]])

        // A larger JPEG is resized to the model's side first.
        let big = ToolFixtures.image(label: 0, index: 0).resized(height: 56, width: 56, interpolation: .nearest)
        let jpeg = dir.appendingPathComponent("big.jpg")
        try Data(try big.jpegData(quality: 95)).write(to: jpeg)
        let resized = try ImagePrediction(model: model, image: jpeg.path, floatKernels: true)
        #expect(resized.floatKernels && resized.text.hasSuffix(resized.ranking[1].name))
        #expect { try ImagePrediction(model: model, image: model) } throws: { "\($0)".contains("not a JPEG or PNG") }
    }

    @Test("parity: both engines against the training graph on the test split", arguments: ["vit-mnist", "gsb-vit-mnist"])
    func parity(_ name: String) throws {
        let run = name == "vit-mnist" ? ToolFixtures.deit : ToolFixtures.gsb
        let report = try ParityCheck(checkpoint: run.best).run()
        #expect(report.kernels.images == 8 && report.float_kernels.images == 8)
        #expect(report.family == (name == "vit-mnist" ? "deit" : "gsb") && report.dataset == "image-folder" && report.model_name == name)
        #expect(report.float_kernels.relativeError < 1e-3, "\(report.float_kernels)")
        if name == "vit-mnist" { #expect(report.kernels.agreement == 1 && report.kernels.relativeError < 1e-3) }
        // The exported file gives what the in-memory export gives.
        let fromFile = try ParityCheck(checkpoint: run.best, model: try Self.exported(run)).run()
        #expect(fromFile.kernels == report.kernels && fromFile.float_kernels == report.float_kernels)
        // The batch that reaches the limit is the last.
        #expect(try ParityCheck(checkpoint: run.best, batchSize: 3, limit: 4).run().kernels.images == 6)
        let lines = report.text.split(separator: "\n").map(String.init)
        #expect(lines[0] == "\(run.best): \(report.family) '\(name)' on image-folder test split, 8 images")
        #expect(lines[1].hasPrefix("training graph (eval): top-1 ") && lines[2].hasPrefix("engine, bit kernels: top-1 ")
                && lines[3].hasPrefix("engine, float kernels: top-1 "))
        #expect(lines[2].contains(String(format: "agreement %.2f %% (%d/8)", 100 * report.kernels.agreement, report.kernels.agreements)))
        #expect { try ParityCheck(checkpoint: run.best, dataset: .mnist).run() } throws: { "\($0)".contains("data.root is required for mnist") }
    }

    @Test("bench infer --bit-only: one engine, no throughput with zero batch calls")
    func benchInferBitOnly() throws {
        let model = try Self.exported(ToolFixtures.gsb)
        var bench = InferenceBenchmark(model: model, rounds: 1, iterations: 2, batch: 2, batchIterations: 0)
        bench.floatKernels = false
        let report = try bench.run()
        #expect(report.float_kernels == nil && report.speedup_latency == nil && report.bit_kernels.throughput_images_per_s == nil)
        #expect(report.bit_kernels.latency_ms_median > 0 && report.text(batch: 2, iters: 2).contains("resident memory"))
    }

    @Test("bench infer: both engines' latency, throughput and per-op breakdown")
    func benchInfer() throws {
        let model = try Self.exported(ToolFixtures.gsb)
        let report = try InferenceBenchmark(model: model, rounds: 1, iterations: 2, batch: 2, batchIterations: 1).run()
        #expect(report.model == model && report.family == "gsb" && report.input_shape == [3, 28, 28])
        #expect(report.threads == Parallel.threadCount)
        let float = try #require(report.float_kernels)
        for side in [report.bit_kernels, float] {
            #expect(side.latency_ms_median > 0 && side.latency_ms_p90 >= side.latency_ms_median && (side.throughput_images_per_s ?? 0) > 0)
            #expect(!side.ops.isEmpty)
        }
        #expect(report.speedup_latency == float.latency_ms_median / report.bit_kernels.latency_ms_median)
        #expect(report.peak_resident_bytes > report.resident_bytes_before_load && report.resident_bytes_before_load > 0)
        let text = report.text(batch: 2, iters: 2)
        #expect(text.hasPrefix("\(model): gsb, input [3, 28, 28], \(report.threads) threads"))
        #expect(text.contains("speed-up (float / bit): ") && text.contains("per-op time at batch 1, bit kernels (mean of 2 calls"))
    }
}
