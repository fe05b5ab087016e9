import ArgumentParser
import BitViTRuntime
import BitViTTools
import BitViTTrain
import Foundation

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
    @Option(help: "Rounds; each round times --iters batch-1 calls of each engine.") var rounds = 7
    @Option(help: "Batch-1 calls per engine per round.") var iters = 10
    @Option(help: "Batch size of the throughput measurement.") var batch = 16
    @Option(help: "Calls per engine for the throughput measurement.") var batchIters = 3
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Flag(help: "Print one JSON object.") var json = false
    @Flag(help: "Measure the bit-kernel engine only (its resident memory without the float engine's).") var bitOnly = false

    func run() throws {
        var bench = InferenceBenchmark(model: model)
        bench.rounds = rounds
        bench.iterations = iters
        bench.batch = batch
        bench.batchIterations = batchIters
        bench.threads = threads
        bench.floatKernels = !bitOnly
        let report = try bench.run()
        if json { try printJSON(report); return }
        print(report.text(batch: batch, iterations: iters))
    }
}

