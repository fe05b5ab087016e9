import ArgumentParser
import BitViTPlatform
import BitViTTools
import Foundation

struct BenchCompare: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "BitViT against PyTorch, ONNX Runtime (FP32, int8) and OpenVINO: alternating rounds, pinned threads, one table.",
        discussion: """
            Exports untrained DeiT-S files of every family (and BHViT-Tiny, both variants) into \
            --models unless they are there, then per round: the anchors (../shared/bench/strong_infer.py \
            with the anchors' python) and every BitViT model (bitvit bench infer --bit-only) at batch 1 \
            on 1 and on 2 threads, then at batch 16 on 2 threads; finally the resident memory at batch 1. \
            Every measurement is a child process pinned with taskset to the first 1 or 2 CPUs. Without \
            the anchors' python (--anchors-python or BITVIT_ANCHORS_PY) the anchors are skipped. \
            Prints the CPU's features, the load, the table (Markdown) and the per-round ratios.
            """)

    @Option(help: "Folder for the exported model files (reused when present).") var models = "/tmp/bitvit-compare"
    @Option(help: "Alternating rounds.") var rounds = 3
    @Option(help: "The anchors' python (default: $BITVIT_ANCHORS_PY).") var anchorsPython: String?
    @Option(help: "Folder of strong_infer.py.") var anchors = "../shared/bench"
    @Option(help: "scripts/anchor-memory.py (ONNX Runtime's resident memory).") var memoryScript = "scripts/anchor-memory.py"
    @Option(help: "Write the table (Markdown) to this file as well.") var output: String?
    @Option(help: "Models to measure (comma-separated names of the table).") var only: String?

    /// The table's BitViT models: name, exported model, options.
    static let lineup: [(name: String, model: String, options: [String])] = [
        ("BitViT DeiT-S FP32", "deit-small", []),
        ("BitViT W1A1 DeiT-S", "w1a1-deit-small", []),
        ("BitViT GSB DeiT-S (W1A1)", "gsb-deit-small", []),
        ("BitViT Q-ViT DeiT-S W4A4", "qvit-deit-small", ["bits=4"]),
        ("BitViT Q-ViT DeiT-S W2A2", "qvit-deit-small", ["bits=2"]),
        ("BitViT BHViT-Tiny †", "bhvit-tiny", []),
        ("BitViT BHViT-Tiny fully binary", "bhvit-tiny", ["downsampling=binary"]),
    ]

    func run() throws {
        let executable = Bundle.main.executablePath ?? CommandLine.arguments[0]
        print(RuntimeComparisonRunner.machineDescription())
        try FileManager.default.createDirectory(atPath: models, withIntermediateDirectories: true)
        let wanted = only.map { Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) }
        var files: [RuntimeComparison.Model] = []
        for entry in Self.lineup where wanted?.contains(entry.name) ?? true {
            let file = models + "/" + ([entry.model] + entry.options).joined(separator: "_").replacingOccurrences(of: "=", with: "-") + ".bitvit"
            if !FileManager.default.fileExists(atPath: file) {
                print("exporting \(file)")
                let p = Process()
                p.executableURL = URL(fileURLWithPath: executable)
                p.arguments = ["export", "--untrained", entry.model, "-o", file] + entry.options.flatMap { ["--option", $0] }
                p.standardOutput = FileHandle.nullDevice
                try p.run()
                p.waitUntilExit()
                guard p.terminationStatus == 0 else { throw ValidationError("exporting \(entry.model) failed") }
            }
            files.append(RuntimeComparison.Model(name: entry.name, file: file))
        }
        var runner = RuntimeComparisonRunner(executable: executable,
                                             python: anchorsPython ?? ProcessInfo.processInfo.environment["BITVIT_ANCHORS_PY"],
                                             anchorsDirectory: anchors, memoryScript: memoryScript, models: files)
        runner.rounds = rounds
        runner.log = { print($0) }
        let rows = try runner.run()
        let table = RuntimeComparison.markdownTable(rows)
        print("\n" + table + "\n")
        for line in RuntimeComparison.ratios(rows) { print(line) }
        print(RuntimeComparisonRunner.machineDescription())
        if let output {
            try AtomicFile.write(Data((table + "\n\n" + RuntimeComparison.ratios(rows).joined(separator: "\n") + "\n").utf8),
                                 to: URL(fileURLWithPath: output))
        }
    }
}
