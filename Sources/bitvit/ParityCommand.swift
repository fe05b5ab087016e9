import ArgumentParser
import BitViTData
import BitViTTools
import BitViTTrain

struct ParityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parity",
        abstract: "Compare the inference engine with the training graph (evaluation mode) over a test set.",
        discussion: """
            Exports the checkpoint in memory (or loads --model), runs the test split through the \
            model and through the engine with bit kernels and with float kernels on the same batches, \
            and reports top-1 agreement and logit errors.
            """)

    @Argument(help: "Checkpoint (.safetensors) written by bitvit train.") var checkpoint: String
    @Option(help: "Data set (\(DatasetKind.names); default: the recipe's).") var data: String?
    @Option(help: "Data directory (default: the recipe's / the data set's standard location).") var root: String?
    @Option(help: "A .bitvit file exported from the checkpoint (default: export in memory).") var model: String?
    @Option(parsing: .unconditional, help: "Images per batch (default: data.eval_batch_size).") var batchSize: Int?
    @Option(parsing: .unconditional, help: "Stop after this many images.") var limit: Int?
    @Option(parsing: .unconditional, help: "int8 GEMMs per Q-ViT linear layer (precision of the folded weights, 1…4).") var int8Digits = 3
    @Option(parsing: .unconditional, help: "Worker threads.") var threads: Int?
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        try checkOption("--batch-size", batchSize, 1...TrainConfig.maxBatchSize)
        try checkOption("--limit", limit, 1...Int.max)
        try checkOption("--int8-digits", int8Digits, 1...4)
        try checkThreads(threads)
    }

    func run() throws {
        setThreads(threads)
        let check = ParityCheck(checkpoint: checkpoint, dataset: try data.map { try DatasetKind(named: $0, field: "--data") },
                                root: root, model: model, batchSize: batchSize, limit: limit, int8Digits: int8Digits)
        let report = try check.run()
        if json { try printJSON(report); return }
        print(report.text)
    }
}
