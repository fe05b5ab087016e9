import ArgumentParser
import BitViTCore
import BitViTDistributed
import BitViTModels
import BitViTRuntime
import BitViTTools
import BitViTTrain
import Foundation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure speed; every figure comes with its baseline from the same run.",
        subcommands: [BenchTrain.self, BenchGEMM.self, BenchBinaryGEMM.self, BenchInfer.self, BenchCompare.self])
}

/// Options shared by the bench commands.
struct GeometryOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Image side in pixels.") var img = 32
    @Option(parsing: .unconditional, help: "Patch side in pixels.") var patch = 4
    @Option(parsing: .unconditional, help: "Embedding width.") var dim = 192
    @Option(parsing: .unconditional, help: "Number of transformer blocks.") var depth = 12
    @Option(parsing: .unconditional, help: "Attention heads.") var heads = 3
    @Option(parsing: .unconditional, help: "Classes of the classifier head.") var classes = 10
    @Option(parsing: .unconditional, help: "Input channels.") var channels = 3

    /// The geometry checked as every model description is (`ModelLimits`); the message names
    /// the field (`model.dim` is `--dim`).
    func validate() throws {
        do { try config.validate() } catch let e as BitViTError { throw ValidationError(e.message) }
    }

    var config: ViTConfig {
        ViTConfig(imageSize: img, patchSize: patch, inChannels: channels, dim: dim, depth: depth,
                  heads: heads, classes: classes)
    }
}

struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Training throughput and peak memory of a DeiT geometry (same flags as torch_vit_bench.py) or of a method model (as scripts/official_step_bench.py).",
        discussion: """
            Under mpirun every process runs --batch / processes images per step and averages the \
            gradients as training does; the line then adds the time waited for the gradient sums and \
            the bandwidth of one sum of all gradients. --ranks N measures this process alone, then the \
            same global batch on N processes started with mpirun on this machine (--threads split among \
            them), and prints the scaling efficiency (docs/distributed.md).
            """)

    @OptionGroup var geometry: GeometryOptions
    @Option(parsing: .unconditional,
            help: "A method model with its official loss and optimizer instead of the plain DeiT (the geometry flags are then ignored).")
    var method: TrainingBenchmark.Method?
    @Option(name: .customLong("at"), parsing: .unconditional,
            help: "Method geometry: small (DeiT-Ti width on 32×32, patch 4; BHViT: bhvit-tiny-cifar) or 224 (DeiT-S/16; BHViT-Tiny).")
    var methodGeometry = TrainingBenchmark.Geometry.small
    @Option(parsing: .unconditional, help: "Images per step (over all processes).") var batch = 64
    @Option(parsing: .unconditional, help: "Timed steps (after 2 warm-up steps).") var iters = 5
    @Option(parsing: .unconditional, help: "Worker threads per process (default: all cores, or the process's cores under mpirun).")
    var threads: Int?
    @Option(parsing: .unconditional, help: "Compare with this many processes started by mpirun on this machine.") var ranks: Int?
    @Flag(help: "Sum the gradient buckets only after the backward pass (no overlap).") var noOverlap = false
    @Flag(help: "Print one JSON object.") var json = false
    @Flag(help: "Also print a per-op time breakdown.") var profile = false
    @Option(parsing: .unconditional,
            help: "Clock of the breakdown: wall, or cpu (the process's CPU time over all threads, which other processes do not inflate).")
    var profileClock = OpProfiler.Clock.wall

    func validate() throws {
        try checkOption("--batch", batch, 1...TrainConfig.maxBatchSize)
        try checkOption("--iters", iters, 1...1_000_000)
        try checkThreads(threads)
        if let ranks { try checkOption("--ranks", ranks, 2...1024) }
    }

    func run() throws {
        try DistributedLaunch.run { group in try measure(group) }
    }

    private func measure(_ group: any ProcessGroup) throws {
        if let count = DistributedLaunch.threadCount(requested: threads, group: group) { Parallel.threadCount = count }
        OpProfiler.clock = profileClock
        var bench = method.map { TrainingBenchmark(method: $0, geometry: methodGeometry, batch: batch, iterations: iters) }
            ?? TrainingBenchmark(config: geometry.config, batch: batch, iterations: iters)
        bench.profile = profile
        bench.group = group
        bench.overlap = !noOverlap
        let r = try bench.run()
        guard group.rank == 0 else { return }
        if let ranks {
            guard !group.isDistributed else { throw BitViTError.invalidArgument("--ranks starts mpirun itself; run it without mpirun") }
            guard ranks > 1, Parallel.threadCount % ranks == 0 else {
                throw BitViTError.invalidArgument("--ranks \(ranks) must be > 1 and divide the \(Parallel.threadCount) threads")
            }
            var arguments = CommandLine.arguments.dropFirst().filter { $0 != "--json" }
            if let i = arguments.firstIndex(of: "--ranks") { arguments.removeSubrange(i...(i + 1)) }
            if let i = arguments.firstIndex(of: "--threads") { arguments.removeSubrange(i...(i + 1)) }
            let output = try MPILauncher(processes: ranks).run(
                executable: ProcessInfo.processInfo.arguments[0],
                arguments: Array(arguments) + ["--threads", String(Parallel.threadCount / ranks), "--json"])
            guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("{") }) else {
                throw BitViTError.malformed(file: "mpirun output", reason: "no JSON line in: \(output)")
            }
            let distributed = try JSONDecoder().decode(TrainingBenchmark.Result.self, from: Data(line.utf8))
            let comparison = TrainingScaling(reference: r, distributed: distributed)
            if json { try printJSON(comparison); return }
            print(comparison.text)
            return
        }
        if json { try printJSON(r); return }
        print(r.text)
        if profile { print(OpProfiler.table(perSteps: iters)) }
    }
}

