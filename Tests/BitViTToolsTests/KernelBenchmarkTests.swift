import BitViTCore
import BitViTModels
import BitViTRuntime
import BitViTTools
import BitViTTrain
import Foundation
import Testing

/// The kernel and training benchmarks at tiny sizes: every row measured and reported (the
/// figures themselves are not asserted).
@Suite("bitvit bench bgemm, gemm and train")
struct KernelBenchmarkTests {
    @Test("bench bgemm: binary, multi-plane, int8 and single-core rows against sgemm")
    func binaryGEMM() {
        var bench = BinaryGEMMBenchmark(seconds: 0.0005, rounds: 1, ceilingSeconds: 0.002)
        let r = bench.run()
        #expect(r.binary.map(\.label) == ["DeiT-S qkv", "DeiT-S proj", "DeiT-S fc1", "DeiT-S fc2"])
        #expect(r.binary.allSatisfy { $0.with_packing_ratio != nil && $0.m == 197 && $0.ratio > 0 })
        #expect(r.binary_min_ratio == r.binary.map(\.ratio).min())
        #expect(r.multi_plane.map(\.label) == ["GSB Â·V̂ (3×3 planes)", "BHViT QD Â·V (3 fused)", "W2A2 DeiT-S fc1 planes",
                                               "W4A4 DeiT-S fc1 planes"])
        #expect(r.int8.count == 7 && r.int8[2].label == "DeiT-S patch embed")
        #expect(r.single_core.count == 9 && r.single_core.allSatisfy { $0.gmac_per_s > 0 })
        #expect(r.load_average.count == 2 && r.threads == Parallel.threadCount && r.rounds == 1)
        // On AVX2 CPUs, the table-lookup kernel against the panel kernel on 7 shapes.
        let avx2 = BinaryKernels.activePath == .avx2
        #expect(r.lookup_tables.count == (avx2 ? 7 : 0))
        #expect(r.lookup_tables.allSatisfy { $0.panel_gbmac_per_s > 0 && $0.lookup_gbmac_per_s > 0 && $0.ratio > 0 })
        let lines = BinaryGEMMBenchmark.text(r).split(separator: "\n")
        #expect(lines.count == 2 + (1 + 4) + 1 + (1 + 4) + (1 + 7) + (1 + 9) + (avx2 ? 1 + 7 : 0))
        #expect(lines[2] == "binary W1A1 (XNOR-popcount), GOPS = 2·M·N·K/t:")
    }

    @Test("bench gemm: every shape measured, one line each")
    func gemm() throws {
        let shapes = [GEMMBenchmark.Shape(m: 8, n: 16, k: 32, label: "tiny"), GEMMBenchmark.Shape(m: 33, n: 7, k: 5, label: "odd")]
        let report = GEMMBenchmark.report(shapes, seconds: 0.001)
        #expect(report.shapes.map(\.shape) == shapes && report.shapes.allSatisfy { $0.gflops > 0 && $0.microseconds > 0 })
        let lines = report.text.split(separator: "\n")
        #expect(lines.count == 3 && lines[0] == "sgemm (OpenBLAS \(BLAS.coreName) kernels, \(Parallel.threadCount) threads), C = A·Bᵀ")
        #expect(lines[1].hasPrefix("tiny               M=8     N=16    K=32 "))
        #expect(try jsonLine(report).contains("\"blas_core\""))
    }

    @Test("bench train: steps of a small DeiT timed, memory and parameters reported")
    func train() throws {
        let config = ViTConfig(imageSize: 8, patchSize: 4, inChannels: 1, dim: 16, depth: 1, heads: 2, classes: 3)
        var bench = TrainingBenchmark(config: config, batch: 4, iterations: 1)
        bench.warmup = 1
        let r = try bench.run()
        #expect(r.parameters == (try DeiT(config)).parameterCount && r.batch == 4 && r.iterations == 1)
        #expect(r.imagesPerSecond > 0 && r.peakMemoryBytes > 0 && r.peakTensorBytes > 0)
        #expect(r.text.hasPrefix("train model=deit img/s=") && r.text.hasSuffix("params=\(r.parameters) batch=4"))
        #expect(r.cpuSecondsPerStep > 0 && r.text.contains(String(format: " cpu_ms/step=%.1f ", r.cpuSecondsPerStep * 1000)))
        #expect(!r.text.contains("allreduce"), "one process reports no gradient averaging")
        #expect(try jsonLine(r).contains("\"images_per_second\""))
    }

    @Test("bench train --method: a step of each method model with its official objective",
          arguments: TrainingBenchmark.Method.allCases)
    func method(_ method: TrainingBenchmark.Method) throws {
        var bench = TrainingBenchmark(method: method, geometry: .small, batch: 2, iterations: 1)
        bench.warmup = 1
        let r = try bench.run()
        #expect(r.model == "\(method.rawValue)-small" && r.batch == 2)
        #expect(r.imagesPerSecond > 0 && r.cpuSecondsPerStep > 0)
        let objective = try bench.recipe.makeObjective(for: try ModelZoo.make(bench.recipe.model))
        let start = TrainingProgress(epoch: 0, epochs: 1, iteration: 0, iterationsPerEpoch: 1)
        #expect(objective.terms.map(\.term.name) == ["ce", "distill"])
        // DeiT hard distillation (α 0.5) for GSB and Q-ViT; BHViT's teacher term alone.
        #expect(objective.terms.map { $0.weight(start) } == (method == .bhvit ? [0, 1] : [0.5, 0.5]))
    }
}
