import ArgumentParser
import BitViTTools
import BitViTTrain
import Foundation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure speed; every figure comes with its baseline from the same run.",
        subcommands: [BenchTrain.self, BenchGEMM.self, BenchBinaryGEMM.self, BenchInfer.self])
}

/// Options shared by the bench commands.
struct GeometryOptions: ParsableArguments {
    @Option(help: "Image side in pixels.") var img = 32
    @Option(help: "Patch side in pixels.") var patch = 4
    @Option(help: "Embedding width.") var dim = 192
    @Option(help: "Number of transformer blocks.") var depth = 12
    @Option(help: "Attention heads.") var heads = 3
    @Option(help: "Classes of the classifier head.") var classes = 10
    @Option(help: "Input channels.") var channels = 3

    var config: ViTConfig {
        ViTConfig(imageSize: img, patchSize: patch, inChannels: channels, dim: dim, depth: depth,
                  heads: heads, classes: classes)
    }
}

struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Training throughput and peak memory of a DeiT geometry (same flags as torch_vit_bench.py) or of a method model (as scripts/official_step_bench.py).")

    @OptionGroup var geometry: GeometryOptions
    @Option(help: ArgumentHelp("A method model with its official loss and optimizer instead of the plain DeiT: \(TrainingBenchmark.Method.allCases.map(\.rawValue).joined(separator: ", ")). The geometry flags are then ignored.", valueName: "method"))
    var method: String?
    @Option(name: .customLong("at"), help: "Method geometry: small (DeiT-Ti width on 32×32, patch 4; BHViT: bhvit-tiny-cifar) or 224 (DeiT-S/16; BHViT-Tiny).")
    var methodGeometry = "small"
    @Option(help: "Images per step.") var batch = 64
    @Option(help: "Timed steps (after 2 warm-up steps).") var iters = 5
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Flag(help: "Print one JSON object.") var json = false
    @Flag(help: "Also print a per-op time breakdown.") var profile = false
    @Option(help: "Clock of the breakdown: wall, or cpu (the process's CPU time over all threads, which other processes do not inflate).")
    var profileClock = "wall"

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        guard let clock = OpProfiler.Clock(rawValue: profileClock) else {
            throw ValidationError("--profile-clock '\(profileClock)': expected wall or cpu")
        }
        OpProfiler.clock = clock
        var bench: TrainingBenchmark
        if let method {
            guard let m = TrainingBenchmark.Method(rawValue: method) else {
                throw ValidationError("--method '\(method)': expected one of \(TrainingBenchmark.Method.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard let g = TrainingBenchmark.Geometry(rawValue: methodGeometry) else {
                throw ValidationError("--at '\(methodGeometry)': expected small or 224")
            }
            bench = TrainingBenchmark(method: m, geometry: g, batch: batch, iterations: iters)
        } else {
            try geometry.config.validate()
            bench = TrainingBenchmark(config: geometry.config, batch: batch, iterations: iters)
        }
        bench.profile = profile
        let r = try bench.run()
        if json { try printJSON(r); return }
        print(String(format: "train model=%@ img/s=%.2f ms/step=%.1f cpu_ms/step=%.1f peak_rss=%.0fMB peak_tensors=%.0fMB threads=%d blas=%@ precision=%@ params=%d batch=%d",
                     r.model, r.imagesPerSecond, r.millisecondsPerStep, r.cpuMillisecondsPerStep, Double(r.peakMemoryBytes) / 1e6,
                     Double(r.peakTensorBytes) / 1e6, r.threads, r.blasCore, r.precision, r.parameters, r.batch))
        if profile { print(OpProfiler.table(perSteps: iters)) }
    }
}

struct BenchGEMM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm", abstract: "GFLOPS of the float matmul path (OpenBLAS sgemm) at ViT shapes.")

    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Option(help: "Seconds per shape.") var seconds = 0.3
    @Flag(help: "Print one JSON object.") var json = false

    struct Report: Encodable {
        var blas_core: String
        var threads: Int
        var shapes: [GEMMBenchmark.Measurement]
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        let results = GEMMBenchmark.measure(seconds: seconds)
        if json { try printJSON(Report(blas_core: BLAS.coreName, threads: Parallel.threadCount, shapes: results)); return }
        print("sgemm (OpenBLAS \(BLAS.coreName) kernels, \(Parallel.threadCount) threads), C = A·Bᵀ")
        for r in results {
            let label = r.shape.label.padding(toLength: 18, withPad: " ", startingAt: 0)
            print(label + String(format: " M=%-5d N=%-5d K=%-5d %8.1f GFLOPS %9.1f µs",
                         r.shape.m, r.shape.n, r.shape.k, r.gflops, r.microseconds))
        }
    }
}