extension TrainingBenchmark.Method: ExpressibleByArgument {}
extension TrainingBenchmark.Geometry: ExpressibleByArgument {}
extension OpProfiler.Clock: ExpressibleByArgument {}

struct BenchGEMM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm", abstract: "GFLOPS of the float matmul path (OpenBLAS sgemm) at ViT shapes.")

    @Option(parsing: .unconditional, help: "Worker threads (default: all cores).") var threads: Int?
    @Option(parsing: .unconditional, help: "Seconds per shape.") var seconds = 0.3
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        try checkThreads(threads)
        try checkOption("--seconds", seconds, positiveUpTo: 3600)
    }

    func run() throws {
        setThreads(threads)
        let report = GEMMBenchmark.report(seconds: seconds)
        if json { try printJSON(report); return }
        print(report.text)
    }
}

struct BenchBinaryGEMM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bgemm",
        abstract: "Binary, multi-plane and int8 GEMM vs OpenBLAS sgemm at DeiT-S shapes (C = A·Bᵀ).")

    @Option(parsing: .unconditional, help: "Worker threads (default: all cores).") var threads: Int?
    @Option(parsing: .unconditional, help: "Seconds per measurement.") var seconds = 0.1
    @Option(parsing: .unconditional, help: "Alternating rounds per shape; medians are reported.") var rounds = 7
    @Option(help: "Force a kernel path (scalar, avx2, avx512, neon).") var path: String?
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        try checkThreads(threads)
        try checkOption("--seconds", seconds, positiveUpTo: 3600)
        try checkOption("--rounds", rounds, 1...10_000)
    }

    func run() throws {
        setThreads(threads)
        var forced: BinaryKernelPath?
        if let path {
            guard let p = BinaryKernelPath(name: path) else { throw ValidationError("unknown path \(path)") }
            forced = p
        }
        var bench = BinaryGEMMBenchmark(seconds: seconds, rounds: rounds, path: forced)
        let report = bench.run()
        if json { try printJSON(report); return }
        print(BinaryGEMMBenchmark.text(report))
    }
}

struct BenchInfer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Inference speed of a .bitvit model: bit kernels vs float kernels on the same model, same run.",
        discussion: """
            Alternates rounds of the bit-kernel engine and the float-kernel engine (sgemm on the \
            dequantized weights) at batch 1 (median and p90 latency), then measures throughput at \
            a larger batch (--batch-iters 0: none), then a per-op time breakdown of both at batch 1, \
            and the process's resident memory before loading the model and at its peak.
            """)

    @Argument(help: "Model file (.bitvit).") var model: String
    @Option(parsing: .unconditional, help: "Rounds; each round times --iters batch-1 calls of each engine.") var rounds = 7
    @Option(parsing: .unconditional, help: "Batch-1 calls per engine per round.") var iters = 10
    @Option(parsing: .unconditional, help: "Batch size of the throughput measurement.") var batch = 16
    @Option(parsing: .unconditional, help: "Calls per engine for the throughput measurement.") var batchIters = 3
    @Option(parsing: .unconditional, help: "Worker threads (default: all cores).") var threads: Int?
    @Flag(help: "Print one JSON object.") var json = false
    @Flag(help: "Measure the bit-kernel engine only (its resident memory without the float engine's).") var bitOnly = false

    func validate() throws {
        try checkOption("--rounds", rounds, 1...10_000)
        try checkOption("--iters", iters, 1...1_000_000)
        try checkOption("--batch", batch, 1...TrainConfig.maxBatchSize)
        try checkOption("--batch-iters", batchIters, 0...1_000_000)
        try checkThreads(threads)
    }

    func run() throws {
        setThreads(threads)
        var bench = InferenceBenchmark(model: model, rounds: rounds, iterations: iters, batch: batch, batchIterations: batchIters)
        bench.floatKernels = !bitOnly
        let report = try bench.run()
        if json { try printJSON(report); return }
        print(report.text(batch: batch, iters: iters))
    }
}
