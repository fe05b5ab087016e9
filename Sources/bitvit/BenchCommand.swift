import ArgumentParser
import BitViTDistributed
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
        abstract: "Training throughput and peak memory of a DeiT geometry (same flags as torch_vit_bench.py).",
        discussion: """
            Under mpirun every process runs --batch / processes images per step and averages the \
            gradients as training does; the line then adds the time waited for the gradient sums and \
            the bandwidth of one sum of all gradients. --ranks N measures this process alone, then the \
            same global batch on N processes started with mpirun on this machine (--threads split among \
            them), and prints the scaling efficiency (docs/distributed.md).
            """)

    @OptionGroup var geometry: GeometryOptions
    @Option(parsing: .unconditional, help: "Images per step (over all processes).") var batch = 64
    @Option(parsing: .unconditional, help: "Timed steps (after 2 warm-up steps).") var iters = 5
    @Option(parsing: .unconditional, help: "Worker threads per process (default: all cores, or the process's cores under mpirun).")
    var threads: Int?
    @Option(parsing: .unconditional, help: "Compare with this many processes started by mpirun on this machine.") var ranks: Int?
    @Flag(help: "Sum the gradient buckets only after the backward pass (no overlap).") var noOverlap = false
    @Flag(help: "Print one JSON object.") var json = false
    @Flag(help: "Also print a per-op time breakdown.") var profile = false

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
        try geometry.config.validate()
        var bench = TrainingBenchmark(config: geometry.config, batch: batch, iterations: iters)
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
            printLine(r)
            printLine(distributed)
            print(String(format: "scaling: %d processes × %d threads reach %.1f%% of the images/s of 1 process × %d threads (%.1f%% by CPU time per step)",
                         distributed.processes, distributed.threads, 100 * comparison.efficiency, r.threads,
                         100 * (comparison.cpuEfficiency ?? .nan)))
            return
        }
        if json { try printJSON(r); return }
        printLine(r)
        if profile { print(OpProfiler.table(perSteps: iters)) }
    }

    private func printLine(_ r: TrainingBenchmark.Result) {
        var line = String(format: "train img/s=%.2f ms/step=%.1f peak_rss=%.0fMB peak_tensors=%.0fMB threads=%d blas=%@ params=%d",
                          r.imagesPerSecond, r.millisecondsPerStep, Double(r.peakMemoryBytes) / 1e6,
                          Double(r.peakTensorBytes) / 1e6, r.threads, r.blasCore, r.parameters)
        if let cpu = r.cpuSecondsPerStep { line += String(format: " cpu_s/step=%.2f", cpu) }
        if let wait = r.allreduceWaitMillisecondsPerStep, let sum = r.allreduceMilliseconds, let bus = r.allreduceBusGigabytesPerSecond {
            line += String(format: " processes=%d allreduce_wait_ms/step=%.2f allreduce_ms=%.2f bus_GB/s=%.2f",
                           r.processes, wait, sum, bus)
        }
        print(line)
    }
}

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
